//! Payments and credit notes.

use async_graphql::{ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use coplane_domain::entity::{credit_note, payment};
use rust_decimal::Decimal;

use super::Invoice;
use crate::common::{Money, decimal, global_id};
use crate::error::UserError;

/// A payment.
pub struct Payment(pub payment::Model);

#[Object]
impl Payment {
    /// Global id.
    async fn id(&self) -> ID {
        global_id("Payment", self.0.id)
    }
    /// The invoice paid.
    async fn invoice_id(&self) -> ID {
        global_id("Invoice", self.0.invoice_id)
    }
    /// Amount.
    async fn amount(&self) -> Money {
        Money::new(
            decimal(self.0.amount_units, self.0.amount_nanos),
            &self.0.currency,
        )
    }
    /// `stripe`, `credit`, `bank_transfer`, `erp` …
    async fn method(&self) -> &str {
        &self.0.method
    }
    /// The reference outside coplane.
    async fn external_ref(&self) -> Option<&str> {
        self.0.external_ref.as_deref()
    }
    /// When the money arrived.
    async fn received_at(&self) -> DateTime<Utc> {
        self.0.received_at
    }
    /// Last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// A credit note.
pub struct CreditNote(pub credit_note::Model);

#[Object]
impl CreditNote {
    /// Global id.
    async fn id(&self) -> ID {
        global_id("CreditNote", self.0.id)
    }
    /// Gapless per issuer and year.
    async fn number(&self) -> &str {
        &self.0.number
    }
    /// The invoice corrected.
    async fn invoice_id(&self) -> ID {
        global_id("Invoice", self.0.invoice_id)
    }
    /// Amount credited.
    async fn amount(&self) -> Decimal {
        decimal(self.0.amount_units, self.0.amount_nanos)
    }
    /// Why.
    async fn reason(&self) -> &str {
        &self.0.reason
    }
    /// Issued.
    async fn issued_at(&self) -> DateTime<Utc> {
        self.0.issued_at
    }
}

/// A payment received outside the payment rail.
#[derive(InputObject)]
pub struct RecordPaymentInput {
    /// The invoice paid.
    pub(super) invoice_id: ID,
    /// Amount, in the invoice's currency.
    pub(super) amount: Decimal,
    /// `bank_transfer`, `erp`, `cash` …
    pub(super) method: String,
    /// The bank's or ERP's reference.
    pub(super) external_ref: Option<String>,
    /// When the money arrived (default: now).
    pub(super) received_at: Option<DateTime<Utc>>,
    /// Required: the same key records the payment once.
    pub(super) idempotency_key: String,
}

/// `recordPayment`'s result.
#[derive(SimpleObject)]
pub struct RecordPaymentPayload {
    /// The payment.
    pub(super) payment: Option<Payment>,
    /// The invoice after it.
    pub(super) invoice: Option<Invoice>,
    /// What was wrong.
    pub(super) user_errors: Vec<UserError>,
}

/// A credit note to issue.
#[derive(InputObject)]
pub struct IssueCreditNoteInput {
    /// The invoice corrected.
    pub(super) invoice_id: ID,
    /// Amount credited.
    pub(super) amount: Decimal,
    /// Why.
    pub(super) reason: String,
    /// Replays the first result.
    pub(super) idempotency_key: Option<String>,
}

crate::common::payload! {
    /// `issueCreditNote`'s result.
    CreditNotePayload {
        /// The credit note.
        credit_note: CreditNote,
        /// What was wrong.
        user_errors,
    }
}
