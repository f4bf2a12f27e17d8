//! coplane's worker: runs the jobs the database queues, and the periodic
//! jobs, against Kubernetes, Stripe and SMTP.
//!
//! The runner ([`runner::Runner`]) is generic over its context so the test
//! suite can drive it with jobs of its own; [`build_runner`] registers the
//! production jobs.
//!
//! The modules depend on each other in one direction, the order a test in
//! `layering.rs` declares and holds.

pub mod context;
pub mod jobs;
pub mod kube;
pub mod kube_target;
#[cfg(test)]
mod layering;
pub mod mail;
pub mod metrics;
pub mod runner;
pub mod stripe_rail;

pub use context::WorkerContext;
pub use runner::{Handler, Runner, RunnerConfig};

/// The production runner: every job coplane defines, with `ctx`.
pub fn build_runner(ctx: WorkerContext, config: RunnerConfig) -> Runner<WorkerContext> {
    let db = ctx.db.clone();
    let clock = ctx.clock.clone();
    let mut runner = Runner::new(db, ctx, clock, config);
    jobs::register(&mut runner);
    runner
}
