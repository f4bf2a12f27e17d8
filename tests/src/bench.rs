//! Helpers shared by the billing benchmarks.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, TransactionTrait, Value};
use uuid::Uuid;

/// One usage event to insert straight into the database.
pub struct RawEvent {
    /// The tenant.
    pub tenant: Uuid,
    /// Its reseller.
    pub reseller: Option<Uuid>,
    /// The metric code.
    pub metric: &'static str,
    /// The quantity's integer part (no fraction).
    pub units: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// The idempotency key.
    pub key: String,
}

/// Inserts `events` as the ingestion path does (1,000 rows per statement,
/// `ON CONFLICT DO NOTHING`), without validation; returns the rows added.
pub async fn insert_events(
    db: &impl ConnectionTrait,
    events: &[RawEvent],
    now: DateTime<Utc>,
) -> u64 {
    let mut added = 0;
    for chunk in events.chunks(1000) {
        let mut sql = String::from(
            "INSERT INTO usage_events (id, tenant_id, reseller_id, metric_code, quantity_units, quantity_nanos, occurred_at, idempotency_key, properties, received_at) VALUES ",
        );
        let mut values: Vec<Value> = vec![now.into()];
        for (i, e) in chunk.iter().enumerate() {
            let b = 2 + i * 7;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(${b}, ${}, ${}, ${}, ${}, 0, ${}, ${}, NULL, $1)",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6
            ));
            values.extend([
                Uuid::now_v7().into(),
                e.tenant.into(),
                e.reseller.into(),
                e.metric.into(),
                e.units.into(),
                e.at.into(),
                e.key.clone().into(),
            ]);
        }
        sql.push_str(" ON CONFLICT (tenant_id, idempotency_key) DO NOTHING");
        added += db
            .execute_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                &sql,
                values,
            ))
            .await
            .expect("insert")
            .rows_affected();
    }
    added
}

/// Inserts `events` in transactions of `batch` rows, `concurrency` at a
/// time, as the HTTP path commits one request's rows together.
pub async fn insert_batches(
    db: &DatabaseConnection,
    events: &[RawEvent],
    batch: usize,
    concurrency: usize,
    now: DateTime<Utc>,
) -> u64 {
    let mut added = 0;
    let batches: Vec<&[RawEvent]> = events.chunks(batch).collect();
    for group in batches.chunks(concurrency) {
        let runs = group.iter().map(|rows| async move {
            let txn = db.begin().await.expect("begin");
            let n = insert_events(&txn, rows, now).await;
            txn.commit().await.expect("commit");
            n
        });
        added += futures::future::join_all(runs)
            .await
            .into_iter()
            .sum::<u64>();
    }
    added
}

/// A rate for printing.
pub fn per_second(n: u64, elapsed: std::time::Duration) -> u64 {
    let ms = u64::try_from(elapsed.as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    n.saturating_mul(1000) / ms
}
