//! Dunning: the overdue ladder walked for each paying party, suspension of
//! its tenants on non-payment, resumption on payment.
//!
//! [`evaluate`] runs for an account whenever its invoices or payments
//! change (the `billing.account_changed` job) and hourly. In one
//! transaction it derives the account's standing from its invoices and
//! policy, takes every step whose trigger holds and that this episode has
//! not taken (an episode is one run of being overdue, named by its oldest
//! unpaid invoice), performs the step's actions, and records each action
//! under a unique dedup key. A step is therefore taken once, however often
//! or late the evaluation runs, and none is skipped: a late run takes all
//! the steps that became due, in order.
//!
//! Mail is an outbox: the action's row holds the mail and a
//! `dunning.send_mail` job is enqueued in the same transaction; the job
//! sends it and then stamps `sent_at` (see the worker's mail job).

pub mod policy;

use crate::usecase::SystemChange;
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::billing::invoices::{InvoiceAmounts, status};
use crate::db::stmt;
use crate::entity::{invoice, tenant};
use crate::error::{Error, Result};
use crate::tenancy::jobs::SyncTenant;
use crate::tenancy::{SuspensionReason, TenantState};
use policy::{Action, Overrides, Step};

mod mail;
mod tenants;
mod views;

pub use mail::*;
pub use tenants::*;
pub use views::*;

/// Who an account is, for mail.
struct Party {
    name: String,
    email: Option<String>,
    /// Its reseller (a customer's), else `None`.
    reseller: Option<Uuid>,
    /// The brand that bills it and that brand's address.
    biller: String,
    biller_address: Option<String>,
}

async fn party(db: &impl ConnectionTrait, kind: &str, id: Uuid) -> Result<Party> {
    if kind == "reseller" {
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
        return Ok(Party {
            name: r.try_get("", "brand_name")?,
            email: billing.or(member),
            reseller: None,
            biller: crate::COOP_NAME.into(),
            biller_address: None,
        });
    }
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

/// What an evaluation found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Evaluated {
    /// `current`, `overdue`, `suspended` or `terminated`.
    pub standing: String,
    /// Actions taken by this evaluation.
    pub taken: Vec<String>,
    /// The next step not yet taken, and when it falls due.
    pub next: Option<(i32, DateTime<Utc>)>,
}

/// The ladder that applies to an account: a reseller's customers walk
/// their reseller's; resellers and direct customers the co-op's.
async fn ladder(
    db: &impl ConnectionTrait,
    kind: &str,
    reseller: Option<Uuid>,
) -> Result<Vec<Step>> {
    let owner = if kind == "customer" { reseller } else { None };
    Ok(policy::get(db, owner)
        .await?
        .map(|p| p.steps)
        .unwrap_or_default())
}

/// Whether an invoice is a late fee (made by the ladder, not by a close).
fn is_late_fee(inv: &invoice::Model) -> bool {
    inv.billing_period_id.is_none()
        && inv
            .close_key
            .as_deref()
            .is_some_and(|k| k.ends_with(":late_fee"))
}

