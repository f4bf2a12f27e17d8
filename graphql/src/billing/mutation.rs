//! Billing's mutations.

use async_graphql::{Context, Object};
use coplane_domain::billing::{self, close, invoices, metrics, usage};
use coplane_domain::entity::reseller;

use super::charges::plan_charges;
use super::{
    BillableMetric, BillableMetricPayload, BillingPeriod, CloseBillingPeriodInput,
    CloseBillingPeriodPayload, CreateBillableMetricInput, CreditNote, CreditNotePayload,
    IngestUsageInput, IngestUsagePayload, Invoice, InvoiceIdInput, InvoicePayload,
    IssueCreditNoteInput, Payment, PlanChargesPayload, RecordPaymentInput, RecordPaymentPayload,
    ResellerTermsPayload, SetPlanChargesInput, SetResellerBillingTermsInput, UsageRowError,
};
use crate::common::{Payload, decimal, decode_as, global_id, input_id, not_found, tenant_ref};
use crate::context::{actor, db, now};
use crate::error::{UserError, payload, to_gql};

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
        let created = metrics::create(db, actor, new, input.idempotency_key.as_deref(), now).await;
        BillableMetricPayload::from_result(created.map(BillableMetric))
    }

    /// Replaces a plan's metered charges (stewards); its price version goes up.
    async fn set_plan_charges(
        &self,
        ctx: &Context<'_>,
        input: SetPlanChargesInput,
    ) -> async_graphql::Result<PlanChargesPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let Some(plan_id) = decode_as(&input.plan_id, "Plan") else {
            return Ok(PlanChargesPayload::refused(not_found("planId", "plan")));
        };
        let mut charges = Vec::new();
        for (i, c) in input.charges.into_iter().enumerate() {
            match serde_json::from_value::<billing::Charge>(c.charge.0) {
                Ok(charge) => charges.push((c.metric, charge)),
                Err(e) => {
                    let message = format!("charge {}: {e}", i + 1);
                    let error = UserError::new("charges", "INVALID_CHARGE", message);
                    return Ok(PlanChargesPayload::refused(vec![error]));
                }
            }
        }
        let r = billing::catalog::set_plan_charges(db, actor, plan_id.into(), charges, now).await;
        let (saved, user_errors) = payload(r)?;
        let charges = match saved {
            Some(_) => Some(plan_charges(ctx, plan_id).await?),
            None => None,
        };
        Ok(PlanChargesPayload::new(charges, user_errors))
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
            payload(billing::catalog::set_reseller_terms(db, actor, id.into(), terms, now).await)?;
        Ok(ResellerTermsPayload {
            reseller_id: r
                .as_ref()
                .map(|r: &reseller::Model| global_id("Reseller", r.id)),
            wholesale_discount: r
                .map(|r| decimal(r.wholesale_discount_units, r.wholesale_discount_nanos)),
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
        let result = async {
            let id = input_id(&input.invoice_id, "Invoice", "invoiceId")?;
            invoices::finalize(db, actor, id, now).await
        };
        InvoicePayload::from_result(result.await.map(Invoice))
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
            invoice_id: id.into(),
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
        let result = async {
            let new = invoices::NewCreditNote {
                invoice_id: input_id(&input.invoice_id, "Invoice", "invoiceId")?,
                amount: input.amount,
                reason: input.reason,
            };
            let key = input.idempotency_key.as_deref();
            invoices::issue_credit_note(db, actor, new, key, now).await
        };
        CreditNotePayload::from_result(result.await.map(CreditNote))
    }
}
