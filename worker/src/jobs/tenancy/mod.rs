//! Tenancy jobs.

pub mod sync_tenant;
