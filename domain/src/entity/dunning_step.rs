//! `dunning_steps`: every dunning action taken, once (its `dedup_key` is
//! unique), and the mail outbox: a row with `details` is a mail to send,
//! stamped `sent_at` once the SMTP server took it.

use sea_orm::entity::prelude::*;

use crate::ids::{DunningStepId, InvoiceId, ResellerId};

use crate::account::Account;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dunning_steps")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: DunningStepId,
    /// `reseller` | `customer` (see [`Model::account`]).
    pub account_kind: String,
    pub account_id: Uuid,
    /// Whose world the account is in.
    pub reseller_id: Option<ResellerId>,
    /// The invoice it was about.
    pub invoice_id: Option<InvoiceId>,
    /// Its step's place in the ladder; -1 for a payment's receipt.
    pub step_index: i32,
    /// The action's name (`reminder`, `suspend`, …, `payment_received`).
    pub action: String,
    /// Taking it again under the same key is a no-op: the ladder's
    /// `kind:id:episode:step:action`, or `payment:<id>`.
    pub dedup_key: String,
    pub taken_at: DateTimeUtc,
    /// JSON: the mail to send (dunning's `Mail`), if any.
    pub details: Option<String>,
    pub sent_at: Option<DateTimeUtc>,
    /// The run of being overdue it belongs to, named by its oldest unpaid
    /// invoice; `None` for a payment's receipt.
    pub episode: Option<String>,
}

impl Model {
    /// The paying party it was taken for.
    pub fn account(&self) -> crate::Result<Account> {
        Account::parse(&self.account_kind, self.account_id)
    }
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
