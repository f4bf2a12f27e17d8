//! coplane's database schema as sea-orm migrations. The same migrations run
//! on PostgreSQL and SQLite.
//!
//! Amounts and quantities are exact on both backends: each is two `BIGINT`
//! columns, `<name>_units` and `<name>_nanos` (see `coplane_domain::decimal`),
//! because SQLite has no exact decimal type. Identifiers are UUIDs; times are
//! UTC timestamps. Every table that belongs to a reseller's world carries the
//! owning `reseller_id`, so scoping a query never needs a join.

pub use sea_orm_migration::prelude::*;

mod dsl;
mod m20261121_000001_create_members;
mod m20261121_000002_create_catalog;
mod m20261121_000003_create_tenants;
mod m20261121_000004_create_usage;
mod m20261121_000005_create_invoices;
mod m20261121_000006_create_dunning;
mod m20261121_000007_create_governance;
mod m20261121_000008_create_platform;
mod m20261121_000009_order_fulfilment;
mod m20261121_000010_billing;
mod m20261121_000011_dunning_mail;
mod m20261201_000012_platform_unique_tenants;
mod m20261201_000013_install_hosts;
mod m20261201_000014_explicit_coop_tokens;
mod m20261202_000015_usage_by_metric;
mod m20261202_000016_storefront_brands;

/// All migrations, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_create_members::Migration),
            Box::new(m20261121_000002_create_catalog::Migration),
            Box::new(m20261121_000003_create_tenants::Migration),
            Box::new(m20261121_000004_create_usage::Migration),
            Box::new(m20261121_000005_create_invoices::Migration),
            Box::new(m20261121_000006_create_dunning::Migration),
            Box::new(m20261121_000007_create_governance::Migration),
            Box::new(m20261121_000008_create_platform::Migration),
            Box::new(m20261121_000009_order_fulfilment::Migration),
            Box::new(m20261121_000010_billing::Migration),
            Box::new(m20261121_000011_dunning_mail::Migration),
            Box::new(m20261201_000012_platform_unique_tenants::Migration),
            Box::new(m20261201_000013_install_hosts::Migration),
            Box::new(m20261201_000014_explicit_coop_tokens::Migration),
            Box::new(m20261202_000015_usage_by_metric::Migration),
            Box::new(m20261202_000016_storefront_brands::Migration),
        ]
    }
}

/// Tables in a reseller's world; each has a `reseller_id` naming its owner
/// (null where the co-op itself is the seller).
pub const RESELLER_OWNED_TABLES: &[&str] = &[
    "customers",
    "tenants",
    "price_lists",
    "price_list_items",
    "storefront_brands",
    "storefront_domains",
    "orders",
    "order_lines",
    "app_installs",
    "usage_events",
    "invoices",
    "invoice_lines",
    "payments",
    "credit_notes",
    "overdue_policies",
    "account_standings",
    "dunning_steps",
    "tenant_plans",
    "account_credits",
    "api_tokens",
    "audit_events",
];

/// Tables of a tenant's data; each has a `tenant_id`.
pub const TENANT_OWNED_TABLES: &[&str] = &["app_installs", "usage_events", "tenant_plans"];

/// Tables of a member's own data; each has a `member_id`.
pub const MEMBER_OWNED_TABLES: &[&str] = &["votes", "revenue_share_allocations"];

/// The co-op's own tables, reachable by role rather than by owner.
pub const COOP_TABLES: &[&str] = &[
    "members",
    "resellers",
    "apps",
    "app_versions",
    "billable_metrics",
    "plans",
    "plan_charges",
    "billing_periods",
    "invoice_number_sequences",
    "stripe_events",
    "proposals",
    "proposal_options",
    "policies",
    "costs",
    "revenue_share_runs",
    "jobs",
    "idempotency_keys",
    "seaql_migrations",
];
