//! Making a close's invoices: each in its own transaction, several at once.
//!
//! Numbers come from one counter per issuer and year, taken in the
//! transaction that finalizes. An issuer's invoices take them in draft
//! order: each waits, after writing its invoice and lines, until the one
//! before it has committed (or failed), and only then takes its number and
//! commits. So the invoices an interrupted close made are the first of each
//! issuer's, and a rerun numbers the rest after them, without gaps and in
//! the order an uninterrupted close would have. Meanwhile up to [`LANES`]
//! invoices are written at once (PostgreSQL; SQLite has one connection and
//! makes them one at a time): their writes overlap and their commits share
//! the WAL flushes, which otherwise cost more than everything else the close
//! writes.
//!
//! An invoice also begins its transaction only after the one before it (of
//! its issuer) has begun, so one waiting for its turn never holds a pooled
//! connection its predecessor still needs.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::task::{Poll, Waker};

use super::*;
use futures::future::join_all;

/// Invoices written at once on PostgreSQL (each holds a pooled connection).
const LANES: usize = 8;

/// Invoice lines per `INSERT` on SQLite (16 parameters each, under its
/// limit).
const LINES_PER_INSERT: usize = 1000;

/// Makes `drafts`; each one's close key and outcome, in the drafts' order.
pub(super) async fn make_all(
    db: &DatabaseConnection,
    period: &billing_period::Model,
    drafts: Vec<Draft>,
    finalize: bool,
    now: DateTime<Utc>,
) -> Vec<(String, Result<bool>)> {
    // Each issuer's drafts, in order.
    let mut issuers: BTreeMap<Option<ResellerId>, Vec<(usize, Draft)>> = BTreeMap::new();
    for (i, d) in drafts.into_iter().enumerate() {
        issuers
            .entry(d.issuer_reseller_id)
            .or_default()
            .push((i, d));
    }
    // One queue, taking the issuers in turn (the one with the most lines
    // first); each issuer's drafts stay in order, so an invoice's
    // predecessor is always taken before it.
    let mut by_issuer: Vec<Vec<(usize, Draft)>> = issuers.into_values().collect();
    by_issuer
        .sort_by_key(|q| std::cmp::Reverse(q.iter().map(|(_, d)| d.lines.len()).sum::<usize>()));
    let turns: Vec<Turns> = by_issuer.iter().map(|_| Turns::default()).collect();
    let mut queue = VecDeque::new();
    let mut rounds: Vec<_> = by_issuer
        .into_iter()
        .map(|q| q.into_iter().enumerate())
        .collect();
    loop {
        let before = queue.len();
        for (issuer, drafts) in rounds.iter_mut().enumerate() {
            if let Some((turn, (i, d))) = drafts.next() {
                queue.push_back(Job { i, issuer, turn, d });
            }
        }
        if queue.len() == before {
            break;
        }
    }
    let count = queue.len();
    let (queue, turns) = (&Mutex::new(queue), &turns);
    let lanes = if crate::db::is_postgres(db) { LANES } else { 1 };
    let lane = move || async move {
        let mut out = Vec::new();
        while let Some(job) = queue.lock().ok().and_then(|mut q| q.pop_front()) {
            let turns = &turns[job.issuer];
            let key = job.d.close_key.clone();
            turns.wait(Step::Begin, job.turn).await;
            let made = persist(db, period, job.d, finalize, now, turns, job.turn).await;
            turns.pass(Step::Begin, job.turn);
            turns.pass(Step::Number, job.turn);
            out.push((job.i, key, made));
        }
        out
    };
    let mut made: Vec<(usize, String, Result<bool>)> = join_all((0..lanes).map(|_| lane()))
        .await
        .into_iter()
        .flatten()
        .collect();
    debug_assert_eq!(made.len(), count);
    made.sort_by_key(|(i, _, _)| *i);
    made.into_iter().map(|(_, key, r)| (key, r)).collect()
}

/// A draft to make: its place among all drafts, its issuer, its place among
/// the issuer's.
struct Job {
    i: usize,
    issuer: usize,
    turn: usize,
    d: Draft,
}

/// What an issuer's invoices take in draft order.
#[derive(Clone, Copy)]
enum Step {
    /// A pooled connection and a transaction.
    Begin,
    /// A number (and the commit).
    Number,
}

/// How far an issuer's invoices have got: the next turn of each step, and
/// the lanes waiting for one.
#[derive(Default)]
struct Turns(Mutex<(usize, usize, Vec<Waker>)>);

