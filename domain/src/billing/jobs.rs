//! Billing's jobs: written by the domain in the transaction of the change
//! that causes them, run by the worker.

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
