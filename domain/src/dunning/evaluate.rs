//! The evaluator: loads an account's facts, plans ([`super::plan`]) and
//! applies the plan, in one transaction.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set,
};
use serde::Serialize;
use uuid::Uuid;

use super::mail::{Entry, Overdue, mail_for, record};
use super::plan::{self, Effect, Facts, OpenInvoice, Plan, Recorded};
use super::policy::{Overrides, Step};
use super::tenants::{resume_overdue, suspend_overdue, terminate_all};
use super::{Party, ladder, party, standing_row, steps_taken};
use crate::account::Account;
use crate::billing::invoices::{InvoiceAmounts, InvoiceStatus};
use crate::db::stmt;
use crate::entity::account_standing;
use crate::entity::{dunning_step, invoice};
use crate::error::{Error, Result};
use crate::ids::ResellerId;
use crate::usecase::SystemChange;

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

/// Evaluates an account now: takes every step that is due and that this
/// episode has not taken, performs its actions and stores the standing
/// (see the module documentation of [`super`]).
pub async fn evaluate(
    db: &DatabaseConnection,
    account: Account,
    now: DateTime<Utc>,
) -> Result<Evaluated> {
    let txn = SystemChange::begin(db).await?;
    let party = party(&txn, account).await?;
    let row = lock_standing(&txn, account, party.world(account), now).await?;
    let overrides: Overrides = row
        .overrides
        .as_deref()
        .and_then(|o| serde_json::from_str(o).ok())
        .unwrap_or_default();
    let open = open_invoices(&txn, account).await?;
    let steps = ladder(&txn, account, party.reseller).await?;
    let recorded: Vec<Recorded> = steps_taken(account)
        .filter(dunning_step::Column::Episode.is_not_null())
        .all(&txn)
        .await?
        .iter()
        .map(Recorded::from)
        .collect();
    let facts: Vec<OpenInvoice> = open
        .iter()
        .map(|i| OpenInvoice {
            id: i.id,
            due_at: i.due_at,
            outstanding: i.outstanding(),
            late_fee: is_late_fee(i),
        })
        .collect();
    let plan = plan::plan(
        &Facts {
            account,
            held: row.standing,
            overrides: &overrides,
            steps: &steps,
            invoices: &facts,
            recorded: &recorded,
        },
        now,
    );
    let taken = apply(&txn, account, &party, &plan, &open, &steps, now).await?;
    let mut row: account_standing::ActiveModel = row.into();
    row.standing = Set(plan.standing);
    row.last_step = Set(plan.last_step);
    row.next_step_at = Set(plan.next.map(|n| n.1));
    row.updated_at = Set(now);
    row.update(&txn).await?;
    txn.commit().await?;
    Ok(Evaluated {
        standing: plan.standing.as_str().into(),
        taken,
        next: plan.next,
    })
}

/// The account's standing row, created (current) if missing, then locked
/// for this evaluation: evaluations of one account take their turns.
async fn lock_standing(
    txn: &impl ConnectionTrait,
    account: Account,
    world: Option<ResellerId>,
    now: DateTime<Utc>,
) -> Result<account_standing::Model> {
    txn.execute_raw(stmt(
        txn,
        "INSERT INTO account_standings (id, account_kind, account_id, reseller_id, standing, last_step, next_step_at, overrides, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'current', NULL, NULL, NULL, $5, $5) ON CONFLICT (account_kind, account_id) DO NOTHING",
        vec![Uuid::now_v7().into(), account.kind().into(), account.id().into(), world.into(), now.into()],
    ))
    .await?;
    let mut q = standing_row(account);
    if crate::db::is_postgres(txn) {
        q = sea_orm::QuerySelect::lock_exclusive(q);
    }
    q.one(txn)
        .await?
        .ok_or_else(|| Error::not_found("accountId", "account"))
}

/// The account's open invoices that still owe something.
async fn open_invoices(
    txn: &impl ConnectionTrait,
    account: Account,
) -> Result<Vec<invoice::Model>> {
    let recipient = match account {
        Account::Reseller(id) => invoice::Column::RecipientResellerId.eq(id),
        Account::Customer(id) => invoice::Column::RecipientCustomerId.eq(id),
    };
    Ok(invoice::Entity::find()
        .filter(recipient)
        .filter(invoice::Column::Status.eq(InvoiceStatus::Open))
        .all(txn)
        .await?
        .into_iter()
        .filter(|i| !i.outstanding().is_zero())
        .collect())
}

/// Whether an invoice is a late fee (made by the ladder, not by a close).
fn is_late_fee(inv: &invoice::Model) -> bool {
    inv.billing_period_id.is_none()
        && inv
            .close_key
            .as_deref()
            .is_some_and(|k| k.ends_with(":late_fee"))
}

/// Applies `plan` (see [`Plan`] for the order), returning what it took. An
/// action whose record exists already (a concurrent evaluation's) has no
/// effect and is not reported.
async fn apply(
    txn: &impl ConnectionTrait,
    account: Account,
    party: &Party,
    plan: &Plan,
    open: &[invoice::Model],
    steps: &[Step],
    now: DateTime<Utc>,
) -> Result<Vec<String>> {
    let mut taken = Vec::new();
    if plan.resume {
        let resumed = resume_overdue(txn, account, now).await?;
        if plan.report_resumed && resumed > 0 {
            taken.push(format!("resumed {resumed} tenant(s)"));
        }
    }
    if let Some(episode) = &plan.episode {
        let oldest = open
            .iter()
            .find(|i| i.id == episode.invoice)
            .ok_or_else(|| Error::not_found("accountId", "invoice"))?;
        let name = episode.name();
        let overdue = Overdue {
            invoice: oldest,
            outstanding: episode.outstanding,
            days: episode.days_past_due,
        };
        for a in &plan.actions {
            let step = &steps[a.step];
            let mail = if a.mails {
                mail_for(txn, account, party, &overdue, step, &a.action).await?
            } else {
                None
            };
            let entry = Entry {
                account,
                reseller: party.world(account),
                invoice: Some(oldest.id),
                step_index: a.step_index(),
                action: a.action.name(),
                dedup_key: &a.dedup_key,
                episode: Some(&name),
                mail: mail.as_ref(),
            };
            if !record(txn, &entry, now).await? {
                continue;
            }
            taken.push(format!("{}:{}", step.name, a.action.name()));
            match a.effect {
                Some(Effect::LateFee(amount)) => {
                    crate::billing::invoices::late_fee(txn, oldest, amount, &a.dedup_key, now)
                        .await?;
                }
                Some(Effect::Suspend) => {
                    suspend_overdue(txn, account, now).await?;
                }
                Some(Effect::Terminate) => {
                    terminate_all(txn, account, now).await?;
                }
                None => {}
            }
        }
    }
    if plan.resuspend {
        suspend_overdue(txn, account, now).await?;
    }
    Ok(taken)
}
