//! Moves an order along until it is fulfilled or failed.

use coplane_domain::entity::order_line;
use coplane_domain::jobs;
use coplane_domain::orders::{self, jobs::FulfilOrder};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::context::WorkerContext;
use crate::runner::Handler;

#[async_trait::async_trait]
impl Handler<WorkerContext> for FulfilOrder {
    async fn run(self, ctx: &WorkerContext) -> anyhow::Result<()> {
        if let Some(line) = order_line::Entity::find()
            .filter(order_line::Column::OrderId.eq(self.order_id))
            .filter(order_line::Column::TenantId.is_not_null())
            .one(&ctx.db)
            .await?
            && let Some(tenant) = line.tenant_id
        {
            tracing::Span::current().record("tenant_id", tracing::field::display(tenant));
        }
        let now = ctx.clock.now();
        if let Some(at) = orders::advance(&ctx.db, self.order_id, now).await? {
            jobs::enqueue_at(&ctx.db, &self, at, now).await?;
        }
        Ok(())
    }
}
