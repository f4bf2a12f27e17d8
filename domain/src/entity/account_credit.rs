//! `account_credits`: the credit ledger. An account's credit is the sum of
//! its rows in a currency; rows are only ever added (an overpayment adds,
//! an invoice that uses credit subtracts).

use sea_orm::entity::prelude::*;

use crate::ids::{AccountCreditId, InvoiceId, PaymentId, ResellerId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_credits")]
#[allow(missing_docs)]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: AccountCreditId,
    /// `reseller` | `customer`.
    pub account_kind: String,
    pub account_id: Uuid,
    /// Whose world the account is in.
    pub reseller_id: Option<ResellerId>,
    /// ISO 4217.
    pub currency: String,
    /// Signed: positive adds credit, negative uses it.
    pub amount_units: i64,
    pub amount_nanos: i64,
    /// The payment that brought it, if any.
    pub payment_id: Option<PaymentId>,
    /// The invoice it came from or went to, if any.
    pub invoice_id: Option<InvoiceId>,
    /// `overpayment`, `applied`, …
    pub reason: String,
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
