//! Billing: metrics and plans' charges, usage, billing periods, invoices,
//! payments and credit notes.

mod charges;
mod invoices;
mod mutation;
mod payments;
mod periods;
mod query;
mod usage;

pub use charges::{
    BillableMetric, BillableMetricPayload, CreateBillableMetricInput, PlanCharge,
    PlanChargesPayload, ResellerTermsPayload, SetPlanChargesInput, SetResellerBillingTermsInput,
    plan_charges,
};
pub use invoices::{Invoice, InvoiceIdInput, InvoicePayload, node};
pub use mutation::BillingMutation;
pub use payments::{
    CreditNote, CreditNotePayload, IssueCreditNoteInput, Payment, RecordPaymentInput,
    RecordPaymentPayload,
};
pub use periods::{BillingPeriod, CloseBillingPeriodInput, CloseBillingPeriodPayload};
pub use query::BillingQuery;
pub use usage::{IngestUsageInput, IngestUsagePayload, Usage, UsageRowError, tenant_ref};

use rust_decimal::Decimal;

type Json = async_graphql::Json<serde_json::Value>;

fn fixed(units: i64, nanos: i64) -> Decimal {
    coplane_domain::decimal::stored(units, nanos).normalize()
}
