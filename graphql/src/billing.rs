//! Billing: metrics and plans' charges, usage, billing periods, invoices,
//! payments and credit notes.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use coplane_domain::billing::invoices::{self, InvoiceAmounts, LineAmounts, minor_digits};
use coplane_domain::billing::{self, close, metrics, usage};
use coplane_domain::entity::{
    billable_metric, billing_period, credit_note, invoice, invoice_line, payment, plan_charge,
    reseller,
};
use rust_decimal::Decimal;

use crate::catalog::Money;
use crate::context::{actor, db, now};
use crate::error::{UserError, payload, to_gql, user_error};
use crate::node::{Conn, connection, decode, decode_as, global_id, page_request};
type Json = async_graphql::Json<serde_json::Value>;
use crate::tenancy::page_cost;
use async_graphql::Json as JsonValue;

fn fixed(units: i64, nanos: i64) -> Decimal {
    coplane_domain::decimal::stored(units, nanos).normalize()
}

/// A billable metric.
pub struct BillableMetric(pub billable_metric::Model);

#[Object]
impl BillableMetric {
    /// Global id.
    async fn id(&self) -> ID {
        global_id("BillableMetric", self.0.id)
    }
    /// The code usage events carry.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// Name shown.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// `count`, `sum`, `max`, `latest`, `unique_count` or `weighted_sum`.
    async fn aggregation(&self) -> &str {
        &self.0.aggregation
    }
    /// The property `unique_count` counts.
    async fn field_name(&self) -> Option<&str> {
        self.0.field_name.as_deref()
    }
    /// Unit shown.
    async fn unit(&self) -> &str {
        &self.0.unit
    }
}

/// A plan's metered charge.
pub struct PlanCharge(pub String, pub plan_charge::Model);

#[Object]
impl PlanCharge {
    /// The metric's code.
    async fn metric(&self) -> &str {
        &self.0
    }
    /// `standard`, `graduated`, `volume`, `package` or `percentage`.
    async fn model(&self) -> &str {
        &self.1.charge_model
    }
    /// Units included for free each period.
    async fn free_units(&self) -> Decimal {
        fixed(self.1.free_units_units, self.1.free_units_nanos)
    }
    /// The whole charge (prices as decimal strings), as `setPlanCharges` takes it.
    async fn definition(&self) -> Json {
        JsonValue(serde_json::from_str(&self.1.properties).unwrap_or_default())
    }
    /// The plan's price version that set it.
    async fn price_version(&self) -> i32 {
        self.1.price_version
    }
}

/// A plan's charges (for `Plan.charges`).
pub async fn plan_charges(
    ctx: &Context<'_>,
    plan_id: uuid::Uuid,
) -> async_graphql::Result<Vec<PlanCharge>> {
    Ok(billing::catalog::charges_of(db(ctx)?, plan_id)
        .await
        .map_err(to_gql)?
        .into_iter()
        .map(|(code, c)| PlanCharge(code, c))
        .collect())
}

/// One tenant's usage of one metric over a window.
#[derive(SimpleObject)]
pub struct Usage {
    /// The tenant.
    tenant_id: ID,
    /// The metric's code.
    metric: String,
    /// Window start.
    from: DateTime<Utc>,
    /// Window end (exclusive).
    to: DateTime<Utc>,
    /// The aggregated quantity.
    quantity: Decimal,
}

/// A billing period (a calendar month, UTC).
pub struct BillingPeriod(pub billing_period::Model);

