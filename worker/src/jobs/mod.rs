//! The production jobs. One file per job, under its area; periodic
//! fan-outs under `clock/`.

pub mod billing;
pub mod clock;
pub mod dunning;
pub mod orders;
pub mod tenancy;

use crate::context::WorkerContext;
use crate::runner::Runner;

/// Registers every production job with `runner`.
pub fn register(runner: &mut Runner<WorkerContext>) {
    runner
        .register::<coplane_domain::tenancy::jobs::SyncTenant>()
        .register::<coplane_domain::tenancy::jobs::SyncAppInstall>()
        .register::<coplane_domain::orders::jobs::FulfilOrder>()
        .register::<coplane_domain::billing::jobs::CollectInvoice>()
        .register::<coplane_domain::billing::jobs::AccountChanged>()
        .register::<coplane_domain::billing::jobs::PaymentReceived>()
        .register::<coplane_domain::dunning::SendMail>()
        .periodic::<clock::evaluate_standings::EvaluateStandings>(chrono::Duration::hours(1))
        .periodic::<clock::meter_allocations::MeterAllocations>(chrono::Duration::hours(1))
        .periodic::<clock::close_periods::ClosePeriods>(chrono::Duration::hours(1))
        .periodic::<clock::prune_failed_jobs::PruneFailedJobs>(chrono::Duration::days(1))
        .periodic::<clock::reconcile_tenants::ReconcileTenants>(chrono::Duration::minutes(5));
}
