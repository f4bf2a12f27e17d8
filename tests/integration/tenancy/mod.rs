//! The tenancy API: members, resellers, customers, tenants and quotas.

mod authorization;
mod bad_input;
mod concurrency;
pub mod fixture;
mod flows;
mod plain;
mod tokens;
