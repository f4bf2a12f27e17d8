//! Usage ingestion, and usage aggregated per tenant, metric and window.
//!
//! An event is counted once per tenant and idempotency key: rows are
//! inserted with `ON CONFLICT DO NOTHING` on that unique index, so a
//! duplicate (in the same batch, a retried batch, or a concurrent one) adds
//! nothing. The first arrival of a key wins; later arrivals with the same
//! key are duplicates whatever they carry.

use crate::usecase::SystemChange;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DatabaseConnection, Value};
use serde::Serialize;
use uuid::Uuid;

use super::metrics::{Aggregation, Event, aggregate};
use crate::auth::{Actor, Permission};
use crate::db::stmt;
use crate::decimal::Fixed;
use crate::error::{Error, Result};
use crate::ids::{ResellerId, TenantId};
use futures::future::join_all;

mod levels;

/// How far ahead of the server's clock an event may be stamped.
pub const MAX_CLOCK_SKEW: Duration = Duration::minutes(5);

/// Rows per `INSERT` (nine parameters each, under both backends' limits).
const CHUNK: usize = 1000;

/// One event as a client sent it: strings, so each bad field can be named.
#[derive(Clone, Debug, Default, Serialize)]
pub struct UsageRow {
    /// The tenant: its id or its slug.
    pub tenant: String,
    /// The metric's code.
    pub metric: String,
    /// An exact decimal, as text (`"12.5"`).
    pub quantity: String,
    /// RFC 3339.
    pub timestamp: String,
    /// Counted once per tenant.
    pub idempotency_key: String,
    /// Free-form properties (`unique_count` reads one of them).
    pub properties: Option<serde_json::Value>,
}

/// Why one row was refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RowError {
    /// The row's position in the batch, from 0.
    pub index: usize,
    /// The field at fault.
    pub field: &'static str,
    /// Stable code.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
}

/// What a batch did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestReport {
    /// Rows counted for the first time.
    pub accepted: u64,
    /// Valid rows whose key had been counted already.
    pub duplicates: u64,
    /// Rows refused; see `errors`.
    pub rejected: u64,
    /// One per refused row.
    pub errors: Vec<RowError>,
}

pub(crate) struct Valid {
    pub(crate) tenant_id: TenantId,
    pub(crate) reseller_id: Option<ResellerId>,
    pub(crate) metric: String,
    pub(crate) quantity: Fixed,
    pub(crate) at: DateTime<Utc>,
    pub(crate) key: String,
    pub(crate) properties: Option<String>,
}