/// Evaluates an account now: see the module documentation.
pub async fn evaluate(
    db: &DatabaseConnection,
    kind: &str,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Evaluated> {
    let txn = SystemChange::begin(db).await?;
    let p = party(&txn, kind, id).await?;
    let world = if kind == "reseller" {
        Some(id)
    } else {
        p.reseller
    };
    // The account's row, created if missing, then locked for this evaluation.
    txn.execute_raw(stmt(
        &txn,
        "INSERT INTO account_standings (id, account_kind, account_id, reseller_id, standing, last_step, next_step_at, overrides, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'current', NULL, NULL, NULL, $5, $5) ON CONFLICT (account_kind, account_id) DO NOTHING",
        vec![Uuid::now_v7().into(), kind.into(), id.into(), world.into(), now.into()],
    ))
    .await?;
    let row = txn
        .query_one_raw(stmt(
            &txn,
            &format!(
                "SELECT standing, overrides FROM account_standings WHERE account_kind = $1 AND account_id = $2{}",
                if crate::db::is_postgres(&txn) { " FOR UPDATE" } else { "" }
            ),
            vec![kind.into(), id.into()],
        ))
        .await?
        .ok_or_else(|| Error::not_found("accountId", "account"))?;
    let held: String = row.try_get("", "standing")?;
    let overrides: Overrides = row
        .try_get::<Option<String>>("", "overrides")?
        .and_then(|o| serde_json::from_str(&o).ok())
        .unwrap_or_default();

    let col = if kind == "reseller" {
        "recipient_reseller_id"
    } else {
        "recipient_customer_id"
    };
    let open: Vec<invoice::Model> = invoice::Entity::find()
        .filter_by_col(col, id)
        .all(&txn)
        .await?
        .into_iter()
        .filter(|i| i.status == status::OPEN && !i.outstanding().is_zero())
        .collect();
    let overdue: Vec<&invoice::Model> = open
        .iter()
        .filter(|i| i.due_at.is_some_and(|d| d < now))
        .collect();
    // Late fees follow an episode; they never start one or count as one.
    let charged: Vec<&invoice::Model> = overdue
        .iter()
        .copied()
        .filter(|i| !is_late_fee(i))
        .collect();
    // What is past due (not what is merely open): triggers and mail speak of it.
    let outstanding: Decimal = overdue.iter().map(|i| i.outstanding()).sum();
    let mut taken = Vec::new();

    if overrides.never_suspend && kind == "customer" {
        resume_overdue(&txn, kind, id, now).await?;
    }
    if overdue.is_empty() {
        let standing = if held == "terminated" {
            "terminated"
        } else {
            "current"
        };
        let resumed = resume_overdue(&txn, kind, id, now).await?;
        if resumed > 0 {
            taken.push(format!("resumed {resumed} tenant(s)"));
        }
        save(&txn, kind, id, standing, None, None, now).await?;
        txn.commit().await?;
        return Ok(Evaluated {
            standing: standing.into(),
            taken,
            next: None,
        });
    }

    let roots = if charged.is_empty() {
        &overdue
    } else {
        &charged
    };
    let oldest = roots
        .iter()
        .min_by_key(|i| (i.due_at, i.id))
        .copied()
        .ok_or_else(|| Error::not_found("accountId", "invoice"))?;
    let due = oldest.due_at.unwrap_or(now);
    let grace = Duration::days(overrides.extra_grace_days);
    let days = (now - due - grace).num_days();
    let episode = oldest.id.to_string();
    let steps = ladder(&txn, kind, p.reseller).await?;
    let mut next = None;
    let mut last_taken: Option<i32> = None;
    for (i, step) in steps.iter().enumerate() {
        let index = i32::try_from(i).unwrap_or(i32::MAX);
        let t = &step.trigger;
        let holds = days >= t.days_past_due
            && t.min_balance.is_none_or(|b| outstanding >= b)
            && t.min_unpaid_invoices
                .is_none_or(|n| charged.len() >= n as usize);
        if !holds {
            if next.is_none() {
                next = Some((index, due + grace + Duration::days(t.days_past_due)));
            }
            // Later steps wait for this one: the ladder is walked in order.
            break;
        }
        last_taken = Some(index);
        for action in &step.actions {
            let dedup = format!("{kind}:{id}:{episode}:{i}:{}", action.name());
            let spared = overrides.never_suspend
                && matches!(
                    action,
                    Action::Suspend | Action::Terminate | Action::WarnTermination
                );
            let mail = if spared {
                None
            } else {
                mail_for(
                    &txn,
                    action,
                    kind,
                    &p,
                    oldest,
                    outstanding,
                    (now - due).num_days(),
                    step,
                )
                .await?
            };
            let fresh = record(
                &txn,
                kind,
                id,
                world,
                Some(oldest.id),
                index,
                action.name(),
                &dedup,
                Some(&episode),
                mail.as_ref(),
                now,
            )
            .await?;
            if !fresh {
                continue;
            }
            taken.push(format!("{}:{}", step.name, action.name()));
            match action {
                // No fee on a fee.
                Action::LateFee { amount } if !is_late_fee(oldest) => {
                    crate::billing::invoices::late_fee(&txn, oldest, *amount, &dedup, now).await?;
                }
                Action::Suspend if !overrides.never_suspend => {
                    suspend_overdue(&txn, kind, id, now).await?;
                }
                Action::Terminate if !overrides.never_suspend => {
                    terminate_all(&txn, kind, id, now).await?;
                }
                _ => {}
            }
        }
    }
    // The standing follows the steps this episode has taken.
    let actions: Vec<String> = txn
        .query_all_raw(stmt(
            &txn,
            "SELECT action FROM dunning_steps WHERE account_kind = $1 AND account_id = $2 AND episode = $3",
            vec![kind.into(), id.into(), episode.clone().into()],
        ))
        .await?
        .iter()
        .filter_map(|r| r.try_get::<String>("", "action").ok())
        .collect();
    let standing = if held == "terminated"
        || (actions.iter().any(|a| a == "terminate") && !overrides.never_suspend)
    {
        "terminated"
    } else if actions.iter().any(|a| a == "suspend") && !overrides.never_suspend {
        // A suspend step taken earlier may find tenants that came back
        // (a manual resume, a new tenant): they are suspended again.
        suspend_overdue(&txn, kind, id, now).await?;
        "suspended"
    } else {
        "overdue"
    };
    save(&txn, kind, id, standing, last_taken, next.map(|n| n.1), now).await?;
    txn.commit().await?;
    Ok(Evaluated {
        standing: standing.into(),
        taken,
        next,
    })
}

async fn save(
    txn: &impl ConnectionTrait,
    kind: &str,
    id: Uuid,
    standing: &str,
    last_step: Option<i32>,
    next_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<()> {
    txn.execute_raw(stmt(
        txn,
        "UPDATE account_standings SET standing = $3, last_step = $4, next_step_at = $5, updated_at = $6 WHERE account_kind = $1 AND account_id = $2",
        vec![kind.into(), id.into(), standing.into(), last_step.into(), next_at.into(), now.into()],
    ))
    .await?;
    Ok(())
}

/// The tenants an account's standing reaches: a customer's own; a
/// reseller's customers' tenants.
fn scope(kind: &str) -> &'static str {
    if kind == "reseller" {
        "reseller_id"
    } else {
        "customer_id"
    }
}

/// Enqueues the evaluation of a tenant's paying parties (its customer and
/// its reseller), in `txn`.
pub(crate) async fn account_changed(
    txn: &impl ConnectionTrait,
    customer: Uuid,
    reseller: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<()> {
    use crate::billing::jobs::AccountChanged;
    crate::jobs::enqueue(
        txn,
        &AccountChanged {
            account_kind: "customer".into(),
            account_id: customer,
        },
        now,
    )
    .await?;
    if let Some(r) = reseller {
        crate::jobs::enqueue(
            txn,
            &AccountChanged {
                account_kind: "reseller".into(),
                account_id: r,
            },
            now,
        )
        .await?;
    }
    Ok(())
}

/// Accounts to look at hourly: those with an open invoice past due, or a
/// standing that is not current.
pub async fn accounts_to_evaluate(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<Vec<(String, Uuid)>> {
    let mut out = Vec::new();
    for r in db
        .query_all_raw(stmt(
            db,
            "SELECT DISTINCT CASE WHEN recipient_reseller_id IS NOT NULL THEN 'reseller' ELSE 'customer' END AS kind, \
             COALESCE(recipient_reseller_id, recipient_customer_id) AS account FROM invoices WHERE status = 'open' AND due_at < $1",
            vec![now.into()],
        ))
        .await?
    {
        out.push((r.try_get("", "kind")?, r.try_get("", "account")?));
    }
    for r in db
        .query_all_raw(stmt(
            db,
            "SELECT account_kind, account_id FROM account_standings WHERE standing IN ('overdue', 'suspended')",
            vec![],
        ))
        .await?
    {
        let k: (String, Uuid) = (r.try_get("", "account_kind")?, r.try_get("", "account_id")?);
        if !out.contains(&k) {
            out.push(k);
        }
    }
    Ok(out)
}

trait FilterByCol {
    fn filter_by_col(self, col: &str, id: Uuid) -> Self;
}

impl FilterByCol for sea_orm::Select<invoice::Entity> {
    fn filter_by_col(self, col: &str, id: Uuid) -> Self {
        use sea_orm::{ColumnTrait, QueryFilter};
        if col == "recipient_reseller_id" {
            self.filter(invoice::Column::RecipientResellerId.eq(id))
        } else {
            self.filter(invoice::Column::RecipientCustomerId.eq(id))
        }
    }
}
