//! Tenancy jobs.

pub mod sync_app_install;
pub mod sync_tenant;
