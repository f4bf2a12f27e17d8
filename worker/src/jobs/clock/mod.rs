//! Periodic jobs.

pub mod close_periods;
pub mod evaluate_standings;
pub mod meter_allocations;
pub mod prune_failed_jobs;
pub mod reconcile_tenants;
