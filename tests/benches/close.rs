//! A billing period's close on PostgreSQL: 1,000 tenants (10 resellers ×
//! 10 customers × 10 tenants) with one million usage events (900,000
//! summed API calls, 100,000 disk levels integrated over time), closed and
//! finalized into 10 wholesale and 100 retail invoices.
//!
//! `COPLANE_TEST_DATABASE_URL=postgres://… cargo bench -p coplane-tests --bench close`
//! (`COPLANE_BENCH_EVENTS`, default 1000000; `COPLANE_BENCH_EXPLAIN` prints
//! the plans of its slowest reads).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::Duration;
use coplane_domain::Clock;
use coplane_domain::billing::close::{self, CloseOptions};
use coplane_tests::bench::{RawEvent, insert_batches, per_second};
use coplane_tests::{Backend, postgres_available, spawn_app};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};

async fn gql(app: &coplane_tests::TestApp, token: &str, q: &str, input: Value) -> Value {
    let body = app
        .graphql_vars(q, json!({ "input": input }), Some(token))
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    body["data"].clone()
}

fn id(v: &Value) -> uuid::Uuid {
    coplane_graphql::node::decode(v.as_str().unwrap())
        .unwrap()
        .1
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    assert!(
        postgres_available(),
        "this benchmark runs on PostgreSQL: set COPLANE_TEST_DATABASE_URL"
    );
    let n: usize = std::env::var("COPLANE_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let app = spawn_app(Backend::Postgres).await;
    let s = app.token(&["steward"], "bench");
    let real_now = app.clock.now();
    let (this_month, _) = close::month_of(real_now);
    let (last_month, _) = close::month_of(this_month - Duration::seconds(1));
    app.clock.set(last_month);

    for (code, agg) in [("api_calls", "sum"), ("disk_gib", "weighted_sum")] {
        gql(&app, &s, "mutation($input: CreateBillableMetricInput!) { createBillableMetric(input: $input) { billableMetric { id } } }",
            json!({ "code": code, "name": code, "aggregation": agg, "unit": "u" })).await;
    }
    let plan = gql(&app, &s, "mutation($input: CreatePlanInput!) { createPlan(input: $input) { plan { id } } }",
        json!({ "code": "bench", "name": "Bench", "currency": "EUR", "baseFee": "9.90", "interval": "month",
                "includedQuota": { "cpuMillis": "100", "memoryBytes": "1048576", "storageBytes": "0", "pods": "1", "appInstalls": "0" }, "allowedApps": [] }))
        .await["createPlan"]["plan"]["id"].clone();
    gql(&app, &s, "mutation($input: SetPlanChargesInput!) { setPlanCharges(input: $input) { charges { metric } } }",
        json!({ "planId": plan, "charges": [
            { "metric": "api_calls", "charge": { "model": "graduated", "tiers": [{ "upTo": "500", "unitPrice": "0.001" }, { "unitPrice": "0.0005" }] } },
            { "metric": "disk_gib", "charge": { "model": "standard", "unitPrice": "0.0002", "freeUnits": "100" } } ] })).await;

    let setup = Instant::now();
    let mut tenants: Vec<(uuid::Uuid, uuid::Uuid)> = Vec::new();
    for r in 0..10 {
        let member = gql(&app, &s, "mutation($input: CreateMemberInput!) { createMember(input: $input) { member { id } } }",
            json!({ "kind": "organisation", "class": "reseller", "displayName": format!("R{r}"), "sharesHeld": "1", "joinedOn": "2026-01-01" }))
            .await["createMember"]["member"]["id"].clone();
        let reseller = gql(&app, &s, "mutation($input: CreateResellerInput!) { createReseller(input: $input) { reseller { id } } }",
            json!({ "memberId": member, "brandName": format!("R{r} Cloud"),
                    "allotment": { "cpuMillis": "100000", "memoryBytes": "1099511627776", "storageBytes": "0", "pods": "1000", "appInstalls": "0" } }))
            .await["createReseller"]["reseller"]["id"].clone();
        gql(&app, &s, "mutation($input: SetResellerBillingTermsInput!) { setResellerBillingTerms(input: $input) { resellerId } }",
            json!({ "resellerId": reseller, "wholesaleDiscount": "0.2", "taxRate": "0.19" })).await;
        for c in 0..10 {
            let customer = gql(&app, &s, "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } } }",
                json!({ "resellerId": reseller, "name": format!("C{r}-{c}"), "billingEmail": "c@example.org", "country": "DE", "currency": "EUR", "taxRate": "0.19" }))
                .await["createCustomer"]["customer"]["id"].clone();
            let creates = (0..10).map(|t| {
                let input = json!({ "customerId": customer, "slug": format!("t{r}-{c}-{t}"), "planId": plan,
                    "quota": { "cpuMillis": "100", "memoryBytes": "1048576", "storageBytes": "0", "pods": "1", "appInstalls": "0" } });
                let app = &app;
                let s = &s;
                async move {
                    gql(app, s, "mutation($input: CreateTenantInput!) { createTenant(input: $input) { tenant { id } } }", input)
                        .await["createTenant"]["tenant"]["id"].clone()
                }
            });
            for t in futures::future::join_all(creates).await {
                tenants.push((id(&t), id(&reseller)));
            }
        }
    }
    let setup = setup.elapsed();

    let seconds = (this_month - last_month).num_seconds();
    let events: Vec<RawEvent> = (0..n)
        .map(|i| {
            let (tenant, reseller) = tenants[i % tenants.len()];
            let nth = i64::try_from(i / tenants.len()).unwrap_or(0);
            let disk = i % 10 == 9;
            RawEvent {
                tenant,
                reseller: Some(reseller),
                metric: if disk { "disk_gib" } else { "api_calls" },
                units: if disk { 5 + nth % 50 } else { 1 + nth % 3 },
                at: last_month
                    + Duration::seconds(
                        (nth * 2_591 + i64::try_from(i % 97).unwrap_or(0)) % seconds,
                    ),
                key: format!("e-{i}"),
            }
        })
        .collect();
    let started = Instant::now();
    let added = insert_batches(&app.db, &events, 10_000, 2, real_now).await;
    let inserted = started.elapsed();
    assert_eq!(added, n as u64);

    app.clock.set(real_now);
    // What autovacuum does after a bulk load, long before a period closes:
    // statistics for the planner, and the rows' visibility recorded.
    app.db
        .execute_unprepared("VACUUM ANALYZE usage_events")
        .await
        .unwrap();
    // The raw aggregation the close is held to, over the same events: one
    // run to warm up (it also sets the fresh rows' hint bits, which the close
    // would otherwise pay for), then the median of three.
    let raw_sql = "SELECT tenant_id, metric_code, COUNT(*) AS n, SUM(quantity_units) AS units, SUM(quantity_nanos) AS nanos \
                   FROM usage_events WHERE occurred_at >= $1 AND occurred_at < $2 GROUP BY tenant_id, metric_code";
    let mut raws = Vec::new();
    let mut groups = 0;
    for _ in 0..4 {
        let started = Instant::now();
        groups = app
            .db
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                raw_sql,
                vec![last_month.into(), this_month.into()],
            ))
            .await
            .unwrap()
            .len();
        raws.push(started.elapsed());
    }
    let mut timed = raws.split_off(1);
    timed.sort();
    let raw = timed[1];

    let statements = Arc::new(Mutex::new(
        BTreeMap::<String, (u64, std::time::Duration)>::new(),
    ));
    // The slowest statements, to explain with `COPLANE_BENCH_EXPLAIN`.
    let slowest = Arc::new(Mutex::new(Vec::<(std::time::Duration, Statement)>::new()));
    let mut counted = app.db.clone();
    let (tally, slow) = (statements.clone(), slowest.clone());
    counted.set_metric_callback(move |info| {
        let mut t = tally.lock().unwrap();
        let e = t.entry(kind(&info.statement.sql)).or_default();
        e.0 += 1;
        e.1 += info.elapsed;
        let mut s = slow.lock().unwrap();
        s.push((info.elapsed, info.statement.clone()));
        s.sort_by_key(|(took, _)| std::cmp::Reverse(*took));
        s.truncate(3);
    });
    let started = Instant::now();
    let report = close::close(&counted, last_month, CloseOptions::default(), real_now)
        .await
        .unwrap();
    let closed = started.elapsed();
    let again = Instant::now();
    let rerun = close::close(&app.db, last_month, CloseOptions::default(), real_now)
        .await
        .unwrap();
    let rerun_time = again.elapsed();

    println!(
        "close: setup of {} tenants through GraphQL in {:.1} s; {n} events inserted in {:.1} s ({} events/s)",
        tenants.len(),
        setup.as_secs_f64(),
        inserted.as_secs_f64(),
        per_second(n as u64, inserted)
    );
    println!(
        "close: period closed and finalized in {:.2} s: {} invoices made ({})",
        closed.as_secs_f64(),
        report.created,
        report.state
    );
    println!(
        "close: closing it again made {} and took {:.3} s",
        rerun.created,
        rerun_time.as_secs_f64()
    );
    if std::env::var_os("COPLANE_BENCH_EXPLAIN").is_some() {
        let slowest = slowest.lock().unwrap().clone();
        for (took, statement) in slowest
            .into_iter()
            .filter(|(_, s)| s.sql.starts_with("SELECT"))
        {
            let mut explain = statement.clone();
            explain.sql = format!("EXPLAIN (ANALYZE, BUFFERS) {}", statement.sql);
            println!(
                "close: explained ({:.3} s in the close): {}",
                took.as_secs_f64(),
                statement.sql
            );
            for row in app.db.query_all_raw(explain).await.unwrap() {
                println!(
                    "close:   {}",
                    row.try_get::<String>("", "QUERY PLAN").unwrap()
                );
            }
        }
    }
    let statements = statements.lock().unwrap().clone();
    let (count, in_db) = statements
        .values()
        .fold((0, std::time::Duration::ZERO), |(n, d), (c, e)| {
            (n + c, d + *e)
        });
    println!(
        "close: {count} statements, {:.2} s of them in the database:",
        in_db.as_secs_f64()
    );
    for (k, (c, e)) in &statements {
        println!("close:   {c:>6} × {k}: {:.3} s", e.as_secs_f64());
    }
    // A printed figure only.
    #[allow(clippy::float_arithmetic)]
    let ratio = closed.as_secs_f64() / raw.as_secs_f64();
    println!(
        "close: close {:.3} s; raw GROUP BY tenant, metric ({groups} groups) {:.3} s (median of {:.3}, {:.3}, {:.3} s); ratio {ratio:.2} (target: at most 2.0)",
        closed.as_secs_f64(),
        raw.as_secs_f64(),
        timed[0].as_secs_f64(),
        timed[1].as_secs_f64(),
        timed[2].as_secs_f64()
    );
    assert_eq!(report.created, 110);
    assert_eq!(rerun.created, 0);
    app.run_pending_jobs().await;
    app.finish().await;
}

/// A statement's kind for the tally: its verb and first table.
fn kind(sql: &str) -> String {
    let words: Vec<&str> = sql.split_whitespace().collect();
    let verb = words.first().copied().unwrap_or("").to_uppercase();
    let after = match verb.as_str() {
        "INSERT" | "DELETE" => "INTO",
        "UPDATE" => "UPDATE",
        _ => "FROM",
    };
    let table = words
        .iter()
        .position(|w| {
            w.eq_ignore_ascii_case(after) || (after == "INTO" && w.eq_ignore_ascii_case("FROM"))
        })
        .and_then(|i| words.get(i + 1))
        .map_or("", |t| t.trim_matches('"'));
    format!("{verb} {table}")
}
