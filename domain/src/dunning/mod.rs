//! Dunning: the overdue ladder walked for each paying party, suspension of
//! its tenants on non-payment, resumption on payment.
//!
//! An account is evaluated whenever its invoices or payments change (the
//! `billing.account_changed` job) and hourly ([`evaluate`]). The ladder's
//! rules are a pure planner ([`plan`]): from the account's standing, its
//! open invoices, its ladder, overrides and the actions it has taken, it
//! decides which steps are due this episode. The evaluator loads those
//! facts, plans, and applies the plan in one transaction, recording each
//! action under a unique dedup key.
//!
//! Mail is an outbox: the action's row holds the mail and a
//! `dunning.send_mail` job is enqueued in the same transaction; the job
//! sends it and then stamps `sent_at` (see the worker's mail job).

pub mod plan;
pub mod policy;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};

use crate::account::Account;
use crate::billing::jobs::AccountChanged;
use crate::db::stmt;
use crate::entity::account_standing::{self, Standing};
use crate::entity::invoice::{self, InvoiceStatus};
use crate::entity::{dunning_step, tenant};
use crate::error::{Error, Result};
use crate::ids::{CustomerId, DunningStepId, InvoiceId, ResellerId, TenantId};
use crate::tenancy::{SuspensionReason, TenantState};
use crate::usecase::SystemChange;
use policy::{Action, Step};

mod evaluate;
mod mail;
mod tenants;
mod views;

pub use evaluate::*;
pub use mail::*;
pub use tenants::*;
pub use views::*;

/// Who an account is, for mail.
struct Party {
    name: String,
    email: Option<String>,
    /// Its reseller (a customer's), else `None`.
    reseller: Option<ResellerId>,
    /// The brand that bills it and that brand's address.
    biller: String,
    biller_address: Option<String>,
}

impl Party {
    /// The reseller whose world the account is in: a reseller's own, a
    /// customer's reseller (`None`: a direct customer, the co-op's).
    fn world(&self, account: Account) -> Option<ResellerId> {
        match account {
            Account::Reseller(id) => Some(id),
            Account::Customer(_) => self.reseller,
        }
    }
}

async fn party(db: &impl ConnectionTrait, account: Account) -> Result<Party> {
    match account {
        Account::Reseller(id) => {
            let r = db
                .query_one_raw(stmt(
                    db,
                    "SELECT r.brand_name, r.billing_email, m.email FROM resellers r JOIN members m ON m.id = r.member_id WHERE r.id = $1",
                    vec![id.into()],
                ))
                .await?
                .ok_or_else(|| Error::not_found("accountId", "reseller"))?;
            let billing: Option<String> = r.try_get("", "billing_email")?;
            let member: Option<String> = r.try_get("", "email")?;
            Ok(Party {
                name: r.try_get("", "brand_name")?,
                email: billing.or(member),
                reseller: None,
                biller: crate::COOP_NAME.into(),
                biller_address: None,
            })
        }
        Account::Customer(id) => {
            let c = db
                .query_one_raw(stmt(
                    db,
                    "SELECT c.name, c.billing_email, c.reseller_id, r.brand_name, r.support_email FROM customers c \
                     LEFT JOIN resellers r ON r.id = c.reseller_id WHERE c.id = $1",
                    vec![id.into()],
                ))
                .await?
                .ok_or_else(|| Error::not_found("accountId", "customer"))?;
            let brand: Option<String> = c.try_get("", "brand_name")?;
            Ok(Party {
                name: c.try_get("", "name")?,
                email: Some(c.try_get("", "billing_email")?),
                reseller: c.try_get("", "reseller_id")?,
                biller: brand.unwrap_or_else(|| crate::COOP_NAME.into()),
                biller_address: c.try_get("", "support_email")?,
            })
        }
    }
}

/// The ladder that applies to an account: a reseller's customers walk
/// their reseller's (`reseller`: the customer's); resellers and direct
/// customers the co-op's.
async fn ladder(
    db: &impl ConnectionTrait,
    account: Account,
    reseller: Option<ResellerId>,
) -> Result<Vec<Step>> {
    let owner = match account {
        Account::Customer(_) => reseller,
        Account::Reseller(_) => None,
    };
    Ok(policy::get(db, owner)
        .await?
        .map(|p| p.steps)
        .unwrap_or_default())
}

/// The `tenants` column naming the account: a customer's own tenants; a
/// reseller's customers' tenants.
fn tenants_column(account: Account) -> &'static str {
    match account {
        Account::Reseller(_) => "reseller_id",
        Account::Customer(_) => "customer_id",
    }
}

/// Enqueues the evaluation of a tenant's paying parties (its customer and
/// its reseller), in `txn`.
pub(crate) async fn account_changed(
    txn: &impl ConnectionTrait,
    customer: CustomerId,
    reseller: Option<ResellerId>,
    now: DateTime<Utc>,
) -> Result<()> {
    let accounts =
        std::iter::once(Account::Customer(customer)).chain(reseller.map(Account::Reseller));
    for account in accounts {
        crate::jobs::enqueue(txn, &AccountChanged::from(account), now).await?;
    }
    Ok(())
}

/// Accounts to look at hourly: those with an open invoice past due, or a
/// standing in which the ladder may still move.
pub async fn accounts_to_evaluate(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<Vec<Account>> {
    let mut out: Vec<Account> = Vec::new();
    for r in db
        .query_all_raw(stmt(
            db,
            "SELECT DISTINCT CASE WHEN recipient_reseller_id IS NOT NULL THEN 'reseller' ELSE 'customer' END AS kind, \
             COALESCE(recipient_reseller_id, recipient_customer_id) AS account FROM invoices WHERE status = $1 AND due_at < $2",
            vec![InvoiceStatus::Open.as_str().into(), now.into()],
        ))
        .await?
    {
        let kind: String = r.try_get("", "kind")?;
        out.push(Account::parse(&kind, r.try_get("", "account")?)?);
    }
    for row in account_standing::Entity::find()
        .filter(account_standing::Column::Standing.is_in([Standing::Overdue, Standing::Suspended]))
        .all(db)
        .await?
    {
        let account = row.account()?;
        if !out.contains(&account) {
            out.push(account);
        }
    }
    Ok(out)
}

/// The account's standing row (at most one).
fn standing_row(account: Account) -> sea_orm::Select<account_standing::Entity> {
    account_standing::Entity::find()
        .filter(account_standing::Column::AccountKind.eq(account.kind()))
        .filter(account_standing::Column::AccountId.eq(account.id()))
}

/// The account's recorded dunning actions.
fn steps_taken(account: Account) -> sea_orm::Select<dunning_step::Entity> {
    dunning_step::Entity::find()
        .filter(dunning_step::Column::AccountKind.eq(account.kind()))
        .filter(dunning_step::Column::AccountId.eq(account.id()))
}
