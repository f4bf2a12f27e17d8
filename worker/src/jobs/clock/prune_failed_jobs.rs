//! Deletes failed jobs older than the retention, daily.

use sea_orm::{ConnectionTrait, Statement};
use serde::{Deserialize, Serialize};

use crate::context::WorkerContext;
use crate::runner::Handler;
use coplane_domain::jobs::Job;

/// Deletes jobs kept as failed for longer than `failed_job_retention`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct PruneFailedJobs {}

impl Job for PruneFailedJobs {
    const NAME: &'static str = "clock.prune_failed_jobs";
    const DEDUPLICATED: bool = true;
}

#[async_trait::async_trait]
impl Handler<WorkerContext> for PruneFailedJobs {
    async fn run(self, ctx: &WorkerContext) -> anyhow::Result<()> {
        let cutoff = ctx.clock.now() - ctx.failed_job_retention;
        let pruned = ctx
            .db
            .execute_raw(Statement::from_sql_and_values(
                ctx.db.get_database_backend(),
                "DELETE FROM jobs WHERE state = 'failed' AND updated_at < $1",
                [cutoff.into()],
            ))
            .await?
            .rows_affected();
        tracing::info!(pruned, "pruned failed jobs");
        Ok(())
    }
}
