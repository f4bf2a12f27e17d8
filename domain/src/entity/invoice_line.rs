//! `invoice_lines`.

use sea_orm::entity::prelude::*;

use crate::ids::{InvoiceId, InvoiceLineId, ResellerId, TenantId};

/// A line of an invoice.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invoice_lines")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: InvoiceLineId,
    /// The invoice.
    pub invoice_id: InvoiceId,
    /// Whose world.
    pub reseller_id: Option<ResellerId>,
    /// Order on the invoice.
    pub position: i32,
    /// The tenant it is for.
    pub tenant_id: Option<TenantId>,
    /// What it is.
    pub description: String,
    /// The metric, for metered lines.
    pub metric_code: Option<String>,
    /// Quantity, integer part.
    pub quantity_units: i64,
    /// Quantity, 10⁻⁹ part.
    pub quantity_nanos: i64,
    /// Unit price, integer part.
    pub unit_price_units: i64,
    /// Unit price, 10⁻⁹ part.
    pub unit_price_nanos: i64,
    /// Amount before rounding (to 10⁻⁹), integer part.
    pub precise_amount_units: i64,
    /// Amount before rounding (to 10⁻⁹), 10⁻⁹ part.
    pub precise_amount_nanos: i64,
    /// Amount in minor units, rounded once.
    pub amount_cents: i64,
    /// The price version used.
    pub price_version: String,
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
