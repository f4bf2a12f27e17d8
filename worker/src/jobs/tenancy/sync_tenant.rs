//! From a tenant row to its `Tenant` resource, and its readiness back.

use coplane_domain::entity::tenant;
use coplane_domain::ids::TenantId;
use coplane_domain::jobs;
use coplane_domain::orders;
use coplane_domain::tenancy::TenantState;
use coplane_domain::tenancy::jobs::SyncTenant;
use coplane_domain::tenancy::tenants;
use kube::api::Api;
use sea_orm::EntityTrait;

use crate::context::WorkerContext;
use crate::kube::crd::{NetworkSpec, QuotaSpec, Tenant, TenantSpec};
use crate::kube::render;
use crate::kube::target::{Target, delete_if_present, ensure, remove_manifests, write_manifests};
use crate::runner::Handler;

/// The `Tenant` resource a tenant row stands for. It is named by the slug,
/// which is unique in its cluster.
pub fn tenant_resource(t: &tenant::Model, ingress_namespaces: &[String]) -> Tenant {
    let mut resource = Tenant::new(
        &t.slug,
        TenantSpec {
            slug: t.slug.clone(),
            customer: t.customer_id.to_string(),
            reseller: t.reseller_id.map(|r| r.to_string()),
            plan: t.plan_id.map(|p| p.to_string()),
            quota: QuotaSpec {
                cpu_millis: t.quota_cpu_millis,
                memory_bytes: t.quota_memory_bytes,
                storage_bytes: t.quota_storage_bytes,
                pods: t.quota_pods,
                app_installs: t.quota_app_installs,
            },
            suspended: t.state == TenantState::Suspended,
            network: NetworkSpec {
                ingress_namespaces: ingress_namespaces.to_vec(),
            },
            admins: Vec::new(),
        },
    );
    resource.metadata.labels = Some([("coplane.io/tenant-id".to_owned(), t.id.to_string())].into());
    resource
}

#[async_trait::async_trait]
impl Handler<WorkerContext> for SyncTenant {
    async fn run(self, ctx: &WorkerContext) -> anyhow::Result<()> {
        tracing::Span::current().record("tenant_id", tracing::field::display(self.tenant_id));
        let Some(row) = tenant::Entity::find_by_id(self.tenant_id)
            .one(&ctx.db)
            .await?
        else {
            return Ok(());
        };
        let terminated = row.state == TenantState::Terminated;
        let resource = tenant_resource(&row, &ctx.ingress_namespaces);
        let now = ctx.clock.now();
        match ctx.targets.get(&row.cluster)? {
            Target::Manifests(dir) => {
                let mut objects = vec![serde_json::to_value(&resource)?];
                objects.extend(render::tenant_children(&resource));
                if terminated {
                    // Keep the Namespace on disk for the retention, so that a
                    // GitOps prune does not delete it early.
                    let until = row.terminated_at.unwrap_or(now) + ctx.namespace_retention;
                    if now < until {
                        remove_manifests(dir, &format!("{}/apps", row.slug))?;
                        write_manifests(dir, &row.slug, &objects[1..2])?;
                    } else {
                        remove_manifests(dir, &row.slug)?;
                    }
                } else {
                    write_manifests(dir, &row.slug, &objects)?;
                    // What would be applied is on disk: as ready as it gets.
                    started(ctx, row.id, now).await?;
                }
            }
            Target::Cluster(client) => {
                let api = Api::<Tenant>::all(client.clone());
                if terminated {
                    // The operator's finalizer keeps the namespace for the retention.
                    delete_if_present(&api, &row.slug).await?;
                } else {
                    ensure(client, &serde_json::to_value(&resource)?).await?;
                    let ready = api
                        .get_opt(&row.slug)
                        .await?
                        .and_then(|t| t.status)
                        .is_some_and(|s| s.ready);
                    if ready {
                        started(ctx, row.id, now).await?;
                    } else if row.state == TenantState::Pending {
                        // Look again shortly rather than at the next full pass.
                        jobs::enqueue_at(&ctx.db, &self, now + chrono::Duration::seconds(10), now)
                            .await?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// A pending tenant's namespace is ready: the tenant becomes active, its
/// orders go on, and its accounts are evaluated now (a tenant that starts
/// while its account is in arrears is suspended at once).
async fn started(
    ctx: &WorkerContext,
    id: TenantId,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    if tenants::mark_active(&ctx.db, id, now).await? {
        // Dunning first: an order that fails to go on must not cost the
        // re-evaluation (a retried sync finds the tenant active already).
        coplane_domain::dunning::tenant_started(&ctx.db, id, now).await?;
        orders::tenant_changed(&ctx.db, id, now).await?;
    }
    Ok(())
}
