//! Periodic jobs.

pub mod prune_failed_jobs;
pub mod reconcile_tenants;
