//! Billing's jobs: written by the domain in the transaction of the change
//! that causes them, run by the worker.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::account::Account;
use crate::error::Result;
use crate::ids::{InvoiceId, PaymentId};
use crate::jobs::Job;

/// Opens collection of a finalized invoice on the payment rail (a
/// PaymentIntent), when one is configured.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CollectInvoice {
    /// The invoice.
    pub invoice_id: InvoiceId,
}

impl Job for CollectInvoice {
    const NAME: &'static str = "billing.collect_invoice";
    const DEDUPLICATED: bool = true;
}

/// An account's invoices or payments changed: its standing is evaluated
/// again and the dunning ladder walked ([`crate::dunning::evaluate`]).
/// Stored as the account's kind and id ([`AccountChanged::account`]).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccountChanged {
    /// `reseller` | `customer`.
    pub account_kind: String,
    /// The reseller or customer.
    pub account_id: Uuid,
}

impl AccountChanged {
    /// The account whose standing is evaluated.
    pub fn account(&self) -> Result<Account> {
        Account::parse(&self.account_kind, self.account_id)
    }
}

impl From<Account> for AccountChanged {
    fn from(account: Account) -> Self {
        Self {
            account_kind: account.kind().into(),
            account_id: account.id(),
        }
    }
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
    pub invoice_id: InvoiceId,
    /// The payment.
    pub payment_id: PaymentId,
    /// What the payment brought to this invoice.
    pub amount: Decimal,
    /// What the invoice still owed after it.
    pub due: Decimal,
}

impl Job for PaymentReceived {
    const NAME: &'static str = "billing.payment_received";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_changed_job_is_stored_as_a_kind_and_an_id() {
        let id = Uuid::now_v7();
        for account in [Account::Reseller(id.into()), Account::Customer(id.into())] {
            let job = AccountChanged::from(account);
            assert_eq!(
                serde_json::to_value(&job).unwrap(),
                serde_json::json!({ "account_kind": account.kind(), "account_id": id }),
            );
            assert_eq!(job.account().unwrap(), account);
        }
        let odd = AccountChanged {
            account_kind: "tenant".into(),
            account_id: id,
        };
        assert!(odd.account().is_err());
    }
}
