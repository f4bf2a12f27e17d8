//! The tenancy API: members, resellers, customers, tenants and quotas.

mod authorization;
mod bad_input;
mod concurrency;
pub mod fixture;
mod flows;
pub mod plain;
mod tokens;
