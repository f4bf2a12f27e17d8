//! An order after it is placed: fulfilment by the worker, cancelling while
//! pending, retrying what failed.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, Set,
};
use serde_json::{Value, json};

use super::installs::InstallState;
use super::jobs::FulfilOrder;
use super::{LineKind, OrderState, Target, lines};
use crate::audit::Change;
use crate::auth::{Actor, Grant, Permission};
use crate::entity::{app_install, order, order_line, reseller, tenant};
use crate::error::{Error, Result};
use crate::ids::{AppInstallId, AppVersionId, OrderId, PlanId, TenantId};
use crate::tenancy::jobs::{SyncAppInstall, SyncTenant};
use crate::tenancy::{Quota, TenantState, resellers};
use crate::usecase::{Mutation, SystemChange};

/// How long a line may provision before it fails.
pub const LINE_DEADLINE: Duration = Duration::minutes(15);

/// How soon a provisioning order is looked at again, when nothing it
/// waits on has said it changed.
const RECHECK: Duration = Duration::seconds(5);

async fn sync_objects(
    db: &impl ConnectionTrait,
    line: &order_line::Model,
    now: DateTime<Utc>,
) -> Result<()> {
    if let Some(t) = line.tenant_id {
        crate::jobs::enqueue(db, &SyncTenant { tenant_id: t }, now).await?;
    }
    if let Some(i) = line.app_install_id {
        crate::jobs::enqueue(db, &SyncAppInstall { install_id: i }, now).await?;
    }
    Ok(())
}

fn delete_data(line: &order_line::Model) -> bool {
    serde_json::from_str::<Value>(&line.request)
        .ok()
        .and_then(|v| v["before"]["deleteData"].as_bool())
        .unwrap_or(false)
}

