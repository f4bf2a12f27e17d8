//! Usage ingestion and allocation metering.

use coplane_domain::Clock;
use serde_json::{Value, json};

use super::*;
use crate::table::Table;
use crate::tenancy::fixture::{Fixture, count};
use crate::test_both_dbs;

test_both_dbs!(usage_counts_each_key_once_and_reports_bad_rows, |app| {
    let f = Fixture::new(&app).await;
    metric(&app, &f.steward, "api_calls", "sum").await;
    let now = app.clock.now();
    let t = f.a.tenant_id.clone();
    let body = vec![
        ev(&t, "api_calls", "1.5", now, "k1"),
        ev(&t, "api_calls", "2", now, "k1"),
        ev(&t, "nope", "1", now, "k2"),
        ev(&t, "api_calls", "-1", now, "k3"),
        ev(&t, "api_calls", "abc", now, "k4"),
        ev(&t, "api_calls", "1", now + chrono::Duration::hours(1), "k5"),
        ev(&f.b.tenant_id, "api_calls", "1", now, "k6"),
        ev(&t, "api_calls", "1", now, ""),
        ev("no-such-tenant", "api_calls", "1", now, "k7"),
        ev(&t, "api_calls", "0.000000001", now, "k8"),
    ];
    let res = app
        .client
        .post(format!("{}/v1/usage", app.address))
        .bearer_auth(&f.a.reseller_token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let r: Value = res.json().await.unwrap();
    assert_eq!(
        (
            r["accepted"].clone(),
            r["duplicates"].clone(),
            r["rejected"].clone()
        ),
        (json!(2), json!(1), json!(7)),
        "{r}"
    );
    let codes: Vec<(i64, &str)> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["index"].as_i64().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        codes,
        [
            (2, "UNKNOWN_METRIC"),
            (3, "NEGATIVE_QUANTITY"),
            (4, "INVALID_QUANTITY"),
            (5, "TIMESTAMP_IN_FUTURE"),
            (6, "UNKNOWN_TENANT"),
            (7, "INVALID_IDEMPOTENCY_KEY"),
            (8, "UNKNOWN_TENANT"),
        ]
    );
    // NDJSON, by slug, with a line that is not JSON.
    let nd = format!(
        "{}\nnot json\n{}\n",
        json!({ "tenant": "alpha-shop", "metric": "api_calls", "quantity": 3, "timestamp": now.to_rfc3339(), "idempotencyKey": "n1" }),
        json!({ "tenant": "alpha-shop", "metric": "api_calls", "quantity": "4", "timestamp": now.to_rfc3339(), "idempotencyKey": "k1" }),
    );
    let r: Value = app
        .client
        .post(format!("{}/v1/usage", app.address))
        .bearer_auth(&f.a.reseller_token)
        .header("content-type", "application/x-ndjson")
        .body(nd)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            r["accepted"].clone(),
            r["duplicates"].clone(),
            r["rejected"].clone()
        ),
        (json!(1), json!(1), json!(1)),
        "{r}"
    );
    assert_eq!(r["errors"][0]["index"], 1);
    // The stored usage: 1.5 + 0.000000001 + 3, each key once.
    let usage = app
        .graphql_vars(
            "query($t: ID!, $from: DateTime!, $to: DateTime!) { usage(tenantId: $t, from: $from, to: $to) { metric quantity } }",
            json!({ "t": t, "from": (now - chrono::Duration::hours(1)).to_rfc3339(), "to": (now + chrono::Duration::hours(1)).to_rfc3339() }),
            Some(&f.a.tenant_admin_token),
        )
        .await;
    assert_eq!(
        usage["data"]["usage"],
        json!([{ "metric": "api_calls", "quantity": "4.500000001" }]),
        "{usage}"
    );
    // The other reseller sees none of it.
    let theirs = app
        .graphql_vars(
            "query($from: DateTime!, $to: DateTime!) { usage(from: $from, to: $to) { quantity } }",
            json!({ "from": (now - chrono::Duration::hours(1)).to_rfc3339(), "to": (now + chrono::Duration::hours(1)).to_rfc3339() }),
            Some(&f.b.reseller_token),
        )
        .await;
    assert_eq!(theirs["data"]["usage"], json!([]));
    let as_json = Some("application/json");
    let rows = [
        (
            "a member ingests",
            Some(&f.a.member_token),
            as_json,
            json!([ev(&t, "api_calls", "1", now, "m1")]).to_string(),
            403,
        ),
        ("anonymous", None, as_json, "[]".to_owned(), 401),
        (
            "a body that is not JSON",
            Some(&f.a.reseller_token),
            None,
            "[not json".to_owned(),
            400,
        ),
    ];
    let mut table = Table::new("POST /v1/usage refusals");
    for (name, token, content_type, body, status) in rows {
        table
            .row(name, status, async {
                let mut req = app
                    .client
                    .post(format!("{}/v1/usage", app.address))
                    .body(body);
                if let Some(t) = content_type {
                    req = req.header("content-type", t);
                }
                if let Some(t) = token {
                    req = req.bearer_auth(t);
                }
                let res = req.send().await.unwrap();
                let status = res.status().as_u16();
                (status, res.text().await.unwrap_or_default())
            })
            .await;
    }
    table.finish();
    app.run_pending_jobs().await;
});

