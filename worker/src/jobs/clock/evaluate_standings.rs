//! Walks the overdue ladders, hourly: steps fall due with time alone.

use serde::{Deserialize, Serialize};

use crate::context::WorkerContext;
use crate::runner::Handler;
use coplane_domain::billing::jobs::AccountChanged;
use coplane_domain::jobs::Job;

/// Queues an evaluation of every account with an invoice past due or a
/// standing that is not current.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct EvaluateStandings {}

impl Job for EvaluateStandings {
    const NAME: &'static str = "clock.evaluate_standings";
    const DEDUPLICATED: bool = true;
}

#[async_trait::async_trait]
impl Handler<WorkerContext> for EvaluateStandings {
    async fn run(self, ctx: &WorkerContext) -> anyhow::Result<()> {
        let now = ctx.clock.now();
        let accounts = coplane_domain::dunning::accounts_to_evaluate(&ctx.db, now).await?;
        for &account in &accounts {
            coplane_domain::jobs::enqueue(&ctx.db, &AccountChanged::from(account), now).await?;
        }
        tracing::info!(accounts = accounts.len(), "standings queued for evaluation");
        Ok(())
    }
}
