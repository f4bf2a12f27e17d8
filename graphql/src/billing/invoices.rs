//! Invoices and their lines.

use async_graphql::{Context, ID, InputObject, Object, Value};
use chrono::{DateTime, Utc};
use coplane_domain::billing::invoices::{self, InvoiceAmounts, LineAmounts};
use coplane_domain::entity::{credit_note, invoice, invoice_line, payment};
use coplane_domain::ids::InvoiceId;
use coplane_domain::money::minor_digits;
use rust_decimal::Decimal;

use super::{CreditNote, Payment};
use crate::common::plain::{At, Plain, scalar, scalar_opt, text, text_opt};
use crate::common::{Money, decimal, global_id};
use crate::loaders::{Ahead, children, children_of, fetched};

/// An invoice.
pub struct Invoice(pub invoice::Model);

impl Invoice {
    fn money(&self, amount: Decimal) -> Money {
        Money::new(amount, &self.0.currency)
    }

    /// `lines` as this invoice shows them.
    fn lines_of(&self, lines: &[invoice_line::Model]) -> Vec<InvoiceLine> {
        let minor = minor_digits(&self.0.currency);
        lines
            .iter()
            .map(|l| InvoiceLine(l.clone(), self.0.currency.clone(), minor))
            .collect()
    }

    /// The recipient's global id.
    fn recipient(&self) -> Option<ID> {
        match (self.0.recipient_reseller_id, self.0.recipient_customer_id) {
            (Some(r), _) => Some(global_id("Reseller", r)),
            (None, Some(c)) => Some(global_id("Customer", c)),
            _ => None,
        }
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
        self.recipient()
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
        Ok(self.lines_of(&children_of::<LinesOf>(ctx, self.0.id).await?))
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

impl Plain for Invoice {
    fn field(&self, name: &str, at: &At<'_, '_>) -> Option<Value> {
        let i = &self.0;
        Some(match name {
            "id" => scalar(&global_id("Invoice", i.id)),
            "number" => text_opt(i.number.as_deref()),
            "layer" => text(i.layer.as_str()),
            "status" => text(i.status.as_str()),
            "issuerName" => text_opt(i.issuer_name.as_deref()),
            "issuerResellerId" => scalar_opt(
                i.issuer_reseller_id
                    .map(|r| global_id("Reseller", r))
                    .as_ref(),
            ),
            "recipientName" => text_opt(i.recipient_name.as_deref()),
            "recipientId" => scalar_opt(self.recipient().as_ref()),
            "recipientEmail" => text_opt(i.recipient_email.as_deref()),
            "periodStart" => scalar(&i.period_start),
            "periodEnd" => scalar(&i.period_end),
            "currency" => text(&i.currency),
            "subtotal" => return at.object(&self.money(i.subtotal())),
            "taxRate" => scalar(&i.tax_rate().normalize()),
            "reverseCharge" => Value::Boolean(i.reverse_charge),
            "tax" => return at.object(&self.money(i.tax())),
            "total" => return at.object(&self.money(i.total())),
            "amountPaid" => return at.object(&self.money(i.paid())),
            "amountCredited" => return at.object(&self.money(i.credited())),
            "amountDue" => return at.object(&self.money(i.outstanding())),
            "finalizedAt" => scalar_opt(i.finalized_at.as_ref()),
            "dueAt" => scalar_opt(i.due_at.as_ref()),
            "paidAt" => scalar_opt(i.paid_at.as_ref()),
            "paymentIntentId" => text_opt(i.stripe_payment_intent_id.as_deref()),
            "paymentClientSecret" => text_opt(i.payment_client_secret.as_deref()),
            "paymentError" => text_opt(i.payment_error.as_deref()),
            "updatedAt" => scalar(&i.updated_at),
            "lines" => {
                let lines = fetched::<LinesOf>(at.data::<Ahead>()?, i.id)?;
                return at.list(&self.lines_of(&lines.0));
            }
            _ => return None,
        })
    }
}

/// A line of an invoice.
pub struct InvoiceLine(invoice_line::Model, String, u32);

impl Plain for InvoiceLine {
    fn field(&self, name: &str, at: &At<'_, '_>) -> Option<Value> {
        let l = &self.0;
        Some(match name {
            "position" => scalar(&l.position),
            "description" => text(&l.description),
            "tenantId" => scalar_opt(l.tenant_id.map(|t| global_id("Tenant", t)).as_ref()),
            "metricCode" => text_opt(l.metric_code.as_deref()),
            "quantity" => scalar(&l.quantity().normalize()),
            "unitPrice" => scalar(&l.unit_price().normalize()),
            "preciseAmount" => scalar(&decimal(l.precise_amount_units, l.precise_amount_nanos)),
            "amount" => return at.object(&Money::new(l.amount(self.2), &self.1)),
            "priceVersion" => text(&l.price_version),
            _ => return None,
        })
    }
}

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
