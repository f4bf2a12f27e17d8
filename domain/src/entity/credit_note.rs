//! `credit_notes`.

use sea_orm::entity::prelude::*;

use crate::ids::{CreditNoteId, InvoiceId, ResellerId};

/// A correction of a finalized invoice.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "credit_notes")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: CreditNoteId,
    /// The invoice corrected.
    pub invoice_id: InvoiceId,
    /// Whose world.
    pub reseller_id: Option<ResellerId>,
    /// Gapless per issuer and year.
    pub number: String,
    /// Amount credited, integer part.
    pub amount_units: i64,
    /// Amount credited, 10⁻⁹ part.
    pub amount_nanos: i64,
    /// Amount in minor units.
    pub amount_cents: i64,
    /// Why.
    pub reason: String,
    pub issued_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
