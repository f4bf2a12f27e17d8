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
        ]
    }
}

/// The tables that belong to a reseller's world, each with the column that
/// names its owner. A schema test checks every one has it.
pub const RESELLER_OWNED_TABLES: &[(&str, &str)] = &[
    ("customers", "reseller_id"),
    ("tenants", "reseller_id"),
    ("price_lists", "reseller_id"),
    ("orders", "reseller_id"),
    ("order_lines", "reseller_id"),
    ("app_installs", "reseller_id"),
    ("usage_events", "reseller_id"),
    ("overdue_policies", "reseller_id"),
];

/// The tables that belong to a tenant, each with its tenant column.
pub const TENANT_OWNED_TABLES: &[(&str, &str)] = &[
    ("app_installs", "tenant_id"),
    ("usage_events", "tenant_id"),
];