/// Ingests a batch: valid rows are kept (each key once), invalid ones are
/// reported by position. The batch as a whole is refused only when the
/// caller may not ingest at all.
pub async fn ingest(
    db: &DatabaseConnection,
    actor: &Actor,
    rows: Vec<UsageRow>,
    now: DateTime<Utc>,
) -> Result<IngestReport> {
    let grant = actor.principal.authorize(Permission::IngestUsage)?;
    let mut report = IngestReport::default();

    // What the rows name, in three queries.
    let mut ids: Vec<TenantId> = Vec::new();
    let mut slugs: Vec<String> = Vec::new();
    for r in &rows {
        match r.tenant.trim().parse::<TenantId>() {
            Ok(id) => ids.push(id),
            Err(_) => slugs.push(r.tenant.trim().to_owned()),
        }
    }
    ids.sort();
    ids.dedup();
    slugs.sort();
    slugs.dedup();
    let tenants = tenants_named(db, &ids, &slugs).await?;
    let metrics: HashMap<String, ()> = db
        .query_all_raw(stmt(db, "SELECT code FROM billable_metrics", vec![]))
        .await?
        .iter()
        .map(|r| r.try_get::<String>("", "code").map(|c| (c, ())))
        .collect::<Result<_, _>>()?;
    let closed = closed_windows(db).await?;

    let mut valid = Vec::with_capacity(rows.len());
    for (index, row) in rows.into_iter().enumerate() {
        let reject = |field, code, message: String| RowError {
            index,
            field,
            code,
            message,
        };
        let checked = (|| {
            let key = row.idempotency_key.trim();
            if key.is_empty() || key.len() > 255 {
                return Err(reject(
                    "idempotencyKey",
                    "INVALID_IDEMPOTENCY_KEY",
                    "an idempotency key has 1 to 255 characters".into(),
                ));
            }
            let name = Uuid::parse_str(row.tenant.trim())
                .map_or_else(|_| row.tenant.trim().to_owned(), |u| u.to_string());
            let tenant = tenants
                .get(&name)
                .filter(|t| grant.reach.tenant(t.0, t.1))
                .ok_or_else(|| {
                    reject(
                        "tenant",
                        "UNKNOWN_TENANT",
                        format!("no tenant `{}` within your reach", row.tenant),
                    )
                })?;
            if !metrics.contains_key(row.metric.trim()) {
                return Err(reject(
                    "metric",
                    "UNKNOWN_METRIC",
                    format!("no billable metric `{}`", row.metric),
                ));
            }
            let quantity: Decimal = row.quantity.trim().parse().map_err(|_| {
                reject(
                    "quantity",
                    "INVALID_QUANTITY",
                    format!("`{}` is not a decimal number", row.quantity),
                )
            })?;
            if quantity.is_sign_negative() && !quantity.is_zero() {
                return Err(reject(
                    "quantity",
                    "NEGATIVE_QUANTITY",
                    format!("quantity {quantity} is negative"),
                ));
            }
            if quantity > crate::decimal::MAX_QUANTITY {
                return Err(reject(
                    "quantity",
                    "QUANTITY_TOO_LARGE",
                    format!(
                        "quantity {quantity} is larger than the largest accepted ({})",
                        crate::decimal::MAX_QUANTITY
                    ),
                ));
            }
            let quantity = Fixed::from_decimal(quantity)
                .map_err(|e| reject("quantity", "INVALID_QUANTITY", e.to_string()))?;
            let at = DateTime::parse_from_rfc3339(row.timestamp.trim())
                .map_err(|_| {
                    reject(
                        "timestamp",
                        "INVALID_TIMESTAMP",
                        format!("`{}` is not an RFC 3339 time", row.timestamp),
                    )
                })?
                .with_timezone(&Utc);
            if at > now + MAX_CLOCK_SKEW {
                return Err(reject(
                    "timestamp",
                    "TIMESTAMP_IN_FUTURE",
                    format!("{at} is more than 5 minutes ahead of {now}"),
                ));
            }
            if let Some((s, e)) = closed.iter().find(|(s, e)| *s <= at && at < *e) {
                return Err(reject(
                    "timestamp",
                    "PERIOD_CLOSED",
                    format!("{at} falls in the billing period {s} – {e}, which is closed"),
                ));
            }
            Ok(Valid {
                tenant_id: tenant.0,
                reseller_id: tenant.1,
                metric: row.metric.trim().to_owned(),
                quantity,
                at,
                key: key.to_owned(),
                properties: row.properties.as_ref().map(|p| p.to_string()),
            })
        })();
        match checked {
            Ok(v) => valid.push(v),
            Err(e) => report.errors.push(e),
        }
    }
    report.rejected = report.errors.len() as u64;

    let txn = SystemChange::begin(db).await?;
    let mut accepted = 0;
    for chunk in valid.chunks(CHUNK) {
        accepted += insert(&txn, chunk, now).await?;
    }
    txn.commit().await?;
    report.accepted = accepted;
    report.duplicates = valid.len() as u64 - accepted;
    tracing::info!(
        accepted = report.accepted,
        duplicates = report.duplicates,
        rejected = report.rejected,
        "usage ingested"
    );
    Ok(report)
}

pub(crate) async fn insert(
    db: &impl ConnectionTrait,
    rows: &[Valid],
    now: DateTime<Utc>,
) -> Result<u64> {
    let mut sql = String::from(
        "INSERT INTO usage_events (id, tenant_id, reseller_id, metric_code, quantity_units, quantity_nanos, occurred_at, idempotency_key, properties, received_at) VALUES ",
    );
    let mut values: Vec<Value> = Vec::with_capacity(rows.len() * 9 + 1);
    values.push(now.into());
    for (i, r) in rows.iter().enumerate() {
        let b = 2 + i * 9;
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!(
            "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, $1)",
            b,
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5,
            b + 6,
            b + 7,
            b + 8
        ));
        values.extend([
            Uuid::now_v7().into(),
            r.tenant_id.into(),
            r.reseller_id.into(),
            r.metric.clone().into(),
            r.quantity.units().into(),
            r.quantity.nanos().into(),
            r.at.into(),
            r.key.clone().into(),
            r.properties.clone().into(),
        ]);
    }
    sql.push_str(" ON CONFLICT (tenant_id, idempotency_key) DO NOTHING");
    Ok(db
        .execute_raw(stmt(db, &sql, values))
        .await?
        .rows_affected())
}

