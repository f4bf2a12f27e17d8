//! Level metrics integrated by the database, checked against the pure
//! integration over the same stored events: fractions of seconds, ties,
//! the level before the window, an event on its start, a tenant with only
//! a level from before.

use chrono::{DateTime, Duration, DurationRound, Utc};
use coplane_domain::Clock;
use coplane_domain::billing::metrics::{Aggregation, Event, aggregate};
use coplane_domain::billing::usage::{metric_defs, quantities};
use coplane_domain::ids::TenantId;
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::Value;

use super::*;
use crate::tenancy::fixture::{Fixture, uuid_of};
use crate::test_both_dbs;

/// The stored events of `disk_gib` before `end`, by tenant in time order,
/// as the pure integration reads them.
async fn stored(app: &TestApp, end: DateTime<Utc>) -> Vec<(TenantId, Event)> {
    app.db
        .query_all_raw(Statement::from_sql_and_values(
            app.db.get_database_backend(),
            "SELECT tenant_id, occurred_at, quantity_units, quantity_nanos FROM usage_events \
             WHERE metric_code = 'disk_gib' AND occurred_at < $1 ORDER BY tenant_id, occurred_at, id",
            vec![end.into()],
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let units: i64 = r.try_get("", "quantity_units").unwrap();
            let nanos: i64 = r.try_get("", "quantity_nanos").unwrap();
            (
                r.try_get("", "tenant_id").unwrap(),
                Event {
                    at: r.try_get("", "occurred_at").unwrap(),
                    quantity: Decimal::from(units) + Decimal::new(nanos, 9),
                    value: None,
                },
            )
        })
        .collect()
}

/// The pure integration of `tenant`'s level over `[start, end)`, or `None`
/// when it has no level there.
fn expected(
    events: &[(TenantId, Event)],
    tenant: TenantId,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Option<Decimal> {
    let mine: Vec<&Event> = events
        .iter()
        .filter(|(t, _)| *t == tenant)
        .map(|(_, e)| e)
        .collect();
    let before = mine.iter().rev().find(|e| e.at < start).map(|e| e.quantity);
    let inside: Vec<Event> = mine
        .iter()
        .filter(|e| e.at >= start && e.at < end)
        .map(|e| (*e).clone())
        .collect();
    (before.is_some() || !inside.is_empty())
        .then(|| aggregate(Aggregation::WeightedSum, &inside, start, end, before))
}

test_both_dbs!(
    levels_integrate_in_the_database_as_the_pure_rule_does,
    |app| {
        let f = Fixture::new(&app).await;
        metric(&app, &f.steward, "disk_gib", "weighted_sum").await;
        let now = app.clock.now();
        let start = now.duration_trunc(Duration::hours(1)).unwrap() - Duration::days(2);
        let end = start + Duration::days(1);
        let at =
            |secs: i64, nanos: i64| start + Duration::seconds(secs) + Duration::nanoseconds(nanos);
        let (a, b) = (f.a.tenant_id.clone(), f.b.tenant_id.clone());
        let events: Vec<Value> = vec![
            // a: a level from before, one on the start, fractions whose
            // difference truncates, two at one instant (the later row holds).
            ev(&a, "disk_gib", "7.25", at(-3_600, 0), "a0"),
            ev(&a, "disk_gib", "2", at(-60, 0), "a1"),
            ev(&a, "disk_gib", "3.000000001", at(0, 0), "a2"),
            ev(&a, "disk_gib", "5", at(1_000, 900_000_000), "a3"),
            ev(&a, "disk_gib", "11", at(2_001, 100_000_000), "a4"),
            ev(&a, "disk_gib", "13.5", at(2_001, 100_000_000), "a5"),
            ev(&a, "disk_gib", "0.5", at(40_000, 123_456_789), "a6"),
            ev(&a, "disk_gib", "1000000", at(80_000, 999_999_000), "a7"),
            ev(&a, "disk_gib", "99", at(86_400, 0), "after-the-window"),
            // b: only a level from before the window.
            ev(&b, "disk_gib", "4.4", at(-7_200, 500_000_000), "b0"),
        ];
        let r = ingest(&app, &f.steward, Value::Array(events)).await;
        assert_eq!(r["accepted"], 10, "{r}");

        let metrics = metric_defs(&app.db).await.unwrap();
        let all = quantities(&app.db, &metrics, None, start, end)
            .await
            .unwrap();
        let stored = stored(&app, now).await;
        for slug_id in [&a, &b] {
            let t = TenantId::from(uuid_of(slug_id));
            let want = expected(&stored, t, start, end);
            assert!(want.is_some());
            let got = all.get(&(t, "disk_gib".to_owned())).copied();
            assert_eq!(got, want, "the whole window, tenant {t}");
            let one = quantities(&app.db, &metrics, Some(t), start, end)
                .await
                .unwrap();
            assert_eq!(
                one.get(&(t, "disk_gib".to_owned())).copied(),
                want,
                "tenant {t} alone"
            );
            // A later window of a's: starting between two events at one instant's second.
            let later = start + Duration::seconds(2_001);
            let part = quantities(&app.db, &metrics, Some(t), later, end)
                .await
                .unwrap();
            assert_eq!(
                part.get(&(t, "disk_gib".to_owned())).copied(),
                expected(&stored, t, later, end),
                "tenant {t} from {later}"
            );
        }
        // No level anywhere near: no quantity, as before.
        let early = start - Duration::days(30);
        let none = quantities(&app.db, &metrics, None, early, early + Duration::hours(1))
            .await
            .unwrap();
        assert!(none.is_empty(), "{none:?}");
        app.run_pending_jobs().await;
    }
);
