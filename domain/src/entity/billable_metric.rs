//! `billable_metrics`.

use sea_orm::entity::prelude::*;

use crate::ids::BillableMetricId;

/// A billable metric: how usage events of one code are aggregated.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "billable_metrics")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: BillableMetricId,
    /// Unique code, as events name it.
    pub code: String,
    /// Name shown.
    pub name: String,
    /// `count` | `sum` | `max` | `latest` | `unique_count` | `weighted_sum`.
    pub aggregation: String,
    /// The property counted by `unique_count`.
    pub field_name: Option<String>,
    /// Unit shown (`GiB-hour`).
    pub unit: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
