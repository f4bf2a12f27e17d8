//! `payments`.

use sea_orm::entity::prelude::*;

use crate::ids::{InvoiceId, PaymentId, ResellerId};

/// Money received against an invoice.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: PaymentId,
    /// The invoice.
    pub invoice_id: InvoiceId,
    /// Whose world.
    pub reseller_id: Option<ResellerId>,
    /// Amount, integer part.
    pub amount_units: i64,
    /// Amount, 10⁻⁹ part.
    pub amount_nanos: i64,
    /// ISO 4217.
    pub currency: String,
    /// `stripe` | `bank_transfer` | `erp` | `credit` | …
    pub method: String,
    /// The payment's reference outside coplane.
    pub external_ref: Option<String>,
    /// The recorder's idempotency key.
    pub idempotency_key: Option<String>,
    /// Who recorded it.
    pub recorded_by: String,
    /// When received.
    pub received_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
