//! The periodic full pass: every tenant's and install's resource is synced
//! again, which repairs drift and copies readiness back.

use coplane_domain::entity::tenant;
use coplane_domain::ids::{AppInstallId, TenantId};
use coplane_domain::jobs::{self, Job};
use coplane_domain::tenancy::TenantState;
use coplane_domain::tenancy::jobs::{SyncAppInstall, SyncTenant};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::{Deserialize, Serialize};

use crate::context::WorkerContext;
use crate::runner::Handler;

/// Enqueues a sync of every tenant that is not long terminated.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ReconcileTenants {}

impl Job for ReconcileTenants {
    const NAME: &'static str = "clock.reconcile_tenants";
    const DEDUPLICATED: bool = true;
}

#[async_trait::async_trait]
impl Handler<WorkerContext> for ReconcileTenants {
    async fn run(self, ctx: &WorkerContext) -> anyhow::Result<()> {
        let now = ctx.clock.now();
        // Terminated tenants are synced until their retention has passed (the
        // manifests target removes their namespace then).
        let recently = now - ctx.namespace_retention - chrono::Duration::days(1);
        let ids: Vec<TenantId> = tenant::Entity::find()
            .select_only()
            .column(tenant::Column::Id)
            .filter(
                sea_orm::Condition::any()
                    .add(tenant::Column::State.ne(TenantState::Terminated.as_str()))
                    .add(tenant::Column::TerminatedAt.gte(recently)),
            )
            .into_tuple()
            .all(&ctx.db)
            .await?;
        for tenant_id in &ids {
            jobs::enqueue(
                &ctx.db,
                &SyncTenant {
                    tenant_id: *tenant_id,
                },
                now,
            )
            .await?;
        }
        let rows = ctx
            .db
            .query_all_raw(sea_orm::Statement::from_sql_and_values(
                ctx.db.get_database_backend(),
                "SELECT i.id FROM app_installs i JOIN tenants t ON t.id = i.tenant_id \
                 WHERE i.state NOT IN ('uninstalled', 'pending') AND (t.state <> 'terminated' OR t.terminated_at >= $1)",
                [recently.into()],
            ))
            .await?;
        let installs = rows
            .iter()
            .map(|r| r.try_get::<AppInstallId>("", "id"))
            .collect::<Result<Vec<_>, _>>()?;
        for install_id in &installs {
            jobs::enqueue(
                &ctx.db,
                &SyncAppInstall {
                    install_id: *install_id,
                },
                now,
            )
            .await?;
        }
        tracing::info!(
            tenants = ids.len(),
            installs = installs.len(),
            "syncs enqueued"
        );
        Ok(())
    }
}
