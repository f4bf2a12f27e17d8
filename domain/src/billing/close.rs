//! Billing periods and their close.
//!
//! Periods are calendar months in UTC. Closing one stops it taking usage
//! (`closing`), then makes each invoice in its own transaction, keyed by
//! `close_key` (period, layer, recipient, currency): the invoice, its
//! lines, its number and its jobs commit together or not at all. A rerun
//! (after a crash, or a second call) skips the invoices that exist and
//! makes the rest, in the same order, so the numbers have no gaps. When all
//! are made the period is `closed`.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set, Statement, TransactionTrait,
};
use serde::Serialize;
use uuid::Uuid;

use super::charges::Charge;
use super::invoices::{self, minor_digits, to_cents};
use super::rating::{self, Layer, MeteredCharge, PlanTerms, RatedLine, Span};
use super::usage::{metric_defs, quantities};
use crate::auth::{Actor, Permission};
use crate::decimal::{stored as fixed, to_stored as to_fixed};
use crate::entity::{billing_period, customer, invoice, invoice_line, plan, reseller, tenant};
use crate::error::{Error, Result};

/// How long after a period ends the periodic close waits for late usage.
pub const CLOSE_GRACE: Duration = Duration::hours(6);

fn stmt(db: &impl ConnectionTrait, sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    Statement::from_sql_and_values(db.get_database_backend(), sql, values)
}

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
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CloseReport {
    /// The period.
    pub period_id: Uuid,
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
    crate::audit::record(
        db,
        actor,
        &grant,
        crate::audit::Change {
            action: "closeBillingPeriod",
            object_type: "BillingPeriod",
            object_id: report.period_id,
            reseller_id: None,
            details: serde_json::json!({ "created": report.created, "existing": report.existing, "state": report.state }),
        },
        now,
    )
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
            period_id: period.id,
            existing: u32::try_from(existing).unwrap_or(u32::MAX),
            state: period.state,
            ..CloseReport::default()
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
    let drafts = drafts(db, period.id, start, end).await?;
    let done: Vec<String> = invoice::Entity::find()
        .filter(invoice::Column::BillingPeriodId.eq(period.id))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|i| i.close_key)
        .collect();
    let mut report = CloseReport {
        period_id: period.id,
        state: "closing".into(),
        ..CloseReport::default()
    };
    let limit = options.max_invoices.unwrap_or(usize::MAX);
    for d in drafts {
        if done.contains(&d.close_key) {
            report.existing += 1;
            continue;
        }
        if report.created as usize >= limit {
            report.remaining += 1;
            continue;
        }
        let key = d.close_key.clone();
        match persist(db, &period, d, options.finalize, now).await {
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
    if report.remaining == 0 && report.failed.is_empty() {
        db.execute_raw(stmt(
            db,
            "UPDATE billing_periods SET state = 'closed', closed_at = $2, updated_at = $2 WHERE id = $1",
            vec![period.id.into(), now.into()],
        ))
        .await?;
        report.state = "closed".into();
    }
    tracing::info!(period = %period.id, created = report.created, existing = report.existing, remaining = report.remaining, failed = report.failed.len(), "billing period close");
    Ok(report)
}

/// An invoice to make.
struct Draft {
    close_key: String,
    layer: &'static str,
    world: Option<Uuid>,
    issuer_reseller_id: Option<Uuid>,
    recipient_reseller_id: Option<Uuid>,
    recipient_customer_id: Option<Uuid>,
    currency: String,
    issuer_name: String,
    recipient_name: String,
    recipient_email: Option<String>,
    tax_rate: Decimal,
    reverse_charge: bool,
    lines: Vec<(Uuid, RatedLine)>,
}

/// Makes one invoice; `false` if a concurrent close made it first.
async fn persist(
    db: &DatabaseConnection,
    period: &billing_period::Model,
    d: Draft,
    finalize: bool,
    now: DateTime<Utc>,
) -> Result<bool> {
    let minor = minor_digits(&d.currency);
    let subtotal: Decimal = d.lines.iter().map(|(_, l)| l.amount).sum();
    let txn = db.begin().await?;
    let parties = invoices::Parties {
        world: d.world,
        issuer_reseller_id: d.issuer_reseller_id,
        recipient_reseller_id: d.recipient_reseller_id,
        recipient_customer_id: d.recipient_customer_id,
        layer: d.layer.into(),
        currency: d.currency.clone(),
        issuer_name: Some(d.issuer_name.clone()),
        recipient_name: Some(d.recipient_name.clone()),
        recipient_email: d.recipient_email.clone(),
        tax_rate: d.tax_rate,
        reverse_charge: d.reverse_charge,
    };
    let inserted = invoices::draft(
        &parties,
        subtotal,
        Some(period.id),
        (period.starts_at, period.ends_at),
        &d.close_key,
        now,
    )?
    .insert(&txn)
    .await;
    let inv = match inserted {
        Ok(inv) => inv,
        Err(e)
            if matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) =>
        {
            return Ok(false);
        }
        Err(e) => return Err(e.into()),
    };
    for (i, (tenant_id, l)) in d.lines.iter().enumerate() {
        let (q, u, p) = (
            to_fixed(l.quantity)?,
            to_fixed(l.unit_price)?,
            to_fixed(l.precise)?,
        );
        invoice_line::ActiveModel {
            id: Set(Uuid::now_v7()),
            invoice_id: Set(inv.id),
            reseller_id: Set(d.world),
            position: Set(i32::try_from(i + 1).unwrap_or(i32::MAX)),
            tenant_id: Set(Some(*tenant_id)),
            description: Set(l.description.clone()),
            metric_code: Set(l.metric.clone()),
            quantity_units: Set(q.units()),
            quantity_nanos: Set(q.nanos()),
            unit_price_units: Set(u.units()),
            unit_price_nanos: Set(u.nanos()),
            precise_amount_units: Set(p.units()),
            precise_amount_nanos: Set(p.nanos()),
            amount_cents: Set(to_cents(l.amount, minor)?),
            price_version: Set(l.price_version.clone()),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
    }
    if finalize {
        invoices::finalize_in(&txn, inv, now).await?;
    }
    txn.commit().await?;
    Ok(true)
}

/// Every invoice the period calls for, in a fixed order (so numbers are
/// handed out the same way on a rerun).
async fn drafts(
    db: &impl ConnectionTrait,
    period_id: Uuid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<Draft>> {
    let tenants: Vec<tenant::Model> = tenant::Entity::find()
        .filter(tenant::Column::CreatedAt.lt(end))
        .all(db)
        .await?
        .into_iter()
        .filter(|t| t.terminated_at.is_none_or(|at| at > start))
        .collect();
    if tenants.is_empty() {
        return Ok(Vec::new());
    }
    let plans = plan_terms(db).await?;
    let history = plan_history(db).await?;
    let metrics = metric_defs(db).await?;
    let whole = quantities(db, &metrics, None, start, end).await?;
    let customers: HashMap<Uuid, customer::Model> = customer::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let resellers: HashMap<Uuid, reseller::Model> = reseller::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    let member_emails = member_emails(db).await?;
    let price_lists = price_lists(db).await?;

    // Key → draft; BTreeMap orders them.
    let mut out: BTreeMap<String, Draft> = BTreeMap::new();
    let mut sorted = tenants;
    sorted.sort_by(|a, b| a.slug.cmp(&b.slug));
    for t in &sorted {
        let Some(cust) = customers.get(&t.customer_id) else {
            continue;
        };
        let from = t.created_at.max(start);
        let to = t.terminated_at.map_or(end, |x| x.min(end));
        let mut spans = Vec::new();
        let segs = segments(history.get(&t.id), t.plan_id, from, to);
        for (plan_id, s_from, s_to) in &segs {
            let Some(plan) = plans.get(plan_id) else {
                continue;
            };
            if plan.currency != cust.currency {
                // Prices in one currency are not billed as another's.
                tracing::error!(tenant = %t.slug, plan = %plan.code, plan_currency = %plan.currency, customer_currency = %cust.currency, "plan and customer currencies differ: the span is not billed");
                continue;
            }
            let usage: HashMap<String, Decimal> =
                if segs.len() == 1 && *s_from == start && *s_to == end {
                    whole
                        .iter()
                        .filter(|((tid, _), _)| *tid == t.id)
                        .map(|((_, m), q)| (m.clone(), *q))
                        .collect()
                } else {
                    quantities(db, &metrics, Some(t.id), *s_from, *s_to)
                        .await?
                        .into_iter()
                        .map(|((_, m), q)| (m, q))
                        .collect()
                };
            spans.push(Span {
                plan: plan.clone(),
                from: *s_from,
                to: *s_to,
                usage,
            });
        }
        if spans.is_empty() {
            continue;
        }
        let currency = cust.currency.clone();
        let minor = minor_digits(&currency);
        match t.reseller_id.and_then(|r| resellers.get(&r)) {
            Some(r) => {
                let discount = fixed(r.wholesale_discount_units, r.wholesale_discount_nanos);
                let wholesale = rating::rate(
                    &t.slug,
                    (start, end),
                    &spans,
                    &Layer::Wholesale { discount },
                    minor,
                );
                let key = format!("{period_id}:wholesale:{}:{currency}", r.id);
                out.entry(key.clone())
                    .or_insert_with(|| Draft {
                        close_key: key,
                        layer: "wholesale",
                        world: Some(r.id),
                        issuer_reseller_id: None,
                        recipient_reseller_id: Some(r.id),
                        recipient_customer_id: None,
                        currency: currency.clone(),
                        issuer_name: COOP_NAME.into(),
                        recipient_name: r.brand_name.clone(),
                        recipient_email: r
                            .billing_email
                            .clone()
                            .or_else(|| member_emails.get(&r.member_id).cloned()),
                        tax_rate: fixed(r.tax_rate_units, r.tax_rate_nanos),
                        reverse_charge: r.reverse_charge,
                        lines: Vec::new(),
                    })
                    .lines
                    .extend(wholesale.into_iter().map(|l| (t.id, l)));
                let (markup, explicit, version) =
                    price_lists.get(&r.id).cloned().unwrap_or_default();
                let layer = Layer::Retail {
                    discount,
                    markup,
                    explicit,
                    version,
                };
                let retail = rating::rate(&t.slug, (start, end), &spans, &layer, minor);
                let key = format!("{period_id}:retail:{}:{currency}", cust.id);
                out.entry(key.clone())
                    .or_insert_with(|| customer_draft(key, "retail", Some(r), cust))
                    .lines
                    .extend(retail.into_iter().map(|l| (t.id, l)));
            }
            None => {
                let lines = rating::rate(&t.slug, (start, end), &spans, &Layer::List, minor);
                let key = format!("{period_id}:direct:{}:{currency}", cust.id);
                out.entry(key.clone())
                    .or_insert_with(|| customer_draft(key, "direct", None, cust))
                    .lines
                    .extend(lines.into_iter().map(|l| (t.id, l)));
            }
        }
    }
    Ok(out.into_values().filter(|d| !d.lines.is_empty()).collect())
}

/// The co-op's name on its invoices.
pub const COOP_NAME: &str = "coplane co-op";

fn customer_draft(
    key: String,
    layer: &'static str,
    issuer: Option<&reseller::Model>,
    c: &customer::Model,
) -> Draft {
    Draft {
        close_key: key,
        layer,
        world: issuer.map(|r| r.id),
        issuer_reseller_id: issuer.map(|r| r.id),
        recipient_reseller_id: None,
        recipient_customer_id: Some(c.id),
        currency: c.currency.clone(),
        issuer_name: issuer.map_or_else(|| COOP_NAME.to_owned(), |r| r.brand_name.clone()),
        recipient_name: c.name.clone(),
        recipient_email: Some(c.billing_email.clone()),
        tax_rate: fixed(c.tax_rate_units, c.tax_rate_nanos),
        reverse_charge: c.reverse_charge,
        lines: Vec::new(),
    }
}

/// The plan a tenant held over `[from, to)`, as `(plan, from, to)` spans:
/// from its plan history, or its current plan when it has none.
fn segments(
    history: Option<&Vec<(DateTime<Utc>, Uuid)>>,
    current: Option<Uuid>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(Uuid, DateTime<Utc>, DateTime<Utc>)> {
    if from >= to {
        return Vec::new();
    }
    let Some(h) = history.filter(|h| !h.is_empty()) else {
        return current.map(|p| vec![(p, from, to)]).unwrap_or_default();
    };
    let mut out: Vec<(Uuid, DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    let h: Vec<&(DateTime<Utc>, Uuid)> = h.iter().filter(|(at, _)| *at < to).collect();
    for (i, (at, plan)) in h.iter().copied().enumerate() {
        let next = h.get(i + 1).map_or(to, |(n, _)| *n);
        // Before its first recorded change the tenant held its first plan.
        let s = if i == 0 { from } else { (*at).max(from) };
        let e = next.min(to);
        if s < e {
            match out.last_mut() {
                Some(last) if last.0 == *plan && last.2 == s => last.2 = e,
                _ => out.push((*plan, s, e)),
            }
        }
    }
    out
}

/// Every tenant's plan history (including changes after the period: a
/// tenant with history is billed from it, never from its current plan).
async fn plan_history(
    db: &impl ConnectionTrait,
) -> Result<HashMap<Uuid, Vec<(DateTime<Utc>, Uuid)>>> {
    let mut out: HashMap<Uuid, Vec<(DateTime<Utc>, Uuid)>> = HashMap::new();
    for r in db
        .query_all_raw(stmt(
            db,
            "SELECT tenant_id, plan_id, starts_at FROM tenant_plans ORDER BY tenant_id, starts_at, id",
            vec![],
        ))
        .await?
    {
        out.entry(r.try_get("", "tenant_id")?)
            .or_default()
            .push((r.try_get("", "starts_at")?, r.try_get("", "plan_id")?));
    }
    Ok(out)
}

async fn plan_terms(db: &impl ConnectionTrait) -> Result<HashMap<Uuid, PlanTerms>> {
    let metrics: HashMap<Uuid, (String, String)> = crate::entity::billable_metric::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.id, (m.code, m.name)))
        .collect();
    let charges = crate::entity::plan_charge::Entity::find().all(db).await?;
    let mut out = HashMap::new();
    for p in plan::Entity::find().all(db).await? {
        let mine: Vec<_> = charges.iter().filter(|c| c.plan_id == p.id).collect();
        let mut list = Vec::new();
        for c in &mine {
            let Some((code, name)) = metrics.get(&c.metric_id) else {
                continue;
            };
            let Ok(charge) = serde_json::from_str::<Charge>(&c.properties) else {
                tracing::error!(plan = %p.code, metric = %code, "a stored charge does not parse; left out");
                continue;
            };
            list.push(MeteredCharge {
                metric: code.clone(),
                metric_name: name.clone(),
                charge,
            });
        }
        list.sort_by(|a, b| a.metric.cmp(&b.metric));
        out.insert(
            p.id,
            PlanTerms {
                id: p.id,
                code: p.code.clone(),
                name: p.name.clone(),
                currency: p.currency.clone(),
                base_fee: fixed(p.base_fee_units, p.base_fee_nanos),
                interval: p.billing_interval.clone(),
                charges: list,
                version: mine.iter().map(|c| c.price_version).max().unwrap_or(1),
            },
        );
    }
    Ok(out)
}

async fn member_emails(db: &impl ConnectionTrait) -> Result<HashMap<Uuid, String>> {
    let mut out = HashMap::new();
    for r in db
        .query_all_raw(stmt(db, "SELECT id, email FROM members", vec![]))
        .await?
    {
        if let Ok(Some(e)) = r.try_get::<Option<String>>("", "email") {
            out.insert(r.try_get("", "id")?, e);
        }
    }
    Ok(out)
}

type PriceList = (Option<Decimal>, HashMap<Uuid, Decimal>, i32);

async fn price_lists(db: &impl ConnectionTrait) -> Result<HashMap<Uuid, PriceList>> {
    let mut out: HashMap<Uuid, PriceList> = HashMap::new();
    for r in db
        .query_all_raw(stmt(
            db,
            "SELECT reseller_id, markup_units, markup_nanos, version FROM price_lists",
            vec![],
        ))
        .await?
    {
        let units: Option<i64> = r.try_get("", "markup_units")?;
        let nanos: Option<i64> = r.try_get("", "markup_nanos")?;
        let markup = units.zip(nanos).map(|(u, n)| fixed(u, n));
        out.insert(
            r.try_get("", "reseller_id")?,
            (markup, HashMap::new(), r.try_get("", "version")?),
        );
    }
    for r in db
        .query_all_raw(stmt(
            db,
            "SELECT reseller_id, plan_id, retail_price_units, retail_price_nanos FROM price_list_items WHERE plan_id IS NOT NULL",
            vec![],
        ))
        .await?
    {
        let reseller: Uuid = r.try_get("", "reseller_id")?;
        if let Some(entry) = out.get_mut(&reseller) {
            entry.1.insert(
                r.try_get("", "plan_id")?,
                fixed(
                    r.try_get("", "retail_price_units")?,
                    r.try_get("", "retail_price_nanos")?,
                ),
            );
        }
    }
    Ok(out)
}

/// Records that `tenant` holds `plan` from `at` (written wherever a
/// tenant's plan is set, in that change's transaction).
pub async fn record_plan(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    reseller_id: Option<Uuid>,
    plan_id: Uuid,
    at: DateTime<Utc>,
) -> Result<()> {
    db.execute_raw(stmt(
        db,
        "INSERT INTO tenant_plans (id, tenant_id, reseller_id, plan_id, starts_at, created_at) VALUES ($1, $2, $3, $4, $5, $5)",
        vec![Uuid::now_v7().into(), tenant_id.into(), reseller_id.into(), plan_id.into(), at.into()],
    ))
    .await?;
    Ok(())
}

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
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
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