/// Starts a pending line: its install leaves `pending` (an uninstall begins).
async fn start_line(
    db: &impl ConnectionTrait,
    line: &order_line::Model,
    now: DateTime<Utc>,
) -> Result<()> {
    if let Some(id) = line.app_install_id {
        let kind = line.kind;
        let mut update = app_install::Entity::update_many()
            .col_expr(
                app_install::Column::UpdatedAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(app_install::Column::Id.eq(id));
        update = if kind == LineKind::AppUninstall {
            update
                .col_expr(
                    app_install::Column::State,
                    sea_orm::sea_query::Expr::value(InstallState::Uninstalling.as_str()),
                )
                .col_expr(
                    app_install::Column::DeleteData,
                    sea_orm::sea_query::Expr::value(delete_data(line)),
                )
        } else {
            update
                .col_expr(
                    app_install::Column::State,
                    sea_orm::sea_query::Expr::value(InstallState::Installing.as_str()),
                )
                .filter(app_install::Column::State.eq(InstallState::Pending.as_str()))
        };
        update.exec(db).await?;
    }
    let mut active = line.clone().into_active_model();
    active.state = Set(OrderState::Provisioning);
    active.updated_at = Set(now);
    active.update(db).await?;
    sync_objects(db, line, now).await
}

/// Moves an order from `from` to `to` (clearing its failure reason), if it
/// is still in `from`: concurrent moves win or lose as a whole.
async fn move_order(
    db: &impl ConnectionTrait,
    id: OrderId,
    from: OrderState,
    to: OrderState,
    now: DateTime<Utc>,
) -> Result<bool> {
    let r = order::Entity::update_many()
        .col_expr(
            order::Column::State,
            sea_orm::sea_query::Expr::value(to.as_str()),
        )
        .col_expr(
            order::Column::FailureReason,
            sea_orm::sea_query::Expr::value(Option::<String>::None),
        )
        .col_expr(
            order::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(order::Column::Id.eq(id))
        .filter(order::Column::State.eq(from.as_str()))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Where a provisioning line stands: `Some((state, reason))` once settled.
async fn settle(
    db: &impl ConnectionTrait,
    line: &order_line::Model,
    now: DateTime<Utc>,
) -> Result<Option<(OrderState, Option<String>)>> {
    let kind = line.kind;
    let waiting_on = match kind {
        LineKind::NewTenant | LineKind::PlanChange => {
            let t = match line.tenant_id {
                Some(id) => tenant::Entity::find_by_id(id).one(db).await?,
                None => None,
            };
            match t {
                Some(t) if t.state == TenantState::Pending => {
                    "the cluster has not reported the tenant's namespace ready".to_owned()
                }
                Some(t) if t.state == TenantState::Terminated => {
                    return Ok(Some((
                        OrderState::Failed,
                        Some("the tenant was terminated".into()),
                    )));
                }
                Some(_) => return Ok(Some((OrderState::Fulfilled, None))),
                None => return Ok(Some((OrderState::Failed, Some("no such tenant".into())))),
            }
        }
        LineKind::AppInstall | LineKind::AppUpgrade | LineKind::AppUninstall => {
            let i = match line.app_install_id {
                Some(id) => app_install::Entity::find_by_id(id).one(db).await?,
                None => None,
            };
            let Some(i) = i else {
                return Ok(Some((OrderState::Failed, Some("no such install".into()))));
            };
            let uninstall = kind == LineKind::AppUninstall;
            match i.state {
                InstallState::Uninstalled if uninstall => {
                    return Ok(Some((OrderState::Fulfilled, None)));
                }
                InstallState::Ready
                    if !uninstall && Some(i.app_version_id) == line.app_version_id =>
                {
                    return Ok(Some((OrderState::Fulfilled, None)));
                }
                InstallState::Failed if !uninstall => {
                    return Ok(Some((
                        OrderState::Failed,
                        Some(
                            i.status_message
                                .unwrap_or_else(|| "the install failed".to_owned()),
                        ),
                    )));
                }
                _ => i.status_message.unwrap_or_else(|| {
                    if uninstall {
                        "the cluster has not removed the install yet".to_owned()
                    } else {
                        "the cluster has not reported the install ready".to_owned()
                    }
                }),
            }
        }
    };
    if now - line.updated_at >= LINE_DEADLINE {
        return Ok(Some((
            OrderState::Failed,
            Some(format!(
                "not done after {} minutes: {waiting_on}",
                LINE_DEADLINE.num_minutes()
            )),
        )));
    }
    Ok(None)
}

/// Moves an order along (the worker's fulfilment step). Returns when to
/// look again, or `None` once the order is settled.
pub async fn advance(
    db: &DatabaseConnection,
    order_id: OrderId,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    let txn = SystemChange::begin(db).await?;
    let Some(order) = order::Entity::find_by_id(order_id).one(&txn).await? else {
        txn.commit().await?;
        return Ok(None);
    };
    let mut changed = false;
    if order.state == OrderState::Pending {
        // Conditional: a concurrent cancel wins or loses as a whole.
        let started = move_order(
            &txn,
            order_id,
            OrderState::Pending,
            OrderState::Provisioning,
            now,
        )
        .await?;
        if !started {
            txn.commit().await?;
            return Ok(None);
        }
        for line in lines(&txn, order_id).await? {
            start_line(&txn, &line, now).await?;
        }
        txn.commit().await?;
        // The syncs just enqueued report back through `install_changed`
        // and `tenant_changed`; look again soon in any case.
        return Ok(Some(now + RECHECK));
    }
    if order.state != OrderState::Provisioning {
        txn.commit().await?;
        return Ok(None);
    }
    let all = lines(&txn, order_id).await?;
    let mut open = 0;
    let mut failed = 0;
    for line in &all {
        if line.state == OrderState::Provisioning {
            match settle(&txn, line, now).await? {
                Some((state, reason)) => {
                    let mut active = line.clone().into_active_model();
                    active.state = Set(state);
                    active.reason = Set(reason);
                    active.updated_at = Set(now);
                    active.update(&txn).await?;
                    changed = true;
                    if state == OrderState::Failed {
                        failed += 1;
                    }
                }
                None => open += 1,
            }
        } else if line.state == OrderState::Failed {
            failed += 1;
        }
    }
    let settled = (open == 0).then(|| {
        if failed == 0 {
            (OrderState::Fulfilled, None)
        } else {
            (
                OrderState::Failed,
                Some(format!("{failed} of {} line(s) failed", all.len())),
            )
        }
    });
    if changed || settled.is_some() {
        let mut active = order.into_active_model();
        if let Some((state, reason)) = &settled {
            active.state = Set(*state);
            active.failure_reason = Set(reason.clone());
        }
        active.updated_at = Set(now);
        active.update(&txn).await?;
    }
    txn.commit().await?;
    Ok(settled.is_none().then_some(now + RECHECK))
}

/// Tells the provisioning orders waiting on an install that it changed.
pub async fn install_changed(
    db: &impl ConnectionTrait,
    install_id: AppInstallId,
    now: DateTime<Utc>,
) -> Result<()> {
    wake(db, Target::Install(install_id), now).await
}

/// Tells the provisioning orders waiting on a tenant that it changed.
pub async fn tenant_changed(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    now: DateTime<Utc>,
) -> Result<()> {
    wake(db, Target::Tenant(tenant_id), now).await
}

async fn wake(db: &impl ConnectionTrait, target: Target, now: DateTime<Utc>) -> Result<()> {
    let waiting = order_line::Entity::find()
        .filter(target.column().eq(target.value()))
        .filter(order_line::Column::State.eq(OrderState::Provisioning.as_str()))
        .all(db)
        .await?;
    for line in waiting {
        crate::jobs::enqueue(
            db,
            &FulfilOrder {
                order_id: line.order_id,
            },
            now,
        )
        .await?;
    }
    Ok(())
}

fn before(line: &order_line::Model) -> Value {
    serde_json::from_str::<Value>(&line.request)
        .map(|v| v["before"].clone())
        .unwrap_or(Value::Null)
}

fn cannot_undo(why: String) -> Error {
    Error::Conflict {
        field: "orderId",
        code: "CANNOT_UNDO",
        message: format!("cancelling would not fit any more: {why}"),
    }
}

fn figures(over: &[(&str, i64, i64)]) -> String {
    over.iter()
        .map(|(n, v, l)| format!("{n}: {v} > {l}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Undoes one pending line's change, from what it recorded.
async fn undo(
    db: &impl ConnectionTrait,
    line: &order_line::Model,
    now: DateTime<Utc>,
) -> Result<()> {
    let was = before(line);
    match line.kind {
        LineKind::NewTenant => {
            if let Some(t) = line.tenant_id {
                crate::tenancy::lifecycle::terminate(db, t, now).await?;
            }
        }
        LineKind::PlanChange => {
            if let Some(t) = line.tenant_id
                && let Some(t) = tenant::Entity::find_by_id(t).one(db).await?
            {
                let quota: Quota = serde_json::from_value(was["quota"].clone())
                    .map_err(|e| Error::Db(sea_orm::DbErr::Custom(e.to_string())))?;
                let plan: Option<PlanId> = serde_json::from_value(was["planId"].clone()).ok();
                if t.plan_id != line.plan_id {
                    return Err(cannot_undo(
                        "the tenant's plan changed since the order".to_owned(),
                    ));
                }
                if let Some(p) = plan {
                    crate::tenancy::tenants::record_plan(db, t.id, t.reseller_id, p, now).await?;
                }
                let mut active = t.into_active_model();
                active.plan_id = Set(plan);
                active.quota_cpu_millis = Set(quota.cpu_millis);
                active.quota_memory_bytes = Set(quota.memory_bytes);
                active.quota_storage_bytes = Set(quota.storage_bytes);
                active.quota_pods = Set(quota.pods);
                active.quota_app_installs = Set(quota.app_installs);
                active.updated_at = Set(now);
                active.update(db).await?;
            }
        }
        LineKind::AppInstall => {
            if let Some(i) = line.app_install_id
                && let Some(i) = app_install::Entity::find_by_id(i).one(db).await?
            {
                let mut active = i.into_active_model();
                active.state = Set(InstallState::Uninstalled);
                active.status_message = Set(Some("order cancelled".into()));
                active.delete_data = Set(true);
                active.updated_at = Set(now);
                active.update(db).await?;
            }
        }
        LineKind::AppUpgrade => {
            if let Some(i) = line.app_install_id
                && let Some(i) = app_install::Entity::find_by_id(i).one(db).await?
            {
                let version: AppVersionId = serde_json::from_value(was["appVersionId"].clone())
                    .map_err(|e| Error::Db(sea_orm::DbErr::Custom(e.to_string())))?;
                let previous: Option<AppVersionId> =
                    serde_json::from_value(was["previousVersionId"].clone()).unwrap_or(None);
                let state = was["state"]
                    .as_str()
                    .and_then(InstallState::parse)
                    .unwrap_or(InstallState::Installing);
                let mut active = i.into_active_model();
                active.app_version_id = Set(version);
                active.previous_version_id = Set(previous);
                active.state = Set(state);
                active.updated_at = Set(now);
                active.update(db).await?;
            }
        }
        // An uninstall changes nothing before it starts.
        LineKind::AppUninstall => {}
    }
    sync_objects(db, line, now).await
}

/// Cancels a pending order: every line's change is undone (a new tenant
/// is terminated, a new install removed, a plan or version restored).
pub async fn cancel(
    db: &DatabaseConnection,
    actor: &Actor,
    id: OrderId,
    now: DateTime<Utc>,
) -> Result<order::Model> {
    let grant = actor.principal.authorize(Permission::PlaceOrders)?;
    let step = Transition {
        from: OrderState::Pending,
        to: OrderState::Cancelled,
        code: "ORDER_NOT_PENDING",
        rule: "only a pending order can be cancelled",
    };
    let (txn, found, reseller) =
        begin_on_order(db, actor, &grant, "cancelOrder", id, step, now).await?;
    let all = lines(&txn, id).await?;
    for line in all.iter().rev() {
        undo(&txn, line, now).await?;
        let mut active = line.clone().into_active_model();
        active.state = Set(OrderState::Cancelled);
        active.updated_at = Set(now);
        active.update(&txn).await?;
    }
    // What the order replaced must still fit: other orders may have used
    // what it freed (a lower plan, a smaller version) since.
    let used = resellers::usage(&txn, reseller.id).await?;
    let over = used.excess_over(&reseller.allotment());
    if !over.is_empty() {
        return Err(cannot_undo(format!(
            "the reseller's tenants would exceed its allotment ({})",
            figures(&over)
        )));
    }
    let mut tenants: Vec<TenantId> = all.iter().filter_map(|l| l.tenant_id).collect();
    tenants.sort();
    tenants.dedup();
    for t in tenants {
        if let Some(t) = tenant::Entity::find_by_id(t).one(&txn).await?
            && t.state != TenantState::Terminated
        {
            let live = super::installs::live(&txn, t.id).await?;
            super::installs::check_fits(&t.slug, &t.quota(), &live)
                .map_err(|e| cannot_undo(e.to_string()))?;
        }
    }
    finish_on_order(txn, &found, json!({})).await
}

/// Retries a failed order's failed lines: each provisions again, with a
/// new deadline.
pub async fn retry(
    db: &DatabaseConnection,
    actor: &Actor,
    id: OrderId,
    now: DateTime<Utc>,
) -> Result<order::Model> {
    let grant = actor.principal.authorize(Permission::PlaceOrders)?;
    let step = Transition {
        from: OrderState::Failed,
        to: OrderState::Provisioning,
        code: "ORDER_NOT_FAILED",
        rule: "only a failed order is retried",
    };
    let (txn, found, _) = begin_on_order(db, actor, &grant, "retryOrder", id, step, now).await?;
    let all = lines(&txn, id).await?;
    for line in all.iter().filter(|l| l.state == OrderState::Failed) {
        if let Some(i) = line.app_install_id {
            super::ensure_no_order_in_progress(&txn, Target::Install(i), "this install", "orderId")
                .await?;
        }
    }
    let mut retried = 0;
    for line in all {
        if line.state != OrderState::Failed {
            continue;
        }
        if let Some(i) = line.app_install_id {
            app_install::Entity::update_many()
                .col_expr(
                    app_install::Column::State,
                    sea_orm::sea_query::Expr::value(InstallState::Installing.as_str()),
                )
                .col_expr(
                    app_install::Column::StatusMessage,
                    sea_orm::sea_query::Expr::value(Option::<String>::None),
                )
                .col_expr(
                    app_install::Column::UpdatedAt,
                    sea_orm::sea_query::Expr::value(now),
                )
                .filter(app_install::Column::Id.eq(i))
                .filter(app_install::Column::State.eq(InstallState::Failed.as_str()))
                .exec(&txn)
                .await?;
        }
        let mut active = line.clone().into_active_model();
        active.state = Set(OrderState::Provisioning);
        active.reason = Set(None);
        active.updated_at = Set(now);
        active.update(&txn).await?;
        sync_objects(&txn, &line, now).await?;
        retried += 1;
    }
    crate::jobs::enqueue(&txn, &FulfilOrder { order_id: id }, now).await?;
    let details = json!({ "lines": retried });
    finish_on_order(txn, &found, details).await
}

/// A caller's move of an order from one state to another.
struct Transition {
    from: OrderState,
    to: OrderState,
    /// The refusal's code when the order is not in `from`.
    code: &'static str,
    rule: &'static str,
}

/// Opens a change to an order the actor may place: the order (if
/// reached) and its reseller, whose pool is locked; then moves the order
/// as `step` says. The move is conditional: the worker moving the order
/// at the same time wins or loses as a whole.
#[allow(clippy::too_many_arguments)]
async fn begin_on_order<'a>(
    db: &DatabaseConnection,
    actor: &'a Actor,
    grant: &'a Grant,
    operation: &'static str,
    id: OrderId,
    step: Transition,
    now: DateTime<Utc>,
) -> Result<(Mutation<'a>, order::Model, reseller::Model)> {
    let txn = Mutation::begin(db, actor, grant, operation, now).await?;
    let found = order::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .filter(|o| grant.reach.reseller(Some(o.reseller_id)))
        .ok_or_else(|| Error::not_found("orderId", "order"))?;
    let reseller = resellers::lock(&txn, found.reseller_id)
        .await?
        .ok_or_else(|| Error::not_found("orderId", "reseller"))?;
    if !move_order(&txn, id, step.from, step.to, now).await? {
        return Err(Error::Conflict {
            field: "orderId",
            code: step.code,
            message: format!("the order is {}; {}", found.state, step.rule),
        });
    }
    Ok((txn, found, reseller))
}

/// Ends a change to an order: its audit event, the commit, the order as it is now.
async fn finish_on_order(
    txn: Mutation<'_>,
    found: &order::Model,
    details: Value,
) -> Result<order::Model> {
    let change = Change {
        object_type: "Order",
        object_id: found.id.into(),
        reseller_id: Some(found.reseller_id),
        details,
    };
    let model = order::Entity::find_by_id(found.id)
        .one(&txn)
        .await?
        .ok_or_else(|| Error::not_found("orderId", "order"))?;
    txn.commit(change).await?;
    Ok(model)
}
