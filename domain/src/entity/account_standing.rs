//! `account_standings`: one row per paying party that dunning has looked at,
//! written by dunning alone. An account without a row is current.

use sea_orm::entity::prelude::*;

use crate::ids::{AccountStandingId, ResellerId};

use crate::account::Account;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_standings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: AccountStandingId,
    /// `reseller` | `customer` (see [`Model::account`]).
    pub account_kind: String,
    pub account_id: Uuid,
    /// Whose world the account is in: a reseller's own, a customer's reseller.
    pub reseller_id: Option<ResellerId>,
    pub standing: Standing,
    /// The last step of the ladder whose trigger held in this episode.
    pub last_step: Option<i32>,
    /// When the next step falls due; `None` when none waits.
    pub next_step_at: Option<DateTimeUtc>,
    /// JSON: the customer's exceptions to its ladder (dunning's `Overrides`).
    pub overrides: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl Model {
    /// The paying party the row is about.
    pub fn account(&self) -> crate::Result<Account> {
        Account::parse(&self.account_kind, self.account_id)
    }
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

super::stored_enum!(
    /// Where an account stands with its biller.
    Standing {
        /// Nothing past due.
        Current = "current",
        /// Past due; the ladder is being walked.
        Overdue = "overdue",
        /// A suspend step was taken: its tenants are suspended.
        Suspended = "suspended",
        /// A terminate step was taken. Final: a payment does not undo it.
        Terminated = "terminated",
    }
);
