//! Billing's jobs: collecting invoices on the payment rail, re-deriving
//! an account's standing.

use coplane_domain::billing::jobs::{AccountChanged, CollectInvoice, PaymentReceived};
use coplane_domain::billing::rail;

use crate::context::WorkerContext;
use crate::runner::Handler;
use crate::stripe_rail::StripeRail;

#[async_trait::async_trait]
impl Handler<WorkerContext> for CollectInvoice {
    async fn run(self, ctx: &WorkerContext) -> anyhow::Result<()> {
        let Some(client) = ctx.stripe.clone() else {
            tracing::info!(invoice = %self.invoice_id, "no payment rail configured: payments are recorded through the ERP");
            return Ok(());
        };
        let rail = StripeRail { client };
        let done = rail::collect(&ctx.db, &rail, self.invoice_id, ctx.clock.now()).await?;
        tracing::info!(invoice = %self.invoice_id, ?done, "invoice collection");
        Ok(())
    }
}

#[async_trait::async_trait]
impl Handler<WorkerContext> for AccountChanged {
    async fn run(self, ctx: &WorkerContext) -> anyhow::Result<()> {
        let now = ctx.clock.now();
        let e = coplane_domain::dunning::evaluate(&ctx.db, self.account()?, now).await?;
        tracing::info!(account = %self.account_id, kind = %self.account_kind, standing = %e.standing, taken = ?e.taken, "account evaluated");
        Ok(())
    }
}

#[async_trait::async_trait]
impl Handler<WorkerContext> for PaymentReceived {
    async fn run(self, ctx: &WorkerContext) -> anyhow::Result<()> {
        coplane_domain::dunning::payment_received(&ctx.db, &self, ctx.clock.now()).await?;
        Ok(())
    }
}