test_both_dbs!(ten_thousand_concurrent_duplicates_count_once, |app| {
    let f = Fixture::new(&app).await;
    metric(&app, &f.steward, "api_calls", "sum").await;
    let now = app.clock.now();
    // 50 requests at once, each carrying the same event 200 times.
    let batch: Vec<Value> = (0..200)
        .map(|_| ev(&f.a.tenant_id, "api_calls", "7", now, "the-one"))
        .collect();
    let sends = (0..50).map(|_| {
        app.client
            .post(format!("{}/v1/usage", app.address))
            .bearer_auth(&f.a.reseller_token)
            .json(&batch)
            .send()
    });
    let mut accepted = 0;
    let mut duplicates = 0;
    for res in futures::future::join_all(sends).await {
        let r: Value = res.unwrap().json().await.unwrap();
        accepted += r["accepted"].as_i64().unwrap();
        duplicates += r["duplicates"].as_i64().unwrap();
    }
    assert_eq!((accepted, duplicates), (1, 9_999));
    assert_eq!(count(&app, "usage_events").await, 1);
    app.run_pending_jobs().await;
});

test_both_dbs!(
    allocation_metering_adds_each_hour_once_and_fills_gaps,
    |app| {
        let f = Fixture::new(&app).await;
        // The fixture's tenants are active once synced.
        app.run_pending_jobs().await;
        let start = app.clock.now();
        app.clock.set(start + chrono::Duration::hours(3));
        let first = coplane_domain::billing::metering::meter_allocations(&app.db, app.clock.now())
            .await
            .unwrap();
        assert!(first > 0);
        let again = coplane_domain::billing::metering::meter_allocations(&app.db, app.clock.now())
            .await
            .unwrap();
        assert_eq!(again, 0, "a rerun adds nothing");
        // The worker was away five hours: the next run fills them, once.
        app.clock.set(start + chrono::Duration::hours(8));
        let gap = coplane_domain::billing::metering::meter_allocations(&app.db, app.clock.now())
            .await
            .unwrap();
        assert_eq!(gap, 5 * 4 * 2, "5 hours × 4 metrics × 2 active tenants");
        // Alpha's tenant: 1000 millicores → 1 core-hour each hour.
        let usage = app
        .graphql_vars(
            "query($t: ID!, $from: DateTime!, $to: DateTime!) { usage(tenantId: $t, from: $from, to: $to) { metric quantity } }",
            json!({ "t": f.a.tenant_id, "from": start.to_rfc3339(), "to": app.clock.now().to_rfc3339() }),
            Some(&f.a.reseller_token),
        )
        .await;
        let cpu = usage["data"]["usage"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["metric"] == "cpu_core_hours")
            .cloned()
            .unwrap_or_default();
        let hours = count(&app, "usage_events").await / 8;
        assert_eq!(cpu["quantity"], json!(hours.to_string()), "{usage}");
        app.run_pending_jobs().await;
    }
);