/// Tenants by id and slug: name → (id, reseller).
async fn tenants_named(
    db: &impl ConnectionTrait,
    ids: &[TenantId],
    slugs: &[String],
) -> Result<HashMap<String, (TenantId, Option<ResellerId>)>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT id, reseller_id, slug FROM tenants WHERE id IN ({})",
            marks.join(", ")
        );
        for r in db
            .query_all_raw(stmt(
                db,
                &sql,
                chunk.iter().map(|id| (*id).into()).collect(),
            ))
            .await?
        {
            let id: TenantId = r.try_get("", "id")?;
            out.insert(id.to_string(), (id, r.try_get("", "reseller_id")?));
        }
    }
    for chunk in slugs.chunks(CHUNK) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT id, reseller_id, slug FROM tenants WHERE slug IN ({})",
            marks.join(", ")
        );
        for r in db
            .query_all_raw(stmt(
                db,
                &sql,
                chunk.iter().map(|s| s.clone().into()).collect(),
            ))
            .await?
        {
            let slug: String = r.try_get("", "slug")?;
            out.insert(slug, (r.try_get("", "id")?, r.try_get("", "reseller_id")?));
        }
    }
    Ok(out)
}

/// Periods that take no more usage: closing or closed.
pub(super) async fn closed_windows(
    db: &impl ConnectionTrait,
) -> Result<Vec<(DateTime<Utc>, DateTime<Utc>)>> {
    db.query_all_raw(stmt(
        db,
        "SELECT starts_at, ends_at FROM billing_periods WHERE state <> 'open'",
        vec![],
    ))
    .await?
    .iter()
    .map(|r| Ok((r.try_get("", "starts_at")?, r.try_get("", "ends_at")?)))
    .collect()
}

/// A metric as aggregation needs it.
#[derive(Clone, Debug)]
pub struct MetricDef {
    /// Its code.
    pub code: String,
    /// How it aggregates.
    pub aggregation: Aggregation,
    /// The property `unique_count` reads.
    pub field_name: Option<String>,
}

/// Every metric, by code.
pub async fn metric_defs(db: &impl ConnectionTrait) -> Result<BTreeMap<String, MetricDef>> {
    let rows = db
        .query_all_raw(stmt(
            db,
            "SELECT code, aggregation, field_name FROM billable_metrics",
            vec![],
        ))
        .await?;
    let mut out = BTreeMap::new();
    for r in rows {
        let code: String = r.try_get("", "code")?;
        let agg: String = r.try_get("", "aggregation")?;
        out.insert(
            code.clone(),
            MetricDef {
                code,
                aggregation: Aggregation::parse(&agg).unwrap_or(Aggregation::Sum),
                field_name: r.try_get("", "field_name")?,
            },
        );
    }
    Ok(out)
}

