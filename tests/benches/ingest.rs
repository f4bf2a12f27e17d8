//! Usage ingestion throughput on PostgreSQL: events/s through
//! `POST /v1/usage` (validation, authorization, JSON, HTTP) against the same
//! rows inserted straight into the database.
//!
//! `COPLANE_TEST_DATABASE_URL=postgres://… cargo bench -p coplane-tests --bench ingest`
//! (`COPLANE_BENCH_EVENTS`, default 200000; batches of 5,000, 4 at a time).

use std::time::Instant;

use coplane_domain::Clock;
use coplane_tests::bench::{RawEvent, insert_batches, per_second};
use coplane_tests::{Backend, postgres_available, spawn_app};
use serde_json::{Value, json};

const BATCH: usize = 5000;
const CONCURRENCY: usize = 4;

async fn gql(app: &coplane_tests::TestApp, token: &str, q: &str, input: Value) -> Value {
    let body = app
        .graphql_vars(q, json!({ "input": input }), Some(token))
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    body["data"].clone()
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
        .unwrap_or(200_000);
    let app = spawn_app(Backend::Postgres).await;
    let steward = app.token(&["steward"], "bench");
    gql(&app, &steward, "mutation($input: CreateBillableMetricInput!) { createBillableMetric(input: $input) { billableMetric { id } } }",
        json!({ "code": "api_calls", "name": "API calls", "aggregation": "sum", "unit": "call" })).await;
    let customer = gql(&app, &steward, "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } } }",
        json!({ "name": "Bench", "billingEmail": "b@example.org", "country": "DE", "currency": "EUR", "taxRate": "0" })).await["createCustomer"]["customer"]["id"].clone();
    let mut tenants = Vec::new();
    for i in 0..10 {
        let t = gql(&app, &steward, "mutation($input: CreateTenantInput!) { createTenant(input: $input) { tenant { id } } }",
            json!({ "customerId": customer, "slug": format!("bench-{i}"), "quota": { "cpuMillis": "100", "memoryBytes": "1048576", "storageBytes": "0", "pods": "1", "appInstalls": "0" } })).await["createTenant"]["tenant"]["id"].as_str().unwrap().to_owned();
        tenants.push(t);
    }
    let now = app.clock.now();
    let ts = now.to_rfc3339();

    // Through HTTP.
    let batches: Vec<String> = (0..n.div_ceil(BATCH))
        .map(|b| {
            let rows: Vec<Value> = (b * BATCH..((b + 1) * BATCH).min(n))
                .map(|i| json!({ "tenantId": tenants[i % tenants.len()], "metric": "api_calls", "quantity": "1.5", "timestamp": ts, "idempotencyKey": format!("h-{i}") }))
                .collect();
            serde_json::to_string(&rows).unwrap()
        })
        .collect();
    let started = Instant::now();
    let mut accepted = 0;
    for group in batches.chunks(CONCURRENCY) {
        let sends = group.iter().map(|body| {
            app.client
                .post(format!("{}/v1/usage", app.address))
                .bearer_auth(&steward)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
        });
        for res in futures::future::join_all(sends).await {
            let r: Value = res.unwrap().json().await.unwrap();
            accepted += r["accepted"].as_u64().unwrap();
        }
    }
    let http = started.elapsed();
    assert_eq!(accepted, n as u64);

    // Straight into the database, the same rows.
    let ids: Vec<uuid::Uuid> = tenants
        .iter()
        .map(|t| {
            let (_, id) = coplane_graphql::node::decode(t).unwrap();
            id
        })
        .collect();
    let rows: Vec<RawEvent> = (0..n)
        .map(|i| RawEvent {
            tenant: ids[i % ids.len()],
            reseller: None,
            metric: "api_calls",
            units: 1,
            at: now,
            key: format!("d-{i}"),
        })
        .collect();
    let started = Instant::now();
    let added = insert_batches(&app.db, &rows, BATCH, CONCURRENCY, now).await;
    let direct = started.elapsed();
    assert_eq!(added, n as u64);

    println!(
        "ingest: {n} events through POST /v1/usage in {:.2} s = {} events/s (batches of {BATCH}, {CONCURRENCY} concurrent)",
        http.as_secs_f64(),
        per_second(n as u64, http)
    );
    println!(
        "ingest: {n} events inserted straight into PostgreSQL in {:.2} s = {} events/s (the same batching: transactions of {BATCH} rows, 1,000 per INSERT, {CONCURRENCY} concurrent)",
        direct.as_secs_f64(),
        per_second(n as u64, direct)
    );
    app.run_pending_jobs().await;
    app.finish().await;
}
