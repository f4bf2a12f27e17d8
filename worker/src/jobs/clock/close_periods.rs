//! Closes the previous month's billing period once its grace has passed.

use serde::{Deserialize, Serialize};

use crate::context::WorkerContext;
use crate::runner::Handler;
use coplane_domain::billing::close::{self, CLOSE_GRACE, CloseOptions};
use coplane_domain::jobs::Job;

/// Closes (or finishes closing) the last month, `CLOSE_GRACE` after it ends.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ClosePeriods {}

impl Job for ClosePeriods {
    const NAME: &'static str = "clock.close_periods";
    const DEDUPLICATED: bool = true;
}

#[async_trait::async_trait]
impl Handler<WorkerContext> for ClosePeriods {
    async fn run(self, ctx: &WorkerContext) -> anyhow::Result<()> {
        let now = ctx.clock.now();
        let (this_month, _) = close::month_of(now);
        if now < this_month + CLOSE_GRACE {
            return Ok(());
        }
        let (last_month, _) = close::month_of(this_month - chrono::Duration::seconds(1));
        let report = close::close(&ctx.db, last_month, CloseOptions::default(), now).await?;
        tracing::info!(period = %report.period_id, created = report.created, state = %report.state, "periodic close");
        if !report.failed.is_empty() {
            // The others are made; failing the job retries these (with
            // backoff), counts in the job metrics and shows in the queue.
            anyhow::bail!(
                "{} invoice(s) of period {} could not be made: {}",
                report.failed.len(),
                report.period_id,
                report
                    .failed
                    .iter()
                    .take(5)
                    .map(|(k, e)| format!("{k}: {e}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            );
        }
        Ok(())
    }
}
