//! Billing's jobs: written by the domain in the transaction of the change
//! that causes them, run by the worker.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::jobs::Job;

/// Opens collection of a finalized invoice on the payment rail (a
/// PaymentIntent), when one is configured.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CollectInvoice {
    /// The invoice.
    pub invoice_id: Uuid,
}

impl Job for CollectInvoice {
    const NAME: &'static str = "billing.collect_invoice";
    const DEDUPLICATED: bool = true;
}

/// An account's invoices or payments changed: its standing is evaluated
/// again and the dunning ladder walked ([`crate::dunning::evaluate`]).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccountChanged {
    /// `reseller` | `customer`.
    pub account_kind: String,
    /// The reseller or customer.
    pub account_id: Uuid,
}

impl Job for AccountChanged {
    const NAME: &'static str = "billing.account_changed";
    const DEDUPLICATED: bool = true;
}

/// A payment was received on an invoice: the payer is told. The amounts are
/// the invoice's at the payment, whatever happens to it before the job runs.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PaymentReceived {
    /// The invoice paid.
    pub invoice_id: Uuid,
    /// The payment.
    pub payment_id: Uuid,
    /// What the payment brought to this invoice.
    pub amount: Decimal,
    /// What the invoice still owed after it.
    pub due: Decimal,
}

impl Job for PaymentReceived {
    const NAME: &'static str = "billing.payment_received";
}
