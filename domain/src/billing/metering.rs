//! Allocation metering: each hour, for each active tenant, a usage event
//! per allocation metric for what the tenant had allocated in that hour.
//!
//! Keys are `alloc:<metric>:<hour>`, so a rerun, a second worker or a late
//! run adds nothing twice, and a run after an outage fills the hours it
//! missed (up to [`LOOKBACK`]). A missed hour is metered with the quota
//! the tenant has when the job runs: quotas have no history.

use crate::usecase::SystemChange;
use chrono::{DateTime, Duration, DurationRound, Utc};
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DatabaseConnection};

use super::usage::{Valid, insert};

use crate::db::stmt;
use crate::error::Result;

/// How far back a run fills missed hours.
pub const LOOKBACK: Duration = Duration::hours(72);

const GIB: i64 = 1 << 30;

/// Meters every complete hour up to `now` that is not metered yet;
/// returns how many events it added.
pub async fn meter_allocations(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<u64> {
    let this_hour = now.duration_trunc(Duration::hours(1)).unwrap_or(now);
    let earliest = this_hour - LOOKBACK;
    let closed = super::usage::closed_windows(db).await?;
    let tenants = db
        .query_all_raw(stmt(
            db,
            "SELECT t.id, t.reseller_id, t.created_at, t.quota_cpu_millis, t.quota_memory_bytes, t.quota_storage_bytes, \
             (SELECT COUNT(*) FROM app_installs i WHERE i.tenant_id = t.id AND i.state NOT IN ('pending', 'uninstalled')) AS installs \
             FROM tenants t WHERE t.state = 'active'",
            vec![],
        ))
        .await?;
    let mut added = 0;
    for t in tenants {
        let created: DateTime<Utc> = t.try_get("", "created_at")?;
        let first_full = {
            let h = created
                .duration_trunc(Duration::hours(1))
                .unwrap_or(created);
            if h < created {
                h + Duration::hours(1)
            } else {
                h
            }
        };
        let levels = [
            (
                "cpu_core_hours",
                Decimal::new(t.try_get("", "quota_cpu_millis")?, 3),
            ),
            (
                "memory_gib_hours",
                Decimal::from(t.try_get::<i64>("", "quota_memory_bytes")?) / Decimal::from(GIB),
            ),
            (
                "storage_gib_hours",
                Decimal::from(t.try_get::<i64>("", "quota_storage_bytes")?) / Decimal::from(GIB),
            ),
            (
                "app_instance_hours",
                Decimal::from(t.try_get::<i64>("", "installs")?),
            ),
        ];
        let mut rows = Vec::new();
        let mut h = first_full.max(earliest);
        while h < this_hour {
            if !closed.iter().any(|(s, e)| *s <= h && h < *e) {
                for (metric, level) in &levels {
                    rows.push(Valid {
                        tenant_id: t.try_get("", "id")?,
                        reseller_id: t.try_get("", "reseller_id")?,
                        metric: (*metric).to_owned(),
                        quantity: crate::decimal::to_stored(*level).map_err(crate::Error::from)?,
                        at: h,
                        key: format!("alloc:{metric}:{}", h.format("%Y-%m-%dT%H")),
                        properties: None,
                    });
                }
            }
            h += Duration::hours(1);
        }
        if rows.is_empty() {
            continue;
        }
        let txn = SystemChange::begin(db).await?;
        for chunk in rows.chunks(1000) {
            added += insert(&txn, chunk, now).await?;
        }
        txn.commit().await?;
    }
    tracing::info!(added, "allocations metered");
    Ok(added)
}