/// The quantity of every metric with events for each tenant in `[start,
/// end)`: `tenant` restricts to one tenant. The database computes counts
/// and sums (one `GROUP BY`) and integrates levels ([`levels`]); `max`,
/// `latest` and `unique_count` read the window's events.
pub async fn quantities(
    db: &impl ConnectionTrait,
    metrics: &BTreeMap<String, MetricDef>,
    tenant: Option<TenantId>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<HashMap<(TenantId, String), Decimal>> {
    let tenant_filter = if tenant.is_some() {
        " AND tenant_id = $3"
    } else {
        ""
    };
    let mut args: Vec<Value> = vec![start.into(), end.into()];
    if let Some(t) = tenant {
        args.push(t.into());
    }
    // The reads go together (each on its own connection from a pool).
    let mut reads: Vec<Read<'_>> = vec![Box::pin(sums(db, metrics, args.clone(), tenant_filter))];
    for def in metrics.values() {
        let args = args.clone();
        match def.aggregation {
            Aggregation::Count | Aggregation::Sum => {}
            Aggregation::WeightedSum => reads.push(Box::pin(async move {
                let found = levels::weighted_sums(db, &def.code, tenant, start, end).await?;
                Ok(found
                    .into_iter()
                    .map(|(t, q)| ((t, def.code.clone()), q))
                    .collect())
            })),
            Aggregation::Max | Aggregation::Latest | Aggregation::UniqueCount => {
                reads.push(Box::pin(async move {
                    let events = events_of(db, def, &args, tenant_filter).await?;
                    Ok(events
                        .into_iter()
                        .map(|(t, events)| {
                            let q = aggregate(def.aggregation, &events, start, end, None);
                            ((t, def.code.clone()), q)
                        })
                        .collect())
                }));
            }
        }
    }
    let mut out = HashMap::new();
    for found in join_all(reads).await {
        out.extend(found?);
    }
    Ok(out)
}

type Found = Vec<((TenantId, String), Decimal)>;
type Read<'a> = Pin<Box<dyn Future<Output = Result<Found>> + Send + 'a>>;

/// Counts and sums of every metric that has them, in one `GROUP BY`.
async fn sums(
    db: &impl ConnectionTrait,
    metrics: &BTreeMap<String, MetricDef>,
    args: Vec<Value>,
    tenant_filter: &str,
) -> Result<Found> {
    let sql = format!(
        "SELECT tenant_id, metric_code, COUNT(*) AS n, {} FROM usage_events \
         WHERE occurred_at >= $1 AND occurred_at < $2{tenant_filter} GROUP BY tenant_id, metric_code",
        crate::decimal::sum_select(db, "quantity")
    );
    let mut out = Vec::new();
    for r in db.query_all_raw(stmt(db, &sql, args)).await? {
        let code: String = r.try_get("", "metric_code")?;
        let Some(def) = metrics.get(&code) else {
            continue;
        };
        let q = match def.aggregation {
            Aggregation::Count => Decimal::from(r.try_get::<i64>("", "n")?),
            Aggregation::Sum => crate::decimal::read_sum(&r, "quantity")?,
            _ => continue,
        };
        out.push(((r.try_get("", "tenant_id")?, code), q));
    }
    Ok(out)
}

/// The window's events of one metric, by tenant, in time order.
async fn events_of(
    db: &impl ConnectionTrait,
    def: &MetricDef,
    args: &[Value],
    tenant_filter: &str,
) -> Result<BTreeMap<TenantId, Vec<Event>>> {
    let mut a = args.to_vec();
    a.push(def.code.clone().into());
    let code_arg = a.len();
    let sql = format!(
        "SELECT tenant_id, occurred_at, quantity_units, quantity_nanos, properties FROM usage_events \
         WHERE occurred_at >= $1 AND occurred_at < $2{tenant_filter} AND metric_code = ${code_arg} \
         ORDER BY tenant_id, occurred_at, id"
    );
    let mut by_tenant: BTreeMap<TenantId, Vec<Event>> = BTreeMap::new();
    for r in db.query_all_raw(stmt(db, &sql, a)).await? {
        let value = def.field_name.as_ref().and_then(|f| {
            let props: Option<String> = r.try_get("", "properties").ok()?;
            let json: serde_json::Value = serde_json::from_str(&props?).ok()?;
            json.get(f).map(|v| match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
        });
        by_tenant
            .entry(r.try_get("", "tenant_id")?)
            .or_default()
            .push(Event {
                at: r.try_get("", "occurred_at")?,
                quantity: Fixed::from_parts(
                    r.try_get("", "quantity_units")?,
                    r.try_get("", "quantity_nanos")?,
                )
                .map(Fixed::to_decimal)
                .unwrap_or_default(),
                value,
            });
    }
    Ok(by_tenant)
}

/// One tenant's usage of one metric over a window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageAggregate {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The metric.
    pub metric: String,
    /// The window.
    pub start: DateTime<Utc>,
    /// Its end (exclusive).
    pub end: DateTime<Utc>,
    /// The aggregated quantity, to 10⁻⁹.
    pub quantity: Decimal,
}

/// Usage per tenant and metric over `[start, end)`, for the tenants the
/// caller reaches (resellers: their tenants; tenant admins: theirs).
pub async fn aggregates(
    db: &impl ConnectionTrait,
    actor: &Actor,
    tenant: Option<TenantId>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<UsageAggregate>> {
    let grant = actor.principal.authorize(Permission::ReadUsage)?;
    if end <= start || end - start > Duration::days(400) {
        return Err(Error::invalid(
            "to",
            "INVALID_WINDOW",
            "the window ends after it starts and spans at most 400 days",
        ));
    }
    let metrics = metric_defs(db).await?;
    let q = quantities(db, &metrics, tenant, start, end).await?;
    let mut tenants: HashMap<TenantId, Option<ResellerId>> = HashMap::new();
    for r in db
        .query_all_raw(stmt(db, "SELECT id, reseller_id FROM tenants", vec![]))
        .await?
    {
        tenants.insert(r.try_get("", "id")?, r.try_get("", "reseller_id")?);
    }
    let mut out: Vec<UsageAggregate> = q
        .into_iter()
        .filter(|((t, _), _)| tenants.get(t).is_some_and(|r| grant.reach.tenant(*t, *r)))
        .map(|((tenant_id, metric), quantity)| UsageAggregate {
            tenant_id,
            metric,
            start,
            end,
            quantity: quantity.round_dp(9).normalize(),
        })
        .collect();
    out.sort_by(|a, b| (a.tenant_id, &a.metric).cmp(&(b.tenant_id, &b.metric)));
    Ok(out)
}
