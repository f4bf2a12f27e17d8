//! `billing_periods`.

use sea_orm::entity::prelude::*;

use crate::ids::BillingPeriodId;

/// A billing period, half-open `[starts_at, ends_at)`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "billing_periods")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: BillingPeriodId,
    /// First instant.
    pub starts_at: DateTimeUtc,
    /// First instant after.
    pub ends_at: DateTimeUtc,
    /// `open` | `closing` | `closed`.
    pub state: String,
    /// When closed.
    pub closed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
