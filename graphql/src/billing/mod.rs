//! Billing: metrics and plans' charges, usage, billing periods, invoices,
//! payments and credit notes. It may use tenancy, the catalog and orders,
//! not dunning.

mod charges;
mod invoices;
mod mutation;
mod payments;
mod periods;
mod query;
mod usage;

pub use charges::{
    BillableMetric, BillableMetricPayload, CreateBillableMetricInput, PlanChargesPayload,
    ResellerTermsPayload, SetPlanChargesInput, SetResellerBillingTermsInput,
};
pub use invoices::{Invoice, InvoiceIdInput, InvoicePayload};
pub use mutation::BillingMutation;
pub use payments::{
    CreditNote, CreditNotePayload, IssueCreditNoteInput, Payment, RecordPaymentInput,
    RecordPaymentPayload,
};
pub use periods::{BillingPeriod, CloseBillingPeriodInput, CloseBillingPeriodPayload};
pub use query::BillingQuery;
pub use usage::{IngestUsageInput, IngestUsagePayload, Usage, UsageRowError};
