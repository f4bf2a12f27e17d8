//! Invoices and their lines.

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use coplane_domain::billing::invoices::{self, InvoiceAmounts, LineAmounts};
use coplane_domain::entity::{credit_note, invoice, invoice_line, payment};
use coplane_domain::ids::InvoiceId;
use coplane_domain::money::minor_digits;
use rust_decimal::Decimal;

use super::{CreditNote, Payment};
use crate::common::{Money, decimal, global_id};
use crate::loaders::{children, children_of};

/// An invoice.
pub struct Invoice(pub invoice::Model);

impl Invoice {
    fn money(&self, amount: Decimal) -> Money {
        Money::new(amount, &self.0.currency)
    }
}

#[Object]
impl Invoice {
    /// Global id.
    pub async fn id(&self) -> ID {
        global_id("Invoice", self.0.id)
    }
    /// Gapless per issuer and year; null while a draft.
    async fn number(&self) -> Option<&str> {
        self.0.number.as_deref()
    }
    /// `wholesale` (co-op → reseller), `retail` (reseller → customer) or `direct` (co-op → customer).
    async fn layer(&self) -> &str {
        self.0.layer.as_str()
    }
    /// `draft`, `open`, `paid` or `void`.
    async fn status(&self) -> &str {
        self.0.status.as_str()
    }
    /// Who issues it.
    async fn issuer_name(&self) -> Option<&str> {
        self.0.issuer_name.as_deref()
    }
    /// The issuing reseller; null: the co-op.
    async fn issuer_reseller_id(&self) -> Option<ID> {
        self.0.issuer_reseller_id.map(|r| global_id("Reseller", r))
    }
    /// Who owes it.
    async fn recipient_name(&self) -> Option<&str> {
        self.0.recipient_name.as_deref()
    }
    /// The paying reseller or customer.
    async fn recipient_id(&self) -> Option<ID> {
        match (self.0.recipient_reseller_id, self.0.recipient_customer_id) {
            (Some(r), _) => Some(global_id("Reseller", r)),
            (None, Some(c)) => Some(global_id("Customer", c)),
            _ => None,
        }
    }
    /// Where it is sent.
    async fn recipient_email(&self) -> Option<&str> {
        self.0.recipient_email.as_deref()
    }
    /// Period start.
    async fn period_start(&self) -> DateTime<Utc> {
        self.0.period_start
    }
    /// Period end (exclusive).
    async fn period_end(&self) -> DateTime<Utc> {
        self.0.period_end
    }
    /// ISO 4217.
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    /// Sum of the lines.
    async fn subtotal(&self) -> Money {
        self.money(self.0.subtotal())
    }
    /// The tax rate applied (a fraction).
    async fn tax_rate(&self) -> Decimal {
        self.0.tax_rate().normalize()
    }
    /// The recipient accounts for the tax.
    async fn reverse_charge(&self) -> bool {
        self.0.reverse_charge
    }
    /// Tax.
    async fn tax(&self) -> Money {
        self.money(self.0.tax())
    }
    /// Total.
    async fn total(&self) -> Money {
        self.money(self.0.total())
    }
    /// Paid so far.
    async fn amount_paid(&self) -> Money {
        self.money(self.0.paid())
    }
    /// Credited by credit notes.
    async fn amount_credited(&self) -> Money {
        self.money(self.0.credited())
    }
    /// Still owed.
    async fn amount_due(&self) -> Money {
        self.money(self.0.outstanding())
    }
    /// Finalized.
    async fn finalized_at(&self) -> Option<DateTime<Utc>> {
        self.0.finalized_at
    }
    /// Due.
    async fn due_at(&self) -> Option<DateTime<Utc>> {
        self.0.due_at
    }
    /// Paid in full.
    async fn paid_at(&self) -> Option<DateTime<Utc>> {
        self.0.paid_at
    }
    /// The PaymentIntent collecting it, once opened.
    async fn payment_intent_id(&self) -> Option<&str> {
        self.0.stripe_payment_intent_id.as_deref()
    }
    /// What the storefront passes to Stripe.js to collect it.
    async fn payment_client_secret(&self) -> Option<&str> {
        self.0.payment_client_secret.as_deref()
    }
    /// Why the last payment attempt failed.
    async fn payment_error(&self) -> Option<&str> {
        self.0.payment_error.as_deref()
    }
    /// Last changed (for ERP sync).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// Its lines, in order.
    async fn lines(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<InvoiceLine>> {
        let minor = minor_digits(&self.0.currency);
        Ok(children_of::<LinesOf>(ctx, self.0.id)
            .await?
            .iter()
            .map(|l| InvoiceLine(l.clone(), self.0.currency.clone(), minor))
            .collect())
    }
    /// Payments received against it.
    async fn payments(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Payment>> {
        Ok(children_of::<PaymentsOf>(ctx, self.0.id)
            .await?
            .iter()
            .cloned()
            .map(Payment)
            .collect())
    }
    /// Credit notes correcting it.
    async fn credit_notes(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CreditNote>> {
        Ok(children_of::<CreditNotesOf>(ctx, self.0.id)
            .await?
            .iter()
            .cloned()
            .map(CreditNote)
            .collect())
    }
}

children! {
    /// Invoices' lines, in order.
    LinesOf: InvoiceId => invoice_line::Model, by invoice_id, |db, _, ids| invoices::lines(db, ids)
}
children! {
    /// Payments against invoices.
    PaymentsOf: InvoiceId => payment::Model, by invoice_id, |db, _, ids| invoices::payments_of(db, ids)
}
children! {
    /// Credit notes correcting invoices.
    CreditNotesOf: InvoiceId => credit_note::Model, by invoice_id, |db, _, ids| invoices::credit_notes_of(db, ids)
}

/// A line of an invoice.
pub struct InvoiceLine(invoice_line::Model, String, u32);

#[Object]
impl InvoiceLine {
    /// Order on the invoice, from 1.
    async fn position(&self) -> i32 {
        self.0.position
    }
    /// What it is.
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// The tenant it is for.
    async fn tenant_id(&self) -> Option<ID> {
        self.0.tenant_id.map(|t| global_id("Tenant", t))
    }
    /// The metric, for metered lines.
    async fn metric_code(&self) -> Option<&str> {
        self.0.metric_code.as_deref()
    }
    /// Quantity (a share of the period for a base fee).
    async fn quantity(&self) -> Decimal {
        self.0.quantity().normalize()
    }
    /// Price per unit (the average, for tiered charges), unrounded.
    async fn unit_price(&self) -> Decimal {
        self.0.unit_price().normalize()
    }
    /// The exact amount before rounding.
    async fn precise_amount(&self) -> Decimal {
        decimal(self.0.precise_amount_units, self.0.precise_amount_nanos)
    }
    /// The amount, rounded once.
    async fn amount(&self) -> Money {
        Money::new(self.0.amount(self.2), &self.1)
    }
    /// The price version used.
    async fn price_version(&self) -> &str {
        &self.0.price_version
    }
}

/// An invoice to act on.
#[derive(InputObject)]
pub struct InvoiceIdInput {
    /// The invoice.
    pub(super) invoice_id: ID,
}

crate::common::payload! {
    /// A mutation's invoice.
    InvoicePayload {
        /// The invoice.
        invoice: Invoice,
        /// What was wrong.
        user_errors,
    }
}
