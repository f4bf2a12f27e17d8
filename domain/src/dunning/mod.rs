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

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, Statement, TransactionTrait};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::billing::invoices::{InvoiceAmounts, status};
use crate::entity::{invoice, tenant};
use crate::error::{Error, Result};
use crate::tenancy::jobs::SyncTenant;
use crate::tenancy::{SuspensionReason, TenantState};
use policy::{Action, Overrides, Step};

/// Sends one recorded mail.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SendMail {
    /// The `dunning_steps` row holding it.
    pub step_id: Uuid,
}

impl crate::jobs::Job for SendMail {
    const NAME: &'static str = "dunning.send_mail";
    const DEDUPLICATED: bool = true;
}

/// A mail as recorded: the template to render and its values.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Mail {
    /// `reminder`, `suspension`, `termination_warning`, `payment_received`, `reseller_notice`.
    pub template: String,
    /// Recipient address.
    pub to: String,
    /// Sender display name (the reseller's brand on retail mail).
    pub from_name: String,
    /// Sender address, when the brand has its own.
    pub from_address: Option<String>,
    /// Template values.
    pub values: std::collections::BTreeMap<String, String>,
}

fn stmt(db: &impl ConnectionTrait, sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    Statement::from_sql_and_values(db.get_database_backend(), sql, values)
}

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
            biller: crate::billing::close::COOP_NAME.into(),
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
        biller: brand.unwrap_or_else(|| crate::billing::close::COOP_NAME.into()),
        biller_address: c.try_get("", "support_email")?,
    })
}

/// Records an action once under `dedup` (with its mail, if any) and
/// enqueues the mail; `false` if it was taken before.
#[allow(clippy::too_many_arguments)]
async fn record(
    txn: &impl ConnectionTrait,
    kind: &str,
    id: Uuid,
    reseller: Option<Uuid>,
    invoice: Option<Uuid>,
    step_index: i32,
    action: &str,
    dedup: &str,
    episode: Option<&str>,
    mail: Option<&Mail>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let row_id = Uuid::now_v7();
    let details = mail.map(|m| serde_json::to_string(m).unwrap_or_default());
    let inserted = txn
        .execute_raw(stmt(
            txn,
            "INSERT INTO dunning_steps (id, account_kind, account_id, reseller_id, invoice_id, step_index, action, dedup_key, taken_at, details, sent_at, episode) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, $11) ON CONFLICT (dedup_key) DO NOTHING",
            vec![
                row_id.into(),
                kind.into(),
                id.into(),
                reseller.into(),
                invoice.into(),
                step_index.into(),
                action.into(),
                dedup.into(),
                now.into(),
                details.into(),
                episode.map(str::to_owned).into(),
            ],
        ))
        .await?
        .rows_affected();
    if inserted == 1 && mail.is_some() {
        crate::jobs::enqueue(txn, &SendMail { step_id: row_id }, now).await?;
    }
    Ok(inserted == 1)
}

fn money(amount: Decimal, currency: &str) -> String {
    let digits = crate::billing::invoices::minor_digits(currency);
    let a = crate::decimal::round_money(amount, digits);
    format!("{a} {currency}")
}

