//! The production jobs. One file per job, under its area; periodic
//! fan-outs under `clock/`.

pub mod clock;

use crate::context::WorkerContext;
use crate::runner::Runner;

/// Registers every production job with `runner`.
pub fn register(runner: &mut Runner<WorkerContext>) {
    runner.periodic::<clock::prune_failed_jobs::PruneFailedJobs>(chrono::Duration::days(1));
}
