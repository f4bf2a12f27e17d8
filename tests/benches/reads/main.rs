//! The read path under load: coplane's tenant list next to PostGraphile 4
//! on the same database, and the SQL that serves the page through pgbench
//! as the ceiling.
//!
//! Builds the dataset of `dataset.rs` (1,000 tenants, 110 invoices) through
//! coplane's GraphQL API on a fresh PostgreSQL database, runs its jobs, then
//! loads, with `wrk` at 64 connections (`COPLANE_BENCH_WARMUP_SECS`,
//! default 2, of warm-up, then `COPLANE_BENCH_LOAD_SECS`, default 10,
//! measured):
//!
//! - coplane `tenants(first: 50)` with customer and reseller, as a steward;
//! - coplane `{ viewer { id } }` (the server's floor), `node(id:)` for a
//!   tenant, a customer's tenants with their installs, and the invoice list
//!   with its lines;
//! - PostGraphile 4 `allTenants(first: 50)`, the same fields, no auth;
//! - pgbench running the count and the joined page of 50.
//!
//! coplane runs in this process as `coplane serve` does: the same pool size,
//! allocator and log subscriber (JSON at `info`, into a file). Everything
//! reaches the database without TLS, as PostGraphile does by default. For
//! coplane it also prints this process's CPU time per request.
//!
//! Then the SQL statements one coplane request runs, from coplane's own
//! `coplane_db_statements_total` counter (`/metrics`).
//!
//! `COPLANE_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres
//! cargo bench -p coplane-tests --bench reads`. Needs `wrk`, `pgbench` and
//! `npm`; PostGraphile is installed into `~/.cache/coplane-postgraphile`
//! (`COPLANE_BENCH_POSTGRAPHILE_DIR`) when missing. `COPLANE_BENCH_ONLY`
//! (comma-separated: list, viewer, node, customer, invoices, postgraphile,
//! pgbench) loads only those. Nothing is asserted about time; every response
//! is checked once before it is loaded.

// Rates, latencies and ratios are printed figures only.
#![allow(
    clippy::float_arithmetic,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss
)]

mod dataset;
mod load;

use std::time::Instant;

use coplane_tests::{Backend, TempDir, TestApp, postgres_available, spawn_app_with};
use secrecy::ExposeSecret;
use serde_json::json;

use dataset::{CUSTOMERS_PER_RESELLER, RESELLERS, TENANTS_PER_CUSTOMER};
use load::{CONNECTIONS, Measured, Target, post};

#[global_allocator]
static ALLOCATOR: coplane_api::Allocator = coplane_api::ALLOCATOR;

/// coplane's production pool size (the suite uses 8).
const POOL: &str = "10";

const COPLANE_LIST: &str = "{ tenants(first: 50) { totalCount edges { node { slug quota { cpuMillis memoryBytes } customer { name } reseller { brandName } } } } }";
const VIEWER: &str = "{ viewer { id } }";
const INVOICES: &str = "{ invoices(first: 50) { totalCount edges { node { number status recipientName total { amount currency } lines { description quantity amount { amount } } } } } }";
const POSTGRAPHILE_LIST: &str = "{ allTenants(first: 50, orderBy: PRIMARY_KEY_ASC) { totalCount nodes { slug quotaCpuMillis quotaMemoryBytes customerByCustomerId { name } resellerByResellerId { brandName } } } }";
/// The SQL behind one page: the count, and the joined page in id order.
const PAGE_SQL: &str = "SELECT count(*) FROM tenants;\nSELECT t.id, t.slug, t.quota_cpu_millis, t.quota_memory_bytes, c.name, r.brand_name FROM tenants t JOIN customers c ON c.id = t.customer_id LEFT JOIN resellers r ON r.id = t.reseller_id ORDER BY t.id LIMIT 50;\n";

/// Whether `COPLANE_BENCH_ONLY` (unset: everything) names `what`.
fn wanted(what: &str) -> bool {
    std::env::var("COPLANE_BENCH_ONLY")
        .map_or(true, |only| only.split(',').any(|w| w.trim() == what))
}

