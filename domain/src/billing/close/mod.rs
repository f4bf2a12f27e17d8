//! Billing periods and their close.
//!
//! Periods are calendar months in UTC. Closing one stops it taking usage
//! (`closing`), then makes each invoice in its own transaction, keyed by
//! `close_key` (period, layer, recipient, currency): the invoice, its
//! lines, its number and its jobs commit together or not at all. A rerun
//! (after a crash, or a second call) skips the invoices that exist and
//! makes the rest, in the same order, so the numbers have no gaps. When all
//! are made the period is `closed`.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
};
use serde::Serialize;
use uuid::Uuid;

use super::charges::Charge;
use super::invoices;
use super::rating::{self, Layer, MeteredCharge, PlanTerms, RatedLine, Span};
use super::usage::{metric_defs, quantities};
use crate::auth::{Actor, Permission};
use crate::db::stmt;
use crate::decimal::{stored as fixed, to_stored as to_fixed};
use crate::entity::{billing_period, customer, invoice, invoice_line, plan, reseller, tenant};
use crate::error::{Error, Result};
use crate::ids::{
    BillableMetricId, BillingPeriodId, CustomerId, MemberId, PlanId, ResellerId, TenantId,
};
use crate::money::{minor_digits, to_cents};
use crate::usecase::{Mutation, SystemChange};

mod drafts;
mod persist;

use drafts::*;

/// How long after a period ends the periodic close waits for late usage.
pub const CLOSE_GRACE: Duration = Duration::hours(6);

/// The calendar month (UTC) holding `at`: `[start, end)`.
pub fn month_of(at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = Utc
        .with_ymd_and_hms(at.year(), at.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(at);
    let (y, m) = if at.month() == 12 {
        (at.year() + 1, 1)
    } else {
        (at.year(), at.month() + 1)
    };
    let end = Utc
        .with_ymd_and_hms(y, m, 1, 0, 0, 0)
        .single()
        .unwrap_or(at);
    (start, end)
}

/// What a close did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CloseReport {
    /// The period.
    pub period_id: BillingPeriodId,
    /// Invoices made by this call.
    pub created: u32,
    /// Invoices that existed already.
    pub existing: u32,
    /// Invoices still to make (when `max_invoices` stopped the call).
    pub remaining: u32,
    /// Invoices that could not be made, by close key, with why: the others
    /// were made, and the period stays `closing` so a later close retries
    /// these.
    pub failed: Vec<(String, String)>,
    /// `closing` or `closed`.
    pub state: String,
}

impl CloseReport {
    fn of(period_id: BillingPeriodId, state: String) -> Self {
        Self {
            period_id,
            created: 0,
            existing: 0,
            remaining: 0,
            failed: Vec::new(),
            state,
        }
    }
}

/// How to close.
#[derive(Clone, Copy, Debug)]
pub struct CloseOptions {
    /// Finalize (number and send) the invoices, or leave them drafts for review.
    pub finalize: bool,
    /// Make at most this many invoices in this call (the rest on the next).
    pub max_invoices: Option<usize>,
}

impl Default for CloseOptions {
    fn default() -> Self {
        Self {
            finalize: true,
            max_invoices: None,
        }
    }
}

/// Closes the month holding `period_start` (`closeBillingPeriod`, stewards).
pub async fn close_period(
    db: &DatabaseConnection,
    actor: &Actor,
    period_start: DateTime<Utc>,
    options: CloseOptions,
    now: DateTime<Utc>,
) -> Result<CloseReport> {
    let grant = actor.principal.authorize(Permission::WriteBilling)?;
    if !grant.reach.all {
        return Err(Error::Forbidden(
            "closing a billing period is for the co-op's stewards".into(),
        ));
    }
    let (start, end) = month_of(period_start);
    if start != period_start {
        return Err(Error::invalid(
            "periodStart",
            "NOT_A_PERIOD_START",
            format!(
                "billing periods are calendar months: the period holding {period_start} starts {start}"
            ),
        ));
    }
    if end > now {
        return Err(Error::invalid(
            "periodStart",
            "PERIOD_NOT_OVER",
            format!("the period ends {end}; it can be closed after that"),
        ));
    }
    let report = close(db, start, options, now).await?;
    // Each invoice was made in its own transaction; the audit event is the
    // close's own.
    let txn = Mutation::begin(db, actor, &grant, "closeBillingPeriod", now).await?;
    txn.commit(crate::audit::Change {
            object_type: "BillingPeriod",
            object_id: report.period_id.into(),
            reseller_id: None,
            details: serde_json::json!({ "created": report.created, "existing": report.existing, "state": report.state }),
        })
        .await?;
    Ok(report)
}

