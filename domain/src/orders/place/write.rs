//! Writing an order's lines once the whole order is checked.

use super::*;

impl Planned {
    pub(super) fn kind(&self) -> LineKind {
        match self {
            Planned::NewTenant { .. } => LineKind::NewTenant,
            Planned::PlanChange { .. } => LineKind::PlanChange,
            Planned::Install { .. } => LineKind::AppInstall,
            Planned::Upgrade { .. } => LineKind::AppUpgrade,
            Planned::Uninstall { .. } => LineKind::AppUninstall,
        }
    }
}

/// Writes one line's change (the desired state) and the line itself, with
/// what the change replaced.
#[allow(clippy::too_many_arguments)]
pub(super) async fn write_line(
    txn: &impl ConnectionTrait,
    draft: &Draft<'_>,
    customer: &customer::Model,
    order: &order::Model,
    position: usize,
    planned: &Planned,
    line: &LineInput,
    now: DateTime<Utc>,
) -> Result<()> {
    let t = &draft.tenants[planned.tenant_index()];
    let mut row = order_line::ActiveModel {
        id: Set(OrderLineId::new()),
        order_id: Set(order.id),
        reseller_id: Set(order.reseller_id),
        position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
        kind: Set(planned.kind()),
        tenant_id: Set(Some(t.id)),
        plan_id: Set(None),
        app_version_id: Set(None),
        app_install_id: Set(None),
        request: Set(String::new()),
        state: Set(OrderState::Pending),
        reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let before = match planned {
        Planned::NewTenant { .. } => {
            let (slug, cluster) = t.new.as_ref().expect("a new tenant");
            let plan = t.plan.as_ref().map(|p| p.id);
            tenants::insert(txn, t.id, customer, slug, cluster, plan, &t.quota, now).await?;
            row.plan_id = Set(plan);
            json!(null)
        }
        Planned::PlanChange {
            plan_id, before, ..
        } => {
            let mut active = before.clone().into_active_model();
            active.plan_id = Set(Some(*plan_id));
            active.quota_cpu_millis = Set(t.quota.cpu_millis);
            active.quota_memory_bytes = Set(t.quota.memory_bytes);
            active.quota_storage_bytes = Set(t.quota.storage_bytes);
            active.quota_pods = Set(t.quota.pods);
            active.quota_app_installs = Set(t.quota.app_installs);
            active.updated_at = Set(now);
            active.update(txn).await?;
            crate::tenancy::tenants::record_plan(txn, before.id, before.reseller_id, *plan_id, now)
                .await?;
            row.plan_id = Set(Some(*plan_id));
            json!({ "planId": before.plan_id, "quota": before.quota() })
        }
        Planned::Install {
            install_id,
            app_id,
            version_id,
            values,
            host,
            ..
        } => {
            app_install::ActiveModel {
                id: Set(*install_id),
                tenant_id: Set(t.id),
                reseller_id: Set(Some(order.reseller_id)),
                app_id: Set(*app_id),
                app_version_id: Set(*version_id),
                previous_version_id: Set(None),
                values_json: Set(serde_json::to_string(values).unwrap_or_else(|_| "{}".into())),
                state: Set(installs::InstallState::Pending),
                status_message: Set(None),
                delete_data: Set(false),
                ingress_host: Set(host.clone()),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(txn)
            .await?;
            row.app_install_id = Set(Some(*install_id));
            row.app_version_id = Set(Some(*version_id));
            json!(null)
        }
        Planned::Upgrade {
            before, version_id, ..
        } => {
            let mut active = before.clone().into_active_model();
            active.previous_version_id = Set(Some(before.app_version_id));
            active.app_version_id = Set(*version_id);
            active.state = Set(installs::InstallState::Pending);
            active.updated_at = Set(now);
            active.update(txn).await?;
            row.app_install_id = Set(Some(before.id));
            row.app_version_id = Set(Some(*version_id));
            json!({
                "appVersionId": before.app_version_id,
                "previousVersionId": before.previous_version_id,
                "state": before.state,
            })
        }
        Planned::Uninstall {
            install,
            delete_data,
            ..
        } => {
            // Nothing changes before the worker starts: a cancelled
            // uninstall must not have removed anything.
            row.app_install_id = Set(Some(install.id));
            json!({ "deleteData": delete_data })
        }
    };
    row.request = Set(json!({ "line": line, "before": before }).to_string());
    row.insert(txn).await?;
    Ok(())
}