impl Turns {
    /// Waits until the turns before `turn` have passed `step`.
    async fn wait(&self, step: Step, turn: usize) {
        std::future::poll_fn(|cx| {
            let Ok(mut s) = self.0.lock() else {
                return Poll::Ready(());
            };
            let next = match step {
                Step::Begin => s.0,
                Step::Number => s.1,
            };
            if next >= turn {
                Poll::Ready(())
            } else {
                s.2.push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
    }

    /// `turn` has passed `step` (again is harmless).
    fn pass(&self, step: Step, turn: usize) {
        let Ok(mut s) = self.0.lock() else {
            return;
        };
        let next = match step {
            Step::Begin => &mut s.0,
            Step::Number => &mut s.1,
        };
        *next = (*next).max(turn + 1);
        for w in s.2.drain(..) {
            w.wake();
        }
    }
}

/// Makes one invoice; `false` if a concurrent close made it first.
async fn persist(
    db: &DatabaseConnection,
    period: &billing_period::Model,
    d: Draft,
    finalize: bool,
    now: DateTime<Utc>,
    turns: &Turns,
    turn: usize,
) -> Result<bool> {
    let subtotal: Decimal = d.lines.iter().map(|(_, l)| l.amount).sum();
    let txn = SystemChange::begin(db).await?;
    turns.pass(Step::Begin, turn);
    if crate::db::is_postgres(&txn) {
        // An invoice waiting for its turn holds only key-share locks, which
        // finalizing does not wait for; should that ever change, a lock
        // wait fails that invoice (the close reports it) instead of
        // hanging the close.
        txn.execute_raw(stmt(&txn, "SET LOCAL lock_timeout = '10s'", vec![]))
            .await?;
    }
    let parties = invoices::Parties {
        world: d.world,
        issuer_reseller_id: d.issuer_reseller_id,
        recipient_reseller_id: d.recipient_reseller_id,
        recipient_customer_id: d.recipient_customer_id,
        layer: d.layer,
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
    insert_lines(&txn, inv.id, &d, now).await?;
    turns.wait(Step::Number, turn).await;
    if finalize {
        invoices::finalize_in(&txn, inv, now).await?;
    }
    txn.commit().await?;
    Ok(true)
}

/// The columns of a line, as `json_to_recordset` reads them.
const LINE_COLUMNS: &str = "id uuid, invoice_id uuid, reseller_id uuid, position integer, tenant_id uuid, \
     description text, metric_code text, quantity_units bigint, quantity_nanos bigint, \
     unit_price_units bigint, unit_price_nanos bigint, precise_amount_units bigint, \
     precise_amount_nanos bigint, amount_cents bigint, price_version text, created_at timestamptz";

/// Writes a draft's lines: on PostgreSQL in one statement whatever their
/// number (a JSON array of rows, so the statement is prepared once and its
/// thousands of parameters are not planned for each invoice); on SQLite in
/// multi-row inserts.
async fn insert_lines(
    txn: &SystemChange,
    invoice_id: crate::ids::InvoiceId,
    d: &Draft,
    now: DateTime<Utc>,
) -> Result<()> {
    let minor = minor_digits(&d.currency);
    let mut rows = Vec::with_capacity(d.lines.len());
    for (i, (tenant_id, l)) in d.lines.iter().enumerate() {
        let (q, u, p) = (
            to_fixed(l.quantity)?,
            to_fixed(l.unit_price)?,
            to_fixed(l.precise)?,
        );
        rows.push(invoice_line::Model {
            id: Uuid::now_v7().into(),
            invoice_id,
            reseller_id: d.world,
            position: i32::try_from(i + 1).unwrap_or(i32::MAX),
            tenant_id: Some(*tenant_id),
            description: l.description.clone(),
            metric_code: l.metric.clone(),
            quantity_units: q.units(),
            quantity_nanos: q.nanos(),
            unit_price_units: u.units(),
            unit_price_nanos: u.nanos(),
            precise_amount_units: p.units(),
            precise_amount_nanos: p.nanos(),
            amount_cents: to_cents(l.amount, minor)?,
            price_version: l.price_version.clone(),
            created_at: now,
        });
    }
    if rows.is_empty() {
        return Ok(());
    }
    if crate::db::is_postgres(txn) {
        let json: Vec<serde_json::Value> = rows.iter().map(line_json).collect();
        let names: Vec<&str> = LINE_COLUMNS
            .split(", ")
            .filter_map(|c| c.split_whitespace().next())
            .collect();
        let names = names.join(", ");
        let sql = format!(
            "INSERT INTO invoice_lines ({names}) SELECT {names} FROM json_to_recordset(CAST($1 AS json)) AS x({LINE_COLUMNS})"
        );
        let json = serde_json::Value::Array(json).to_string();
        txn.execute_raw(stmt(txn, &sql, vec![json.into()])).await?;
        return Ok(());
    }
    for chunk in rows.chunks(LINES_PER_INSERT) {
        invoice_line::Entity::insert_many(
            chunk
                .iter()
                .cloned()
                .map(sea_orm::IntoActiveModel::into_active_model),
        )
        .exec_without_returning(txn)
        .await?;
    }
    Ok(())
}

/// A line as one row of [`LINE_COLUMNS`].
fn line_json(l: &invoice_line::Model) -> serde_json::Value {
    serde_json::json!({
        "id": l.id,
        "invoice_id": l.invoice_id,
        "reseller_id": l.reseller_id,
        "position": l.position,
        "tenant_id": l.tenant_id,
        "description": l.description,
        "metric_code": l.metric_code,
        "quantity_units": l.quantity_units,
        "quantity_nanos": l.quantity_nanos,
        "unit_price_units": l.unit_price_units,
        "unit_price_nanos": l.unit_price_nanos,
        "precise_amount_units": l.precise_amount_units,
        "precise_amount_nanos": l.precise_amount_nanos,
        "amount_cents": l.amount_cents,
        "price_version": l.price_version,
        "created_at": l.created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, false),
    })
}
