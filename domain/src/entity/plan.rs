//! `plans`.

use sea_orm::entity::prelude::*;

use crate::ids::PlanId;

use crate::quota::Quota;

/// A plan: a base fee per period and an included quota.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plans")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: PlanId,
    /// Unique code.
    pub code: String,
    /// Name shown.
    pub name: String,
    /// ISO 4217.
    pub currency: String,
    /// Base fee, integer part.
    pub base_fee_units: i64,
    /// Base fee, 10⁻⁹ part.
    pub base_fee_nanos: i64,
    /// `month` | `year`.
    pub billing_interval: String,
    /// Included CPU millicores.
    pub included_cpu_millis: i64,
    pub included_memory_bytes: i64,
    pub included_storage_bytes: i64,
    pub included_pods: i64,
    pub included_app_installs: i64,
    /// JSON array of app slugs; empty: every app.
    pub allowed_apps: String,
    /// Sold now.
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl Model {
    /// The included quota.
    pub fn included(&self) -> Quota {
        Quota {
            cpu_millis: self.included_cpu_millis,
            memory_bytes: self.included_memory_bytes,
            storage_bytes: self.included_storage_bytes,
            pods: self.included_pods,
            app_installs: self.included_app_installs,
        }
    }
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