/// The period row for `[start, end)`, created if missing.
pub async fn ensure_period(
    db: &impl ConnectionTrait,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<billing_period::Model> {
    db.execute_raw(stmt(
        db,
        "INSERT INTO billing_periods (id, starts_at, ends_at, state, closed_at, created_at, updated_at) \
         VALUES ($1, $2, $3, 'open', NULL, $4, $4) ON CONFLICT DO NOTHING",
        vec![Uuid::now_v7().into(), start.into(), end.into(), now.into()],
    ))
    .await?;
    billing_period::Entity::find()
        .filter(billing_period::Column::StartsAt.eq(start))
        .filter(billing_period::Column::EndsAt.eq(end))
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("periodStart", "billing period"))
}

/// Closes `[start, end of month)` without an actor (the periodic job).
pub async fn close(
    db: &DatabaseConnection,
    start: DateTime<Utc>,
    options: CloseOptions,
    now: DateTime<Utc>,
) -> Result<CloseReport> {
    let (start, end) = month_of(start);
    let period = ensure_period(db, start, end, now).await?;
    if period.state == "closed" {
        let existing = invoice::Entity::find()
            .filter(invoice::Column::BillingPeriodId.eq(period.id))
            .all(db)
            .await?
            .len();
        return Ok(CloseReport {
            existing: u32::try_from(existing).unwrap_or(u32::MAX),
            ..CloseReport::of(period.id, period.state)
        });
    }
    if period.state == "open" {
        // From here on the period takes no more usage.
        db.execute_raw(stmt(
            db,
            "UPDATE billing_periods SET state = 'closing', updated_at = $2 WHERE id = $1 AND state = 'open'",
            vec![period.id.into(), now.into()],
        ))
        .await?;
    }
    let timer = std::time::Instant::now();
    let (drafts, unmade) = drafts(db, period.id, start, end).await?;
    let drafted = timer.elapsed();
    let done: HashSet<String> = invoice::Entity::find()
        .filter(invoice::Column::BillingPeriodId.eq(period.id))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|i| i.close_key)
        .collect();
    let mut report = CloseReport::of(period.id, "closing".into());
    for (key, why) in unmade {
        if !done.contains(&key) {
            tracing::error!(period = %period.id, close_key = %key, reason = %why, "an invoice of the close cannot be made; the close goes on without it");
            report.failed.push((key, why));
        }
    }
    let limit = options.max_invoices.unwrap_or(usize::MAX);
    let mut todo = Vec::new();
    for d in drafts {
        if done.contains(&d.close_key) {
            report.existing += 1;
        } else if todo.len() >= limit {
            report.remaining += 1;
        } else {
            todo.push(d);
        }
    }
    let timer = std::time::Instant::now();
    for (key, made) in persist::make_all(db, &period, todo, options.finalize, now).await {
        match made {
            Ok(true) => report.created += 1,
            Ok(false) => report.existing += 1,
            // One account's failure never stops the close of the others.
            Err(e) => {
                tracing::error!(
                    period = %period.id,
                    close_key = %key,
                    error.cause_chain = ?e,
                    error.message = %e,
                    "an invoice of the close could not be made; the close goes on without it"
                );
                report.failed.push((key, e.to_string()));
            }
        }
    }
    let made = timer.elapsed();
    if report.remaining == 0 && report.failed.is_empty() {
        db.execute_raw(stmt(
            db,
            "UPDATE billing_periods SET state = 'closed', closed_at = $2, updated_at = $2 WHERE id = $1",
            vec![period.id.into(), now.into()],
        ))
        .await?;
        report.state = "closed".into();
    }
    tracing::info!(
        period = %period.id,
        created = report.created,
        existing = report.existing,
        remaining = report.remaining,
        failed = report.failed.len(),
        drafted_ms = drafted.as_millis(),
        made_ms = made.as_millis(),
        "billing period close"
    );
    Ok(report)
}

type PriceList = (Option<Decimal>, HashMap<PlanId, Decimal>, i32);

/// Billing periods, newest first (stewards and resellers read them).
pub async fn periods(
    db: &impl ConnectionTrait,
    actor: &Actor,
) -> Result<Vec<billing_period::Model>> {
    actor.principal.authorize(Permission::ReadBilling)?;
    use sea_orm::QueryOrder;
    Ok(billing_period::Entity::find()
        .order_by_desc(billing_period::Column::StartsAt)
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, 0, 0, 0).unwrap()
    }

    #[test]
    fn months_are_half_open_and_december_rolls_over() {
        let (s, e) = month_of(Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 59).unwrap());
        assert_eq!(s, Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap());
        assert_eq!(e, Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap());
    }

    #[test]
    fn plan_history_splits_the_window() {
        let (a, b) = (
            PlanId::from(Uuid::from_u128(1)),
            PlanId::from(Uuid::from_u128(2)),
        );
        let h = vec![(t(5), a), (t(10), b)];
        assert_eq!(
            segments(Some(&h), Some(b), t(1), t(20)),
            vec![(a, t(1), t(10)), (b, t(10), t(20))]
        );
        assert_eq!(segments(None, Some(b), t(1), t(20)), vec![(b, t(1), t(20))]);
        assert_eq!(
            segments(Some(&vec![(t(5), a), (t(7), a)]), Some(a), t(6), t(20)),
            vec![(a, t(6), t(20))]
        );
    }
}
