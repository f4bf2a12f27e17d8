//! `plan_charges`.

use sea_orm::entity::prelude::*;

use crate::ids::{BillableMetricId, PlanChargeId, PlanId};

/// A metered charge on a plan.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plan_charges")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: PlanChargeId,
    /// The plan.
    pub plan_id: PlanId,
    /// The metric.
    pub metric_id: BillableMetricId,
    /// `standard` | `graduated` | `volume` | `package` | `percentage`.
    pub charge_model: String,
    /// The charge as JSON (exact decimals as strings).
    pub properties: String,
    /// Free units, integer part.
    pub free_units_units: i64,
    /// Free units, 10⁻⁹ part.
    pub free_units_nanos: i64,
    /// The plan's price version that set it.
    pub price_version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
