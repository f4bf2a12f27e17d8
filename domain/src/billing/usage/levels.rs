//! Level metrics (`weighted_sum`) integrated over a window in the database,
//! exactly as [`aggregate`](super::super::metrics::aggregate) integrates
//! them: each event sets the tenant's level from its time until the next
//! event (ties in `id` order), the last level before the window holds from
//! its start, and each stretch counts in whole seconds (the difference
//! truncated, as `chrono`'s `num_seconds`).
//!
//! Two statements per metric, run together: the window's events, each
//! paired with the next one's time (`LEAD`) as integer nanoseconds since the
//! epoch (both backends keep at most that), summed per tenant; and each
//! tenant's last level before the window (one index probe per tenant),
//! which holds until the tenant's first event in the window. Level ×
//! seconds is summed in three integer parts (whole billions of units, the
//! rest of the units, the nanos): the seconds of a tenant's stretches add up
//! to at most the window, so no part can pass 64 bits (SQLite sums integers
//! in 64 bits and fails past them).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, Value};

use crate::billing::metrics::level_hours;
use crate::db::{is_postgres, stmt};
use crate::decimal::{read_sum, stored};
use crate::error::Result;
use crate::ids::TenantId;

/// Nanoseconds since the epoch of a stored time, as an integer.
fn epoch_nanos(postgres: bool, x: &str) -> String {
    if postgres {
        // Exact: `EXTRACT` gives a numeric, to the microsecond.
        format!("CAST(EXTRACT(EPOCH FROM CAST({x} AS timestamptz)) * 1000000000 AS BIGINT)")
    } else {
        // sqlx stores SQLite times as RFC 3339 text ending `+00:00`, with
        // 0, 3, 6 or 9 fractional digits.
        format!(
            "(CAST(strftime('%s', {x}) AS INTEGER) * 1000000000 + CASE WHEN substr({x}, 20, 1) = '.' \
             THEN CAST(substr(substr({x}, 21, length({x}) - 26) || '000000000', 1, 9) AS INTEGER) ELSE 0 END)"
        )
    }
}

/// Per tenant, Σ level × whole seconds over the window's events (`$1`
/// start, `$2` end, `$3` the metric, `$4` the tenant when `one_tenant`),
/// and the first event's time. Integer division truncates, and the next
/// time is never before: whole seconds, as `num_seconds` counts them.
fn within_sql(postgres: bool, one_tenant: bool) -> String {
    let (at, end) = (
        epoch_nanos(postgres, "occurred_at"),
        epoch_nanos(postgres, "$2"),
    );
    let only = if one_tenant {
        " AND tenant_id = $4"
    } else {
        ""
    };
    format!(
        "SELECT tenant_id, MIN(occurred_at) AS first_at, \
           CAST(SUM((u / 1000000000) * secs) AS TEXT) AS held_hi_sum, \
           CAST(SUM((u % 1000000000) * secs) AS TEXT) AS held_lo_sum, \
           CAST(SUM(n * secs) AS TEXT) AS held_nanos_sum \
         FROM (SELECT tenant_id, occurred_at, u, n, \
                 (COALESCE(LEAD(at) OVER (PARTITION BY tenant_id ORDER BY at, id), {end}) - at) / 1000000000 AS secs \
               FROM (SELECT tenant_id, occurred_at, id, quantity_units AS u, quantity_nanos AS n, {at} AS at \
                     FROM usage_events WHERE metric_code = $3 AND occurred_at >= $1 AND occurred_at < $2{only}) e \
              ) held \
         GROUP BY tenant_id"
    )
}

/// Each tenant's last level before `$1` (`$2` the metric, `$3` the tenant
/// when `one_tenant`), ties in `id` order.
fn prior_sql(one_tenant: bool) -> String {
    let only = if one_tenant { " WHERE t.id = $3" } else { "" };
    format!(
        "SELECT t.id AS tenant_id, p.quantity_units AS u, p.quantity_nanos AS n FROM tenants t \
         JOIN usage_events p ON p.id = (SELECT q.id FROM usage_events q \
           WHERE q.tenant_id = t.id AND q.metric_code = $2 AND q.occurred_at < $1 \
           ORDER BY q.occurred_at DESC, q.id DESC LIMIT 1){only}"
    )
}

/// Each tenant's level of `metric` integrated over `[start, end)`, in
/// level-hours, for the tenants with a level in the window (`tenant`:
/// only that one).
pub(super) async fn weighted_sums(
    db: &impl ConnectionTrait,
    metric: &str,
    tenant: Option<TenantId>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<HashMap<TenantId, Decimal>> {
    let postgres = is_postgres(db);
    let mut within_args: Vec<Value> = vec![start.into(), end.into(), metric.into()];
    let mut prior_args: Vec<Value> = vec![start.into(), metric.into()];
    if let Some(t) = tenant {
        within_args.push(t.into());
        prior_args.push(t.into());
    }
    let (within, prior) = futures::join!(
        db.query_all_raw(stmt(
            db,
            &within_sql(postgres, tenant.is_some()),
            within_args,
        )),
        db.query_all_raw(stmt(db, &prior_sql(tenant.is_some()), prior_args)),
    );
    // Σ level × seconds per tenant, and when its first event in the window was.
    let mut held: HashMap<TenantId, (Decimal, DateTime<Utc>)> = HashMap::new();
    for r in within? {
        held.insert(
            r.try_get("", "tenant_id")?,
            (read_sum(&r, "held")?, r.try_get("", "first_at")?),
        );
    }
    let mut levels: HashMap<TenantId, Decimal> = HashMap::new();
    for r in prior? {
        levels.insert(
            r.try_get("", "tenant_id")?,
            stored(r.try_get("", "u")?, r.try_get("", "n")?),
        );
    }
    let mut out = HashMap::new();
    for (t, level) in &levels {
        // The level from before holds until the first event, or throughout.
        let until = held.get(t).map_or(end, |(_, first)| *first);
        let seconds = Decimal::from((until - start).num_seconds());
        let inside = held.remove(t).map_or(Decimal::ZERO, |(s, _)| s);
        out.insert(*t, level_hours(level * seconds + inside));
    }
    for (t, (inside, _)) in held {
        out.insert(t, level_hours(inside));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_backend_reads_its_times() {
        assert!(
            within_sql(true, false)
                .contains("EXTRACT(EPOCH FROM CAST(occurred_at AS timestamptz))")
        );
        assert!(within_sql(false, true).contains("strftime('%s', occurred_at)"));
        assert!(within_sql(false, true).contains("AND tenant_id = $4"));
        assert!(!within_sql(true, false).contains("$4"));
        assert!(prior_sql(true).ends_with("WHERE t.id = $3"));
    }
}
