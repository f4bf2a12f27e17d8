//! Periodic jobs.

pub mod prune_failed_jobs;
