//! An account's standing as its invoices make it: `current` while nothing
//! is past due, `overdue` once an open invoice is. Suspension and
//! termination are the dunning ladder's to set; this never lifts them.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement};
use serde::Serialize;
use uuid::Uuid;

use super::invoices::{InvoiceAmounts, status};
use crate::entity::invoice;
use crate::error::Result;

/// What an account owes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Balance {
    /// Open invoices.
    pub open_invoices: u32,
    /// Of which past due.
    pub overdue_invoices: u32,
    /// Outstanding on all open invoices.
    pub outstanding: Decimal,
    /// The oldest due date passed.
    pub oldest_due: Option<DateTime<Utc>>,
}

/// The account's balance at `now`.
pub async fn balance(
    db: &impl ConnectionTrait,
    kind: &str,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Balance> {
    let col = if kind == "reseller" {
        invoice::Column::RecipientResellerId
    } else {
        invoice::Column::RecipientCustomerId
    };
    let open = invoice::Entity::find()
        .filter(col.eq(id))
        .filter(invoice::Column::Status.eq(status::OPEN))
        .all(db)
        .await?;
    let mut b = Balance::default();
    for inv in &open {
        b.open_invoices += 1;
        b.outstanding += inv.outstanding();
        if let Some(due) = inv.due_at.filter(|d| *d < now) {
            b.overdue_invoices += 1;
            b.oldest_due = Some(b.oldest_due.map_or(due, |o| o.min(due)));
        }
    }
    Ok(b)
}

/// Re-derives `current` / `overdue` for an account and stores it; returns
/// the standing now held.
pub async fn refresh(
    db: &impl ConnectionTrait,
    kind: &str,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<String> {
    let b = balance(db, kind, id, now).await?;
    let derived = if b.overdue_invoices > 0 {
        "overdue"
    } else {
        "current"
    };
    let reseller: Option<Uuid> = if kind == "reseller" {
        Some(id)
    } else {
        db.query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT reseller_id FROM customers WHERE id = $1",
            [id.into()],
        ))
        .await?
        .and_then(|r| r.try_get("", "reseller_id").ok())
        .flatten()
    };
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "INSERT INTO account_standings (id, account_kind, account_id, reseller_id, standing, last_step, next_step_at, overrides, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, NULL, NULL, NULL, $6, $6) \
         ON CONFLICT (account_kind, account_id) DO UPDATE SET standing = EXCLUDED.standing, updated_at = EXCLUDED.updated_at \
         WHERE account_standings.standing IN ('current', 'overdue')",
        [Uuid::now_v7().into(), kind.into(), id.into(), reseller.into(), derived.into(), now.into()],
    ))
    .await?;
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT standing FROM account_standings WHERE account_kind = $1 AND account_id = $2",
            [kind.into(), id.into()],
        ))
        .await?;
    Ok(row
        .and_then(|r| r.try_get("", "standing").ok())
        .unwrap_or_else(|| derived.to_owned()))
}