fn node_query(id: &str) -> String {
    format!(
        "{{ node(id: \"{id}\") {{ id ... on Tenant {{ slug quota {{ cpuMillis memoryBytes }} customer {{ name }} reseller {{ brandName }} }} }} }}"
    )
}

fn customer_query(id: &str) -> String {
    format!(
        "{{ node(id: \"{id}\") {{ ... on Customer {{ name }} }} tenants(customerId: \"{id}\", first: 10) {{ totalCount edges {{ node {{ slug appInstalls {{ id state }} }} }} }} }}"
    )
}

fn list_query(first: usize) -> String {
    COPLANE_LIST.replace("first: 50", &format!("first: {first}"))
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `coplane_db_statements_total` from `/metrics`.
async fn statements_total(app: &TestApp) -> u64 {
    let text = app
        .get("/metrics")
        .await
        .text()
        .await
        .expect("a metrics body");
    text.lines()
        .find_map(|l| l.strip_prefix("coplane_db_statements_total "))
        .and_then(|n| n.trim().parse().ok())
        .expect("coplane_db_statements_total is exported")
}

/// The statements one request runs: the counter's delta around it, less
/// what a scrape of `/metrics` itself runs (measured just before). The
/// in-process worker's polls of the job queue land in either window now and
/// then, so this is the most frequent of 9 such measurements.
async fn statements_per_request(
    app: &TestApp,
    client: &reqwest::Client,
    target: &Target,
    query: &str,
) -> String {
    let body = app
        .graphql_vars(query, json!({}), target.token.as_deref())
        .await;
    if let Some(errors) = body.get("errors") {
        return format!("refused ({errors})");
    }
    let mut seen: Vec<i64> = Vec::new();
    for _ in 0..9 {
        let s0 = statements_total(app).await;
        let s1 = statements_total(app).await;
        post(client, target, query).await;
        let s2 = statements_total(app).await;
        seen.push(i64::try_from(s2 - s1).unwrap_or(i64::MAX) - i64::try_from(s1 - s0).unwrap_or(0));
    }
    seen.sort_unstable();
    let mode = seen
        .iter()
        .max_by_key(|n| seen.iter().filter(|m| m == n).count())
        .copied()
        .unwrap_or(-1);
    mode.to_string()
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 && a.is_finite() && b.is_finite() {
        format!("{:.3}", a / b)
    } else {
        "n/a".to_owned()
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if !postgres_available() {
        println!(
            "reads: needs PostgreSQL: set COPLANE_TEST_DATABASE_URL (postgres://postgres@127.0.0.1:5432/postgres)"
        );
        return;
    }
    let warmup = env_number("COPLANE_BENCH_WARMUP_SECS", 2);
    let secs = env_number("COPLANE_BENCH_LOAD_SECS", 10).max(1);
    let started = Instant::now();
    let dir = TempDir::new();
    let log = std::fs::File::create(dir.0.join("coplane.log")).expect("create the log file");
    coplane_api::telemetry::init_with(
        coplane_api::settings::LogFormat::Json,
        tracing_subscriber::fmt::writer::BoxMakeWriter::new(std::sync::Mutex::new(log)),
    );
    let app = spawn_app_with(Backend::Postgres, |env| {
        for (k, v) in env.iter_mut() {
            if k == "COPLANE_DATABASE_MAX_CONNECTIONS" {
                *v = POOL.to_owned();
            }
            if k == "COPLANE_DATABASE_URL" {
                v.push_str(if v.contains('?') { "&" } else { "?" });
                v.push_str("sslmode=disable");
            }
        }
    })
    .await;
    let database_url = app.settings.database.url.expose_secret().to_owned();
    assert!(database_url.contains("sslmode=disable"), "{database_url}");
    let steward = app.token(&["steward"], "steward");
    let client = reqwest::Client::new();

    let t = Instant::now();
    let dataset = dataset::build(&app, &steward).await;
    let built = t.elapsed();
    let t = Instant::now();
    let jobs = app.run_pending_jobs().await;
    let ran = t.elapsed();
    app.execute("ANALYZE", Vec::new()).await;
    println!(
        "reads: dataset through the GraphQL API in {} ms: {RESELLERS} resellers, {} customers, {} tenants, {} invoices from last month's close; {jobs} jobs run in {} ms; ANALYZE; database {}",
        built.as_millis(),
        RESELLERS * CUSTOMERS_PER_RESELLER,
        RESELLERS * CUSTOMERS_PER_RESELLER * TENANTS_PER_CUSTOMER,
        dataset.invoices,
        ran.as_millis(),
        database_url.rsplit('/').next().unwrap_or("?"),
    );

    let graphql = format!("{}/graphql", app.address);
    let coplane = |name: &str, query: String| Target {
        name: name.to_owned(),
        url: graphql.clone(),
        token: Some(steward.clone()),
        query,
        in_process: true,
    };
    let list = coplane("coplane tenants(first: 50)", COPLANE_LIST.to_owned());
    let viewer = coplane("coplane { viewer { id } }", VIEWER.to_owned());
    let node = coplane("coplane node(id:) tenant", node_query(&dataset.tenant));
    let customer = coplane(
        "coplane customer + its tenants + installs",
        customer_query(&dataset.customer),
    );
    let invoices = coplane("coplane invoices(first: 50) + lines", INVOICES.to_owned());

    // Every response checked once.
    let body = post(&client, &list, &list.query).await;
    assert_eq!(body["data"]["tenants"]["totalCount"], 1000, "{body}");
    let edges = body["data"]["tenants"]["edges"].as_array().expect("edges");
    assert_eq!(edges.len(), 50, "{body}");
    assert!(edges[0]["node"]["customer"]["name"].is_string(), "{body}");
    assert!(
        edges[0]["node"]["reseller"]["brandName"].is_string(),
        "{body}"
    );
    let body = post(&client, &viewer, &viewer.query).await;
    assert_eq!(body["data"]["viewer"]["id"], "steward", "{body}");
    let body = post(&client, &node, &node.query).await;
    assert!(
        body["data"]["node"]["customer"]["name"].is_string(),
        "{body}"
    );
    let body = post(&client, &customer, &customer.query).await;
    assert_eq!(body["data"]["tenants"]["totalCount"], 10, "{body}");
    assert!(body["data"]["node"]["name"].is_string(), "{body}");
    let body = post(&client, &invoices, &invoices.query).await;
    assert_eq!(
        body["data"]["invoices"]["totalCount"],
        json!(dataset.invoices),
        "{body}"
    );
    let edges = body["data"]["invoices"]["edges"].as_array().expect("edges");
    assert_eq!(edges.len(), 50, "{body}");
    let lines: usize = edges
        .iter()
        .map(|e| e["node"]["lines"].as_array().map_or(0, Vec::len))
        .sum();
    assert!(lines >= 500, "{lines} lines: {body}");
    println!(
        "reads: Customer has no `tenants` field in schema.graphql: the customer case is `node(id:) {{ ... on Customer {{ name }} }}` plus `tenants(customerId:, first: 10) {{ slug appInstalls {{ id state }} }}` (first: 10: appInstalls weighs 50 a tenant against the complexity limit of 2,000; the customer has 10 tenants); the dataset has no installs, so every appInstalls list is empty; the invoice page holds {lines} lines"
    );

    let mut rows = Vec::new();
    for (key, target) in [
        ("list", &list),
        ("viewer", &viewer),
        ("node", &node),
        ("customer", &customer),
        ("invoices", &invoices),
    ] {
        if wanted(key) {
            rows.push(load::load(target, &dir.0, warmup, secs).await);
        }
    }

    // PostGraphile on the same database.
    let mut pg_version = String::from("-");
    if wanted("postgraphile") {
        let pg = load::start_postgraphile(&database_url, &dir.0.join("postgraphile.log")).await;
        pg_version.clone_from(&pg.version);
        let pg_list = Target {
            name: format!("PostGraphile {} allTenants(first: 50)", pg.version),
            url: pg.url.clone(),
            token: None,
            query: POSTGRAPHILE_LIST.to_owned(),
            in_process: false,
        };
        let body = load::wait_ready(&client, &pg_list).await;
        assert_eq!(body["data"]["allTenants"]["totalCount"], 1000, "{body}");
        let nodes = body["data"]["allTenants"]["nodes"]
            .as_array()
            .expect("nodes");
        assert_eq!(nodes.len(), 50, "{body}");
        assert!(
            nodes[0]["customerByCustomerId"]["name"].is_string(),
            "{body}"
        );
        assert!(
            nodes[0]["resellerByResellerId"]["brandName"].is_string(),
            "{body}"
        );
        rows.insert(
            1.min(rows.len()),
            load::load(&pg_list, &dir.0, warmup, secs).await,
        );
        let mut child = pg.child;
        child.kill().await.ok();
    }
    if wanted("pgbench") {
        let sql = load::pgbench(&database_url, &dir.0, PAGE_SQL, warmup, secs);
        rows.insert(2.min(rows.len()), sql);
    }

    println!(
        "reads: wrk -t2 -c{CONNECTIONS} -d{secs}s --latency after {warmup} s of warm-up, POST /graphql; coplane in-process (spawn_app, pool {POOL}) with a steward JWT; PostGraphile {pg_version} (CLI, default pool, no auth); pgbench -n -M prepared -c {CONNECTIONS} -j 2 -T {secs} (its own {CONNECTIONS} connections, latencies from -l); no TLS to the database"
    );
    println!(
        "{:<46} {:>10} {:>9} {:>9} {:>9} {:>12}  problems",
        "target", "req/s", "p50 ms", "p99 ms", "requests", "cpu ms/req"
    );
    for m in &rows {
        println!(
            "{:<46} {:>10.1} {:>9.2} {:>9.2} {:>9} {:>12}  {}",
            m.name,
            m.rps,
            m.p50_ms,
            m.p99_ms,
            m.requests,
            if m.cpu_ms.is_finite() {
                format!("{:.3}", m.cpu_ms)
            } else {
                "-".to_owned()
            },
            if m.bad.is_empty() { "none" } else { &m.bad }
        );
    }
    let find = |prefix: &str| rows.iter().find(|m| m.name.starts_with(prefix));
    if let (Some(list_row), Some(pg_row), Some(sql_row)) = (
        find("coplane tenants"),
        find("PostGraphile"),
        find("pgbench"),
    ) {
        print_ratios(list_row, pg_row, sql_row);
    }

    // Statements per request, unloaded, one request at a time.
    let mut counts = Vec::new();
    for first in [10, 50, 100] {
        let n = statements_per_request(&app, &client, &list, &list_query(first)).await;
        counts.push(format!("first = {first}: {n}"));
    }
    for target in [&viewer, &node, &customer, &invoices] {
        let n = statements_per_request(&app, &client, target, &target.query).await;
        counts.push(format!("{}: {n}", target.name));
    }
    println!(
        "SQL statements per coplane request (delta of coplane_db_statements_total, sea-orm's per-statement metric callback, around one request, less a /metrics scrape's own): tenants list {}",
        counts.join("; ")
    );

    app.finish().await;
    println!("reads: done in {} s", started.elapsed().as_secs());
}

fn print_ratios(list_row: &Measured, pg_row: &Measured, sql_row: &Measured) {
    println!(
        "ratios (coplane list / other): req/s vs PostGraphile {}, vs pgbench {}; p50 vs PostGraphile {}, vs pgbench {}; p99 vs PostGraphile {}, vs pgbench {}",
        ratio(list_row.rps, pg_row.rps),
        ratio(list_row.rps, sql_row.rps),
        ratio(list_row.p50_ms, pg_row.p50_ms),
        ratio(list_row.p50_ms, sql_row.p50_ms),
        ratio(list_row.p99_ms, pg_row.p99_ms),
        ratio(list_row.p99_ms, sql_row.p99_ms),
    );
}