/// Records the "payment received" mail for a payment (in its transaction).
pub(crate) async fn payment_received(
    txn: &impl ConnectionTrait,
    inv: &invoice::Model,
    payment_id: Uuid,
    amount: Decimal,
    now: DateTime<Utc>,
) -> Result<()> {
    let (kind, id) = inv.account();
    let p = party(txn, kind, id).await?;
    let Some(to) = p.email.clone() else {
        return Ok(());
    };
    let mut values = std::collections::BTreeMap::new();
    values.insert("name".into(), p.name.clone());
    values.insert("brand".into(), p.biller.clone());
    values.insert("amount".into(), money(amount, &inv.currency));
    values.insert("invoice".into(), inv.number.clone().unwrap_or_default());
    values.insert("due".into(), money(inv.outstanding(), &inv.currency));
    let mail = Mail {
        template: "payment_received".into(),
        to,
        from_name: p.biller.clone(),
        from_address: p.biller_address.clone(),
        values,
    };
    record(
        txn,
        kind,
        id,
        inv.reseller_id,
        Some(inv.id),
        -1,
        "payment_received",
        &format!("payment:{payment_id}"),
        None,
        Some(&mail),
        now,
    )
    .await?;
    Ok(())
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
    let txn = db.begin().await?;
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

#[allow(clippy::too_many_arguments)]
async fn mail_for(
    db: &impl ConnectionTrait,
    action: &Action,
    kind: &str,
    p: &Party,
    oldest: &invoice::Model,
    outstanding: Decimal,
    days: i64,
    step: &Step,
) -> Result<Option<Mail>> {
    let template = match action {
        Action::Reminder => "reminder",
        Action::Suspend => "suspension",
        Action::WarnTermination => "termination_warning",
        Action::NotifyReseller => "reseller_notice",
        Action::LateFee { .. } | Action::Terminate => return Ok(None),
    };
    let mut values = std::collections::BTreeMap::new();
    values.insert("name".into(), p.name.clone());
    values.insert("brand".into(), p.biller.clone());
    values.insert("amount".into(), money(outstanding, &oldest.currency));
    values.insert("invoice".into(), oldest.number.clone().unwrap_or_default());
    values.insert(
        "due_date".into(),
        oldest
            .due_at
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
    );
    values.insert("days".into(), days.to_string());
    values.insert("step".into(), step.name.clone());
    let (to, from_name, from_address) = if template == "reseller_notice" {
        // To the reseller, about its customer; from the co-op.
        let Some(r) = p.reseller.filter(|_| kind == "customer") else {
            return Ok(None);
        };
        let rp = party(db, "reseller", r).await?;
        values.insert("customer".into(), p.name.clone());
        values.insert("brand".into(), crate::billing::close::COOP_NAME.into());
        (rp.email, crate::billing::close::COOP_NAME.to_owned(), None)
    } else {
        (p.email.clone(), p.biller.clone(), p.biller_address.clone())
    };
    Ok(to.map(|to| Mail {
        template: template.into(),
        to,
        from_name,
        from_address,
        values,
    }))
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

async fn suspend_overdue(
    txn: &impl ConnectionTrait,
    kind: &str,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<u64> {
    // A customer's tenants paid ahead are exempt from its own arrears; a
    // reseller's arrears to the co-op spare none of its tenants (a reseller
    // sets its customers' prepaid terms itself).
    let ids = tenant_ids(
        txn,
        &format!(
            "SELECT id FROM tenants WHERE {} = $1 AND state = 'active'{}",
            scope(kind),
            if kind == "customer" {
                " AND (prepaid_until IS NULL OR prepaid_until <= $2)"
            } else {
                " AND $2 = $2"
            }
        ),
        vec![id.into(), now.into()],
    )
    .await?;
    for t in &ids {
        txn.execute_raw(stmt(
            txn,
            "UPDATE tenants SET state = $2, suspension_reason = $3, suspension_note = $4, suspended_at = $5, updated_at = $5 WHERE id = $1 AND state = 'active'",
            vec![
                (*t).into(),
                TenantState::Suspended.as_str().into(),
                SuspensionReason::Overdue.as_str().into(),
                format!("{kind} overdue").into(),
                now.into(),
            ],
        ))
        .await?;
        crate::jobs::enqueue(txn, &SyncTenant { tenant_id: *t }, now).await?;
    }
    Ok(ids.len() as u64)
}

async fn resume_overdue(
    txn: &impl ConnectionTrait,
    kind: &str,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<u64> {
    // Only what this account's arrears suspended: never a manual suspension.
    let note = format!("{kind} overdue");
    let rows = txn
        .query_all_raw(stmt(
            txn,
            &format!(
                "SELECT id, customer_id, reseller_id FROM tenants WHERE {} = $1 AND state = 'suspended' AND suspension_reason = 'overdue' AND suspension_note = $2",
                scope(kind)
            ),
            vec![id.into(), note.clone().into()],
        ))
        .await?;
    let mut resumed = 0;
    for r in rows {
        let t: Uuid = r.try_get("", "id")?;
        // The other paying party of the tenant (its reseller, or its customer)
        // may be suspended too: the suspension is then that party's.
        let (other_kind, other): (&str, Option<Uuid>) = if kind == "customer" {
            ("reseller", r.try_get("", "reseller_id")?)
        } else {
            ("customer", Some(r.try_get("", "customer_id")?))
        };
        let other_suspended = match other {
            Some(o) => txn
                .query_one_raw(stmt(
                    txn,
                    "SELECT standing FROM account_standings WHERE account_kind = $1 AND account_id = $2 AND standing = 'suspended'",
                    vec![other_kind.into(), o.into()],
                ))
                .await?
                .is_some(),
            None => false,
        };
        if other_suspended {
            txn.execute_raw(stmt(
                txn,
                "UPDATE tenants SET suspension_note = $3, updated_at = $4 WHERE id = $1 AND state = 'suspended' AND suspension_reason = 'overdue' AND suspension_note = $2",
                vec![t.into(), note.clone().into(), format!("{other_kind} overdue").into(), now.into()],
            ))
            .await?;
            continue;
        }
        let changed = txn
            .execute_raw(stmt(
                txn,
                "UPDATE tenants SET state = 'active', suspension_reason = NULL, suspension_note = NULL, suspended_at = NULL, updated_at = $3 \
                 WHERE id = $1 AND state = 'suspended' AND suspension_reason = 'overdue' AND suspension_note = $2",
                vec![t.into(), note.clone().into(), now.into()],
            ))
            .await?
            .rows_affected();
        if changed == 1 {
            crate::jobs::enqueue(txn, &SyncTenant { tenant_id: t }, now).await?;
            resumed += 1;
        }
    }
    Ok(resumed)
}

async fn terminate_all(
    txn: &impl ConnectionTrait,
    kind: &str,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    let ids = tenant_ids(
        txn,
        &format!(
            "SELECT id FROM tenants WHERE {} = $1 AND state <> 'terminated'{}",
            scope(kind),
            if kind == "customer" {
                " AND (prepaid_until IS NULL OR prepaid_until <= $2)"
            } else {
                " AND $2 = $2"
            }
        ),
        vec![id.into(), now.into()],
    )
    .await?;
    for t in ids {
        txn.execute_raw(stmt(
            txn,
            "UPDATE tenants SET state = 'terminated', terminated_at = $2, updated_at = $2 WHERE id = $1",
            vec![t.into(), now.into()],
        ))
        .await?;
        crate::jobs::enqueue(txn, &SyncTenant { tenant_id: t }, now).await?;
    }
    Ok(())
}

async fn tenant_ids(
    db: &impl ConnectionTrait,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> Result<Vec<Uuid>> {
    db.query_all_raw(stmt(db, sql, values))
        .await?
        .iter()
        .map(|r| Ok(r.try_get("", "id")?))
        .collect()
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

/// A tenant within the grant's reach (outside it reads as not found).
async fn tenant_in_reach(
    txn: &impl ConnectionTrait,
    grant: &crate::auth::Grant,
    id: Uuid,
) -> Result<tenant::Model> {
    tenant::Entity::find_by_id(id)
        .one(txn)
        .await?
        .filter(|t| grant.reach.tenant(t.id, t.reseller_id))
        .ok_or_else(|| Error::not_found("tenantId", "tenant"))
}

/// Suspends a tenant by hand (`suspendTenant`): never lifted by a payment.
pub async fn suspend_tenant(
    db: &DatabaseConnection,
    actor: &crate::auth::Actor,
    tenant_id: Uuid,
    note: &str,
    now: DateTime<Utc>,
) -> Result<tenant::Model> {
    let grant = actor
        .principal
        .authorize(crate::auth::Permission::WriteTenants)?;
    let note = crate::tenancy::non_empty("reason", note, 500)?;
    let txn = db.begin().await?;
    let t = tenant_in_reach(&txn, &grant, tenant_id).await?;
    if t.state == TenantState::Terminated.as_str() || t.state == TenantState::Pending.as_str() {
        return Err(Error::Conflict {
            field: "tenantId",
            code: "NOT_ACTIVE",
            message: format!("the tenant is {}", t.state),
        });
    }
    if t.suspension_reason.as_deref() == Some(SuspensionReason::Overdue.as_str()) {
        // Re-labelling it manual would let `resumeTenant` lift an arrears suspension.
        return Err(Error::Conflict {
            field: "tenantId",
            code: "SUSPENDED_FOR_ARREARS",
            message: "the tenant is suspended for non-payment already".into(),
        });
    }
    txn.execute_raw(stmt(
        &txn,
        "UPDATE tenants SET state = 'suspended', suspension_reason = 'manual', suspension_note = $2, suspended_at = $3, updated_at = $3 WHERE id = $1",
        vec![t.id.into(), note.clone().into(), now.into()],
    ))
    .await?;
    crate::jobs::enqueue(&txn, &SyncTenant { tenant_id: t.id }, now).await?;
    crate::audit::record(
        &txn,
        actor,
        &grant,
        crate::audit::Change {
            action: "suspendTenant",
            object_type: "Tenant",
            object_id: t.id,
            reseller_id: t.reseller_id,
            details: serde_json::json!({ "reason": note }),
        },
        now,
    )
    .await?;
    let model = tenant_in_reach(&txn, &grant, t.id).await?;
    txn.commit().await?;
    Ok(model)
}

/// Lifts a manual suspension (`resumeTenant`). An overdue suspension is
/// lifted by payment, not by hand.
pub async fn resume_tenant(
    db: &DatabaseConnection,
    actor: &crate::auth::Actor,
    tenant_id: Uuid,
    now: DateTime<Utc>,
) -> Result<tenant::Model> {
    let grant = actor
        .principal
        .authorize(crate::auth::Permission::WriteTenants)?;
    let txn = db.begin().await?;
    let t = tenant_in_reach(&txn, &grant, tenant_id).await?;
    if t.state != TenantState::Suspended.as_str() {
        return Err(Error::Conflict {
            field: "tenantId",
            code: "NOT_SUSPENDED",
            message: format!("the tenant is {}", t.state),
        });
    }
    if t.suspension_reason.as_deref() == Some(SuspensionReason::Overdue.as_str()) {
        return Err(Error::Conflict {
            field: "tenantId",
            code: "ACCOUNT_OVERDUE",
            message:
                "suspended for non-payment: a payment that brings the account current resumes it"
                    .into(),
        });
    }
    txn.execute_raw(stmt(
        &txn,
        "UPDATE tenants SET state = 'active', suspension_reason = NULL, suspension_note = NULL, suspended_at = NULL, updated_at = $2 WHERE id = $1",
        vec![t.id.into(), now.into()],
    ))
    .await?;
    crate::jobs::enqueue(&txn, &SyncTenant { tenant_id: t.id }, now).await?;
    // Its accounts decide again: one may be suspended for arrears.
    account_changed(&txn, t.customer_id, t.reseller_id, now).await?;
    crate::audit::record(
        &txn,
        actor,
        &grant,
        crate::audit::Change {
            action: "resumeTenant",
            object_type: "Tenant",
            object_id: t.id,
            reseller_id: t.reseller_id,
            details: serde_json::json!({}),
        },
        now,
    )
    .await?;
    let model = tenant_in_reach(&txn, &grant, t.id).await?;
    txn.commit().await?;
    Ok(model)
}

/// An account's standing as stored, with its next step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StandingView {
    /// `current`, `overdue`, `suspended`, `terminated`.
    pub standing: String,
    /// The last step taken in this episode.
    pub last_step: Option<i32>,
    /// The next step's name.
    pub next_step: Option<String>,
    /// When it falls due.
    pub next_step_at: Option<DateTime<Utc>>,
}

/// Reads an account's standing (the caller has read the account).
pub async fn standing_of(db: &impl ConnectionTrait, kind: &str, id: Uuid) -> Result<StandingView> {
    let row = db
        .query_one_raw(stmt(
            db,
            "SELECT standing, last_step, next_step_at, reseller_id FROM account_standings WHERE account_kind = $1 AND account_id = $2",
            vec![kind.into(), id.into()],
        ))
        .await?;
    let Some(row) = row else {
        return Ok(StandingView {
            standing: "current".into(),
            last_step: None,
            next_step: None,
            next_step_at: None,
        });
    };
    let last_step: Option<i32> = row.try_get("", "last_step")?;
    let next_step_at: Option<DateTime<Utc>> = row.try_get("", "next_step_at")?;
    let reseller: Option<Uuid> = row.try_get("", "reseller_id")?;
    let next_step = if next_step_at.is_some() {
        let steps = ladder(db, kind, reseller.filter(|_| kind == "customer")).await?;
        let i = last_step.map_or(0, |l| l + 1);
        steps
            .get(usize::try_from(i).unwrap_or(usize::MAX))
            .map(|s| s.name.clone())
    } else {
        None
    };
    Ok(StandingView {
        standing: row.try_get("", "standing")?,
        last_step,
        next_step,
        next_step_at,
    })
}

/// One step taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TakenStep {
    /// The step's position in the ladder (-1: a payment's receipt).
    pub step_index: i32,
    /// The action.
    pub action: String,
    /// When.
    pub taken_at: DateTime<Utc>,
    /// When its mail went out.
    pub sent_at: Option<DateTime<Utc>>,
    /// The invoice it was about.
    pub invoice_id: Option<Uuid>,
}

/// The dunning history of an account, oldest first (the caller has read the account).
pub async fn history(db: &impl ConnectionTrait, kind: &str, id: Uuid) -> Result<Vec<TakenStep>> {
    db.query_all_raw(stmt(
        db,
        "SELECT step_index, action, taken_at, sent_at, invoice_id FROM dunning_steps WHERE account_kind = $1 AND account_id = $2 ORDER BY taken_at, id",
        vec![kind.into(), id.into()],
    ))
    .await?
    .iter()
    .map(|r| {
        Ok(TakenStep {
            step_index: r.try_get("", "step_index")?,
            action: r.try_get("", "action")?,
            taken_at: r.try_get("", "taken_at")?,
            sent_at: r.try_get("", "sent_at")?,
            invoice_id: r.try_get("", "invoice_id")?,
        })
    })
    .collect()
}

/// Sets a tenant's prepaid term (`setTenantPrepaidUntil`): a tenant paid
/// ahead is not suspended or terminated for its account's arrears.
pub async fn set_prepaid_until(
    db: &DatabaseConnection,
    actor: &crate::auth::Actor,
    tenant_id: Uuid,
    until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<tenant::Model> {
    let grant = actor
        .principal
        .authorize(crate::auth::Permission::WriteTenants)?;
    let txn = db.begin().await?;
    let t = tenant_in_reach(&txn, &grant, tenant_id).await?;
    txn.execute_raw(stmt(
        &txn,
        "UPDATE tenants SET prepaid_until = $2, updated_at = $3 WHERE id = $1",
        vec![t.id.into(), until.into(), now.into()],
    ))
    .await?;
    crate::audit::record(
        &txn,
        actor,
        &grant,
        crate::audit::Change {
            action: "setTenantPrepaidUntil",
            object_type: "Tenant",
            object_id: t.id,
            reseller_id: t.reseller_id,
            details: serde_json::json!({ "prepaidUntil": until }),
        },
        now,
    )
    .await?;
    let model = tenant_in_reach(&txn, &grant, t.id).await?;
    txn.commit().await?;
    Ok(model)
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