#[Object]
impl BillingPeriod {
    /// Global id.
    async fn id(&self) -> ID {
        global_id("BillingPeriod", self.0.id)
    }
    /// First instant.
    async fn starts_at(&self) -> DateTime<Utc> {
        self.0.starts_at
    }
    /// First instant after.
    async fn ends_at(&self) -> DateTime<Utc> {
        self.0.ends_at
    }
    /// `open`, `closing` or `closed`.
    async fn state(&self) -> &str {
        &self.0.state
    }
    /// When closed.
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
}

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
        &self.0.layer
    }
    /// `draft`, `open`, `paid` or `void`.
    async fn status(&self) -> &str {
        &self.0.status
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
        Ok(invoices::lines(db(ctx)?, self.0.id)
            .await
            .map_err(to_gql)?
            .into_iter()
            .map(|l| InvoiceLine(l, self.0.currency.clone(), minor))
            .collect())
    }
    /// Payments received against it.
    async fn payments(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Payment>> {
        Ok(invoices::payments_of(db(ctx)?, self.0.id)
            .await
            .map_err(to_gql)?
            .into_iter()
            .map(Payment)
            .collect())
    }
    /// Credit notes correcting it.
    async fn credit_notes(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CreditNote>> {
        Ok(invoices::credit_notes_of(db(ctx)?, self.0.id)
            .await
            .map_err(to_gql)?
            .into_iter()
            .map(CreditNote)
            .collect())
    }
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
        fixed(self.0.precise_amount_units, self.0.precise_amount_nanos)
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
            fixed(self.0.amount_units, self.0.amount_nanos),
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
        fixed(self.0.amount_units, self.0.amount_nanos)
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

/// Reads an invoice for `node`.
pub async fn node(
    ctx: &Context<'_>,
    id: uuid::Uuid,
) -> coplane_domain::Result<Option<crate::node::Node>> {
    let (db, actor) = (
        db(ctx).map_err(|_| coplane_domain::Error::Unauthenticated)?,
        actor(ctx).map_err(|_| coplane_domain::Error::Unauthenticated)?,
    );
    Ok(invoices::get(db, actor, id)
        .await?
        .map(|m| crate::node::Node::Invoice(Invoice(m))))
}

#[derive(Default)]
pub struct BillingQuery;

#[Object]
impl BillingQuery {
    /// Billable metrics, by code.
    async fn billable_metrics(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<BillableMetric>> {
        Ok(metrics::list(db(ctx)?, actor(ctx)?)
            .await
            .map_err(to_gql)?
            .into_iter()
            .map(BillableMetric)
            .collect())
    }

    /// Usage aggregated per tenant and metric over `[from, to)`, for the
    /// tenants the caller reaches; `tenantId` narrows to one.
    async fn usage(
        &self,
        ctx: &Context<'_>,
        tenant_id: Option<ID>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> async_graphql::Result<Vec<Usage>> {
        let tenant = match tenant_id {
            Some(id) => match decode_as(&id, "Tenant") {
                Some(u) => Some(u),
                None => return Ok(Vec::new()),
            },
            None => None,
        };
        let found = usage::aggregates(db(ctx)?, actor(ctx)?, tenant, from, to)
            .await
            .map_err(to_gql)?;
        Ok(found
            .into_iter()
            .map(|u| Usage {
                tenant_id: global_id("Tenant", u.tenant_id),
                metric: u.metric,
                from: u.start,
                to: u.end,
                quantity: u.quantity,
            })
            .collect())
    }

    /// Billing periods, newest first.
    async fn billing_periods(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<BillingPeriod>> {
        Ok(close::periods(db(ctx)?, actor(ctx)?)
            .await
            .map_err(to_gql)?
            .into_iter()
            .map(BillingPeriod)
            .collect())
    }

    /// Invoices the caller reaches: stewards all; a reseller those it
    /// receives from the co-op and those it issues.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn invoices(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<String>,
        updated_since: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<Conn<Invoice>> {
        let page = page_request(first, after.clone())?;
        let filter = invoices::InvoiceFilter {
            updated_since,
            status,
            billing_period_id: None,
        };
        let found = invoices::list(db(ctx)?, actor(ctx)?, filter, page)
            .await
            .map_err(to_gql)?;
        Ok(connection(found, after.is_some(), |m| m.id, Invoice))
    }

    /// One invoice; null outside the caller's reach.
    async fn invoice(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Invoice>> {
        let Some(id) = decode_as(&id, "Invoice") else {
            return Ok(None);
        };
        Ok(invoices::get(db(ctx)?, actor(ctx)?, id)
            .await
            .map_err(to_gql)?
            .map(Invoice))
    }

    /// Payments the caller reaches, for ERP sync.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn payments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        updated_since: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<Conn<Payment>> {
        let page = page_request(first, after.clone())?;
        let found = invoices::payments(db(ctx)?, actor(ctx)?, updated_since, page)
            .await
            .map_err(to_gql)?;
        Ok(connection(found, after.is_some(), |m| m.id, Payment))
    }
}

/// A new billable metric.
#[derive(InputObject)]
pub struct CreateBillableMetricInput {
    /// Code events carry.
    code: String,
    /// Name shown.
    name: String,
    /// `count`, `sum`, `max`, `latest`, `unique_count` or `weighted_sum`.
    aggregation: String,
    /// The property `unique_count` counts.
    field_name: Option<String>,
    /// Unit shown.
    unit: String,
    /// Replays the first result.
    idempotency_key: Option<String>,
}

/// `createBillableMetric`'s result.
#[derive(SimpleObject)]
pub struct BillableMetricPayload {
    /// The metric.
    billable_metric: Option<BillableMetric>,
    /// What was wrong.
    user_errors: Vec<UserError>,
}

/// One charge.
#[derive(InputObject)]
pub struct PlanChargeInput {
    /// The metric's code.
    metric: String,
    /// The charge: `{"model": "standard", "unitPrice": "0.02", "freeUnits": "100"}`,
    /// `{"model": "graduated", "tiers": [{"upTo": "100", "unitPrice": "0.1"}, {"unitPrice": "0.05"}]}`,
    /// `volume` (tiers), `package` (`size`, `price`), `percentage` (`rate`).
    charge: Json,
}

/// A plan's new charges.
#[derive(InputObject)]
pub struct SetPlanChargesInput {
    /// The plan.
    plan_id: ID,
    /// All its charges (replacing the ones it has).
    charges: Vec<PlanChargeInput>,
}

/// `setPlanCharges`' result.
#[derive(SimpleObject)]
pub struct PlanChargesPayload {
    /// The plan's charges now.
    charges: Option<Vec<PlanCharge>>,
    /// What was wrong.
    user_errors: Vec<UserError>,
}

/// A reseller's billing terms; unset fields stay.
#[derive(InputObject)]
pub struct SetResellerBillingTermsInput {
    /// The reseller.
    reseller_id: ID,
    /// Discount off list prices (0.2 for 20 %).
    wholesale_discount: Option<Decimal>,
    /// Tax rate on its wholesale invoices.
    tax_rate: Option<Decimal>,
    /// It accounts for the tax itself.
    reverse_charge: Option<bool>,
    /// Where its invoices go.
    billing_email: Option<String>,
}

/// `setResellerBillingTerms`' result.
#[derive(SimpleObject)]
pub struct ResellerTermsPayload {
    /// The reseller's id.
    reseller_id: Option<ID>,
    /// Its discount now.
    wholesale_discount: Option<Decimal>,
    /// What was wrong.
    user_errors: Vec<UserError>,
}

/// One usage event.
#[derive(InputObject)]
pub struct UsageEventInput {
    /// The tenant: its global id, id or slug.
    tenant_id: String,
    /// The metric's code.
    metric: String,
    /// An exact decimal, as a string.
    quantity: String,
    /// RFC 3339.
    timestamp: String,
    /// Counted once per tenant.
    idempotency_key: String,
    /// Free-form properties.
    properties: Option<Json>,
}

/// Usage events to ingest.
#[derive(InputObject)]
pub struct IngestUsageInput {
    /// The events.
    events: Vec<UsageEventInput>,
}

/// A refused usage event.
#[derive(SimpleObject)]
pub struct UsageRowError {
    /// Its position in the batch, from 0.
    index: i32,
    /// The field at fault.
    field: String,
    /// Stable code.
    code: String,
    /// What is wrong.
    message: String,
}

/// `ingestUsage`'s result.
#[derive(SimpleObject)]
pub struct IngestUsagePayload {
    /// Events counted for the first time.
    accepted: u64,
    /// Valid events whose key was counted before.
    duplicates: u64,
    /// Events refused.
    rejected: u64,
    /// One per refused event.
    row_errors: Vec<UsageRowError>,
    /// Errors about the whole batch.
    user_errors: Vec<UserError>,
}

/// A tenant reference as the domain takes it: a global id becomes its uuid.
pub fn tenant_ref(s: &str) -> String {
    match decode(s) {
        Some((kind, id)) if kind == "Tenant" => id.to_string(),
        _ => s.to_owned(),
    }
}

/// The period to close.
#[derive(InputObject)]
pub struct CloseBillingPeriodInput {
    /// The period's first instant (the first of a month, 00:00 UTC).
    period_start: DateTime<Utc>,
    /// Finalize (number) the invoices; false leaves drafts for review.
    #[graphql(default = true)]
    finalize: bool,
}

/// `closeBillingPeriod`'s result.
#[derive(SimpleObject)]
pub struct CloseBillingPeriodPayload {
    /// The period.
    billing_period: Option<BillingPeriod>,
    /// Invoices made by this call.
    created: u32,
    /// Invoices that existed already.
    existing: u32,
    /// Invoices that could not be made (see the log); the period stays
    /// `closing` and a later close retries them.
    failed: u32,
    /// What was wrong.
    user_errors: Vec<UserError>,
}

/// An invoice to act on.
#[derive(InputObject)]
pub struct InvoiceIdInput {
    /// The invoice.
    invoice_id: ID,
}

/// A mutation's invoice.
#[derive(SimpleObject)]
pub struct InvoicePayload {
    /// The invoice.
    invoice: Option<Invoice>,
    /// What was wrong.
    user_errors: Vec<UserError>,
}

/// A payment received outside the payment rail.
#[derive(InputObject)]
pub struct RecordPaymentInput {
    /// The invoice paid.
    invoice_id: ID,
    /// Amount, in the invoice's currency.
    amount: Decimal,
    /// `bank_transfer`, `erp`, `cash` …
    method: String,
    /// The bank's or ERP's reference.
    external_ref: Option<String>,
    /// When the money arrived (default: now).
    received_at: Option<DateTime<Utc>>,
    /// Required: the same key records the payment once.
    idempotency_key: String,
}

/// `recordPayment`'s result.
#[derive(SimpleObject)]
pub struct RecordPaymentPayload {
    /// The payment.
    payment: Option<Payment>,
    /// The invoice after it.
    invoice: Option<Invoice>,
    /// What was wrong.
    user_errors: Vec<UserError>,
}

/// A credit note to issue.
#[derive(InputObject)]
pub struct IssueCreditNoteInput {
    /// The invoice corrected.
    invoice_id: ID,
    /// Amount credited.
    amount: Decimal,
    /// Why.
    reason: String,
    /// Replays the first result.
    idempotency_key: Option<String>,
}

/// `issueCreditNote`'s result.
#[derive(SimpleObject)]
pub struct CreditNotePayload {
    /// The credit note.
    credit_note: Option<CreditNote>,
    /// What was wrong.
    user_errors: Vec<UserError>,
}

fn not_found(field: &'static str, entity: &'static str) -> Vec<UserError> {
    user_error(&coplane_domain::Error::not_found(field, entity))
        .into_iter()
        .collect()
}

#[derive(Default)]
pub struct BillingMutation;

#[Object]
impl BillingMutation {
    /// Creates a billable metric (stewards).
    async fn create_billable_metric(
        &self,
        ctx: &Context<'_>,
        input: CreateBillableMetricInput,
    ) -> async_graphql::Result<BillableMetricPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let new = metrics::NewMetric {
            code: input.code,
            name: input.name,
            aggregation: input.aggregation,
            field_name: input.field_name,
            unit: input.unit,
        };
        let (m, user_errors) =
            payload(metrics::create(db, actor, new, input.idempotency_key.as_deref(), now).await)?;
        Ok(BillableMetricPayload {
            billable_metric: m.map(BillableMetric),
            user_errors,
        })
    }

    /// Replaces a plan's metered charges (stewards); its price version goes up.
    async fn set_plan_charges(
        &self,
        ctx: &Context<'_>,
        input: SetPlanChargesInput,
    ) -> async_graphql::Result<PlanChargesPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let Some(plan_id) = decode_as(&input.plan_id, "Plan") else {
            return Ok(PlanChargesPayload {
                charges: None,
                user_errors: not_found("planId", "plan"),
            });
        };
        let mut charges = Vec::new();
        for (i, c) in input.charges.into_iter().enumerate() {
            match serde_json::from_value::<billing::Charge>(c.charge.0) {
                Ok(charge) => charges.push((c.metric, charge)),
                Err(e) => {
                    return Ok(PlanChargesPayload {
                        charges: None,
                        user_errors: vec![UserError::new(
                            "charges",
                            "INVALID_CHARGE",
                            format!("charge {}: {e}", i + 1),
                        )],
                    });
                }
            }
        }
        let r = billing::catalog::set_plan_charges(db, actor, plan_id, charges, now).await;
        let (saved, user_errors) = payload(r)?;
        let charges = match saved {
            Some(_) => Some(plan_charges(ctx, plan_id).await?),
            None => None,
        };
        Ok(PlanChargesPayload {
            charges,
            user_errors,
        })
    }

    /// Sets a reseller's wholesale discount and tax (stewards).
    async fn set_reseller_billing_terms(
        &self,
        ctx: &Context<'_>,
        input: SetResellerBillingTermsInput,
    ) -> async_graphql::Result<ResellerTermsPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let Some(id) = decode_as(&input.reseller_id, "Reseller") else {
            return Ok(ResellerTermsPayload {
                reseller_id: None,
                wholesale_discount: None,
                user_errors: not_found("resellerId", "reseller"),
            });
        };
        let terms = billing::catalog::ResellerTerms {
            wholesale_discount: input.wholesale_discount,
            tax_rate: input.tax_rate,
            reverse_charge: input.reverse_charge,
            billing_email: input.billing_email,
        };
        let (r, user_errors) =
            payload(billing::catalog::set_reseller_terms(db, actor, id, terms, now).await)?;
        Ok(ResellerTermsPayload {
            reseller_id: r
                .as_ref()
                .map(|r: &reseller::Model| global_id("Reseller", r.id)),
            wholesale_discount: r
                .map(|r| fixed(r.wholesale_discount_units, r.wholesale_discount_nanos)),
            user_errors,
        })
    }

    /// Ingests usage events: each key counts once per tenant; invalid rows
    /// are reported by position and the valid ones kept.
    async fn ingest_usage(
        &self,
        ctx: &Context<'_>,
        input: IngestUsageInput,
    ) -> async_graphql::Result<IngestUsagePayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let rows = input
            .events
            .into_iter()
            .map(|e| usage::UsageRow {
                tenant: tenant_ref(&e.tenant_id),
                metric: e.metric,
                quantity: e.quantity,
                timestamp: e.timestamp,
                idempotency_key: e.idempotency_key,
                properties: e.properties.map(|p| p.0),
            })
            .collect();
        let report = usage::ingest(db, actor, rows, now).await.map_err(to_gql)?;
        Ok(IngestUsagePayload {
            accepted: report.accepted,
            duplicates: report.duplicates,
            rejected: report.rejected,
            row_errors: report
                .errors
                .into_iter()
                .map(|e| UsageRowError {
                    index: i32::try_from(e.index).unwrap_or(i32::MAX),
                    field: e.field.into(),
                    code: e.code.into(),
                    message: e.message,
                })
                .collect(),
            user_errors: Vec::new(),
        })
    }

    /// Closes a billing period: one invoice per paying party, made once
    /// however often it is called (stewards).
    async fn close_billing_period(
        &self,
        ctx: &Context<'_>,
        input: CloseBillingPeriodInput,
    ) -> async_graphql::Result<CloseBillingPeriodPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let options = close::CloseOptions {
            finalize: input.finalize,
            max_invoices: None,
        };
        let (report, user_errors) =
            payload(close::close_period(db, actor, input.period_start, options, now).await)?;
        let period = match &report {
            Some(r) => <coplane_domain::entity::billing_period::Entity as sea_orm::EntityTrait>::find_by_id(r.period_id)
                .one(db)
                .await
                .map_err(|e| crate::error::internal(&e))?
                .map(BillingPeriod),
            None => None,
        };
        Ok(CloseBillingPeriodPayload {
            billing_period: period,
            created: report.as_ref().map_or(0, |r| r.created),
            existing: report.as_ref().map_or(0, |r| r.existing),
            failed: report
                .as_ref()
                .map_or(0, |r| u32::try_from(r.failed.len()).unwrap_or(u32::MAX)),
            user_errors,
        })
    }

    /// Finalizes a draft invoice: numbers it and opens it for payment.
    async fn finalize_invoice(
        &self,
        ctx: &Context<'_>,
        input: InvoiceIdInput,
    ) -> async_graphql::Result<InvoicePayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let Some(id) = decode_as(&input.invoice_id, "Invoice") else {
            return Ok(InvoicePayload {
                invoice: None,
                user_errors: not_found("invoiceId", "invoice"),
            });
        };
        let (inv, user_errors) = payload(invoices::finalize(db, actor, id, now).await)?;
        Ok(InvoicePayload {
            invoice: inv.map(Invoice),
            user_errors,
        })
    }

    /// Records a payment an ERP or a person saw arrive (partial payments
    /// add up; beyond the total is kept as the account's credit).
    async fn record_payment(
        &self,
        ctx: &Context<'_>,
        input: RecordPaymentInput,
    ) -> async_graphql::Result<RecordPaymentPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let Some(id) = decode_as(&input.invoice_id, "Invoice") else {
            return Ok(RecordPaymentPayload {
                payment: None,
                invoice: None,
                user_errors: not_found("invoiceId", "invoice"),
            });
        };
        let new = invoices::NewPayment {
            invoice_id: id,
            amount: input.amount,
            method: input.method,
            external_ref: input.external_ref,
            received_at: input.received_at,
        };
        let (done, user_errors) =
            payload(invoices::record_payment(db, actor, new, &input.idempotency_key, now).await)?;
        let (invoice, payment) = match done {
            Some((i, p)) => (Some(Invoice(i)), Some(Payment(p))),
            None => (None, None),
        };
        Ok(RecordPaymentPayload {
            payment,
            invoice,
            user_errors,
        })
    }

    /// Issues a credit note against a finalized invoice.
    async fn issue_credit_note(
        &self,
        ctx: &Context<'_>,
        input: IssueCreditNoteInput,
    ) -> async_graphql::Result<CreditNotePayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let Some(id) = decode_as(&input.invoice_id, "Invoice") else {
            return Ok(CreditNotePayload {
                credit_note: None,
                user_errors: not_found("invoiceId", "invoice"),
            });
        };
        let new = invoices::NewCreditNote {
            invoice_id: id,
            amount: input.amount,
            reason: input.reason,
        };
        let (note, user_errors) = payload(
            invoices::issue_credit_note(db, actor, new, input.idempotency_key.as_deref(), now)
                .await,
        )?;
        Ok(CreditNotePayload {
            credit_note: note.map(CreditNote),
            user_errors,
        })
    }
}
