//! The read path under load: coplane's tenant list next to PostGraphile 4
//! on the same database, and the SQL that serves the page through pgbench
//! as the ceiling.
//!
//! Builds 10 resellers, 100 customers (10 each) and 1,000 tenants (10 per
//! customer) through coplane's GraphQL API on a fresh PostgreSQL database,
//! runs their jobs, then loads, with `wrk` at 64 connections
//! (`COPLANE_BENCH_WARMUP_SECS`, default 2, of warm-up, then
//! `COPLANE_BENCH_LOAD_SECS`, default 10, measured):
//!
//! - coplane `tenants(first: 50)` with customer and reseller, as a steward;
//! - coplane `{ viewer { id } }` (the server's floor), `node(id:)` for a
//!   tenant, and a customer's tenants with their installs;
//! - PostGraphile 4 `allTenants(first: 50)`, the same fields, no auth;
//! - pgbench running the count and the joined page of 50.
//!
//! Then the SQL statements one coplane request runs, from coplane's own
//! `coplane_db_statements_total` counter (`/metrics`).
//!
//! `COPLANE_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres
//! cargo bench -p coplane-tests --bench reads`. Needs `wrk`, `pgbench` and
//! `npm`; PostGraphile is installed into `~/.cache/coplane-postgraphile`
//! (`COPLANE_BENCH_POSTGRAPHILE_DIR`) when missing. Nothing is asserted
//! about time; every response is checked once before it is loaded.

// Rates, latencies and ratios are printed figures only.
#![allow(
    clippy::float_arithmetic,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss
)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use coplane_tests::{Backend, TempDir, TestApp, mutate, postgres_available, spawn_app_with};
use futures::StreamExt;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

const RESELLERS: usize = 10;
const CUSTOMERS_PER_RESELLER: usize = 10;
const TENANTS_PER_CUSTOMER: usize = 10;
const CONNECTIONS: usize = 64;
/// coplane's production pool size (the suite uses 8).
const POOL: &str = "10";

const COPLANE_LIST: &str = "{ tenants(first: 50) { totalCount edges { node { slug quota { cpuMillis memoryBytes } customer { name } reseller { brandName } } } } }";
const VIEWER: &str = "{ viewer { id } }";
const POSTGRAPHILE_LIST: &str = "{ allTenants(first: 50, orderBy: PRIMARY_KEY_ASC) { totalCount nodes { slug quotaCpuMillis quotaMemoryBytes customerByCustomerId { name } resellerByResellerId { brandName } } } }";
/// The SQL behind one page: the count, and the joined page in id order.
const PAGE_SQL: &str = "SELECT count(*) FROM tenants;\nSELECT t.id, t.slug, t.quota_cpu_millis, t.quota_memory_bytes, c.name, r.brand_name FROM tenants t JOIN customers c ON c.id = t.customer_id LEFT JOIN resellers r ON r.id = t.reseller_id ORDER BY t.id LIMIT 50;\n";

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

fn quota(cpu: i64, memory: i64, storage: i64, pods: i64, installs: i64) -> Value {
    json!({
        "cpuMillis": cpu.to_string(),
        "memoryBytes": memory.to_string(),
        "storageBytes": storage.to_string(),
        "pods": pods.to_string(),
        "appInstalls": installs.to_string(),
    })
}

/// The dataset's ids.
struct Dataset {
    customer: String,
    tenant: String,
}

/// 10 resellers, 100 customers, 1,000 tenants, through the API.
async fn build_dataset(app: &TestApp, steward: &str) -> Dataset {
    let mut resellers = Vec::new();
    for r in 0..RESELLERS {
        let member = mutate(
            app,
            steward,
            "createMember",
            "CreateMemberInput",
            "member { id }",
            json!({ "kind": "organisation", "class": "reseller", "displayName": format!("Reseller {r}"), "sharesHeld": "1", "joinedOn": "2026-01-01" }),
        )
        .await["member"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let reseller = mutate(
            app,
            steward,
            "createReseller",
            "CreateResellerInput",
            "reseller { id }",
            json!({ "memberId": member, "brandName": format!("Reseller {r} Cloud"), "allotment": quota(1_000_000, 1 << 45, 1 << 50, 100_000, 100_000) }),
        )
        .await["reseller"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        resellers.push(reseller);
    }
    let customer_inputs: Vec<(usize, usize, &String)> = resellers
        .iter()
        .enumerate()
        .flat_map(|(r, id)| (0..CUSTOMERS_PER_RESELLER).map(move |c| (r, c, id)))
        .collect();
    let customers: Vec<(usize, usize, String)> = futures::stream::iter(customer_inputs)
        .map(|(r, c, reseller)| async move {
            let id = mutate(
                app,
                steward,
                "createCustomer",
                "CreateCustomerInput",
                "customer { id }",
                json!({ "resellerId": reseller, "name": format!("Customer {r}-{c} GmbH"), "billingEmail": format!("billing-{r}-{c}@example.org"), "country": "DE", "currency": "EUR", "taxRate": "0.19" }),
            )
            .await["customer"]["id"]
                .as_str()
                .unwrap()
                .to_owned();
            (r, c, id)
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let tenant_inputs: Vec<(String, String)> = customers
        .iter()
        .flat_map(|(r, c, id)| {
            (0..TENANTS_PER_CUSTOMER).map(move |t| (format!("r{r}-c{c}-t{t}"), id.clone()))
        })
        .collect();
    let tenants: Vec<String> = futures::stream::iter(tenant_inputs)
        .map(|(slug, customer)| async move {
            mutate(
                app,
                steward,
                "createTenant",
                "CreateTenantInput",
                "tenant { id }",
                json!({ "customerId": customer, "slug": slug, "quota": quota(500, 1 << 30, 10 << 30, 10, 5) }),
            )
            .await["tenant"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .buffer_unordered(10)
        .collect()
        .await;
    Dataset {
        customer: customers[customers.len() / 2].2.clone(),
        tenant: tenants[tenants.len() / 2].clone(),
    }
}

/// One load target.
struct Target {
    name: String,
    url: String,
    token: Option<String>,
    query: String,
}

/// What one load run measured.
struct Measured {
    name: String,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    requests: u64,
    bad: String,
}

/// POSTs `target`'s query once; the JSON body.
async fn post(client: &reqwest::Client, target: &Target, query: &str) -> Value {
    let mut req = client
        .post(&target.url)
        .json(&json!({ "query": query, "variables": {} }));
    if let Some(token) = &target.token {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.expect("the server answers");
    let status = res.status();
    let body: Value = res.json().await.expect("a JSON body");
    assert!(status.is_success(), "{}: {status}: {body}", target.name);
    assert!(body.get("errors").is_none(), "{}: {body}", target.name);
    body
}

/// `1.23ms`, `456.78us`, `1.20s` as milliseconds.
fn wrk_ms(s: &str) -> f64 {
    let (number, scale) = if let Some(n) = s.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60_000.0)
    } else {
        (s, 1.0)
    };
    number.parse::<f64>().unwrap_or(f64::NAN) * scale
}

/// Runs wrk for `secs` against `target`; its figures.
async fn wrk(target: &Target, dir: &Path, secs: u64) -> Measured {
    let body = serde_json::to_string(&json!({ "query": target.query, "variables": {} })).unwrap();
    let mut lua = format!(
        "wrk.method = \"POST\"\nwrk.body = [==[{body}]==]\nwrk.headers[\"Content-Type\"] = \"application/json\"\n"
    );
    if let Some(token) = &target.token {
        lua.push_str(&format!(
            "wrk.headers[\"Authorization\"] = \"Bearer {token}\"\n"
        ));
    }
    let script = dir.join("post.lua");
    std::fs::write(&script, lua).expect("write the wrk script");
    let out = tokio::process::Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{CONNECTIONS}"),
            &format!("-d{secs}s"),
            "--timeout",
            "10s",
            "--latency",
            "-s",
        ])
        .arg(&script)
        .arg(&target.url)
        .output()
        .await
        .expect("wrk runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "wrk failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut m = Measured {
        name: target.name.clone(),
        rps: f64::NAN,
        p50_ms: f64::NAN,
        p99_ms: f64::NAN,
        requests: 0,
        bad: String::new(),
    };
    let mut bad = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", n] => m.rps = n.parse().unwrap_or(f64::NAN),
            ["50%", v] => m.p50_ms = wrk_ms(v),
            ["99%", v] => m.p99_ms = wrk_ms(v),
            [n, "requests", "in", ..] => m.requests = n.parse().unwrap_or(0),
            ["Non-2xx", "or", "3xx", "responses:", n] => bad.push(format!("{n} non-2xx")),
            ["Socket", "errors:", rest @ ..] => {
                bad.push(format!("socket errors: {}", rest.join(" ")))
            }
            _ => {}
        }
    }
    m.bad = bad.join("; ");
    m
}

/// Warms up, then measures `target`.
async fn load(target: &Target, dir: &Path, warmup: u64, secs: u64) -> Measured {
    if warmup > 0 {
        wrk(target, dir, warmup).await;
    }
    wrk(target, dir, secs).await
}

/// A free TCP port on 127.0.0.1.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// PostGraphile 4 on `database_url`, installed into the cache when missing.
struct PostGraphile {
    child: tokio::process::Child,
    url: String,
    version: String,
}

async fn start_postgraphile(database_url: &str, log: &Path) -> PostGraphile {
    let dir = std::env::var_os("COPLANE_BENCH_POSTGRAPHILE_DIR").map_or_else(
        || {
            PathBuf::from(std::env::var_os("HOME").expect("HOME is set"))
                .join(".cache/coplane-postgraphile")
        },
        PathBuf::from,
    );
    let bin = dir.join("node_modules/.bin/postgraphile");
    if bin.exists() {
        println!("reads: PostGraphile found in {}", dir.display());
    } else {
        println!(
            "reads: PostGraphile missing: npm install --prefix {} postgraphile@4",
            dir.display()
        );
        std::fs::create_dir_all(&dir).expect("create the PostGraphile directory");
        let status = tokio::process::Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .arg("postgraphile@4")
            .status()
            .await
            .expect("npm runs");
        assert!(status.success(), "npm install postgraphile@4 failed");
    }
    let version = std::fs::read_to_string(dir.join("node_modules/postgraphile/package.json"))
        .ok()
        .and_then(|s| serde_json::from_str::<Value>(&s).ok())
        .and_then(|v| v["version"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned());
    let port = free_port();
    let log = std::fs::File::create(log).expect("create the PostGraphile log");
    let child = tokio::process::Command::new(&bin)
        .args(["-c", database_url, "--host", "127.0.0.1", "--port"])
        .arg(port.to_string())
        .arg("--disable-graphiql")
        .stdout(log.try_clone().expect("a log handle"))
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .expect("PostGraphile starts");
    PostGraphile {
        child,
        url: format!("http://127.0.0.1:{port}/graphql"),
        version,
    }
}

/// POSTs until the server answers `query` without errors (60 s at most).
async fn wait_ready(client: &reqwest::Client, target: &Target) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let res = client
            .post(&target.url)
            .json(&json!({ "query": target.query, "variables": {} }))
            .send()
            .await;
        if let Ok(res) = res
            && res.status().is_success()
            && let Ok(body) = res.json::<Value>().await
        {
            assert!(body.get("errors").is_none(), "{}: {body}", target.name);
            return body;
        }
        assert!(Instant::now() < deadline, "{} did not start", target.name);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// pgbench with `PAGE_SQL`: a warm-up, then `secs` with per-transaction
/// latencies logged.
fn pgbench(database_url: &str, dir: &Path, warmup: u64, secs: u64) -> Measured {
    let script = dir.join("page.sql");
    std::fs::write(&script, PAGE_SQL).expect("write the pgbench script");
    let run = |secs: u64, log: bool| {
        let mut cmd = std::process::Command::new("pgbench");
        cmd.args(["-n", "-M", "prepared", "-c"])
            .arg(CONNECTIONS.to_string())
            .args(["-j", "2", "-T"])
            .arg(secs.to_string());
        if log {
            cmd.arg("-l")
                .arg(format!("--log-prefix={}", dir.join("pgb").display()));
        }
        let out = cmd
            .arg("-f")
            .arg(&script)
            .arg(database_url)
            .output()
            .expect("pgbench runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "pgbench failed: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    };
    if warmup > 0 {
        run(warmup, false);
    }
    let text = run(secs, true);
    let mut m = Measured {
        name: "pgbench page SQL (count + page of 50)".to_owned(),
        rps: f64::NAN,
        p50_ms: f64::NAN,
        p99_ms: f64::NAN,
        requests: 0,
        bad: String::new(),
    };
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("tps = ") {
            m.rps = rest
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(f64::NAN);
        }
        if let Some(rest) = line.strip_prefix("number of failed transactions: ") {
            let n = rest.split_whitespace().next().unwrap_or("0");
            if n != "0" {
                m.bad = format!("{n} failed");
            }
        }
    }
    // Per-transaction log lines: client, transaction, latency in µs, ...
    let mut latencies: Vec<u64> = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read the log directory") {
        let path = entry.expect("an entry").path();
        let is_log = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("pgb."));
        if is_log {
            let text = std::fs::read_to_string(&path).expect("read a pgbench log");
            latencies.extend(
                text.lines()
                    .filter_map(|l| l.split_whitespace().nth(2)?.parse::<u64>().ok()),
            );
        }
    }
    latencies.sort_unstable();
    m.requests = latencies.len() as u64;
    if !latencies.is_empty() {
        let n = latencies.len();
        m.p50_ms = latencies[(n - 1) / 2] as f64 / 1000.0;
        m.p99_ms = latencies[(n * 99).div_ceil(100).max(1) - 1] as f64 / 1000.0;
    }
    m
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
/// what a scrape of `/metrics` itself runs (measured just before).
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
    let s0 = statements_total(app).await;
    let s1 = statements_total(app).await;
    post(client, target, query).await;
    let s2 = statements_total(app).await;
    ((s2 - s1) - (s1 - s0)).to_string()
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
    let app = spawn_app_with(Backend::Postgres, |env| {
        for (k, v) in env.iter_mut() {
            if k == "COPLANE_DATABASE_MAX_CONNECTIONS" {
                *v = POOL.to_owned();
            }
        }
    })
    .await;
    let database_url = app.settings.database.url.expose_secret().to_owned();
    let steward = app.token(&["steward"], "steward");
    let client = reqwest::Client::new();
    let dir = TempDir::new();

    let t = Instant::now();
    let dataset = build_dataset(&app, &steward).await;
    let built = t.elapsed();
    let t = Instant::now();
    let jobs = app.run_pending_jobs().await;
    let ran = t.elapsed();
    app.execute("ANALYZE", Vec::new()).await;
    println!(
        "reads: dataset through the GraphQL API in {} ms: {RESELLERS} resellers, {} customers, {} tenants; {jobs} jobs run in {} ms; ANALYZE; database {}",
        built.as_millis(),
        RESELLERS * CUSTOMERS_PER_RESELLER,
        RESELLERS * CUSTOMERS_PER_RESELLER * TENANTS_PER_CUSTOMER,
        ran.as_millis(),
        database_url.rsplit('/').next().unwrap_or("?"),
    );

    let graphql = format!("{}/graphql", app.address);
    let coplane = |name: &str, query: String| Target {
        name: name.to_owned(),
        url: graphql.clone(),
        token: Some(steward.clone()),
        query,
    };
    let list = coplane("coplane tenants(first: 50)", COPLANE_LIST.to_owned());
    let viewer = coplane("coplane { viewer { id } }", VIEWER.to_owned());
    let node = coplane("coplane node(id:) tenant", node_query(&dataset.tenant));
    let customer = coplane(
        "coplane customer + its tenants + installs",
        customer_query(&dataset.customer),
    );

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
    println!(
        "reads: Customer has no `tenants` field in schema.graphql: the customer case is `node(id:) {{ ... on Customer {{ name }} }}` plus `tenants(customerId:, first: 10) {{ slug appInstalls {{ id state }} }}` (first: 10: appInstalls weighs 50 a tenant against the complexity limit of 2,000; the customer has 10 tenants); the dataset has no installs, so every appInstalls list is empty"
    );

    let mut rows = Vec::new();
    for target in [&list, &viewer, &node, &customer] {
        rows.push(load(target, &dir.0, warmup, secs).await);
    }

    // PostGraphile on the same database.
    let pg = start_postgraphile(&database_url, &dir.0.join("postgraphile.log")).await;
    let pg_list = Target {
        name: format!("PostGraphile {} allTenants(first: 50)", pg.version),
        url: pg.url.clone(),
        token: None,
        query: POSTGRAPHILE_LIST.to_owned(),
    };
    let body = wait_ready(&client, &pg_list).await;
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
    let pg_row = load(&pg_list, &dir.0, warmup, secs).await;
    let mut child = pg.child;
    child.kill().await.ok();

    let sql_row = pgbench(&database_url, &dir.0, warmup, secs);

    println!(
        "reads: wrk -t2 -c{CONNECTIONS} -d{secs}s --latency after {warmup} s of warm-up, POST /graphql; coplane in-process (spawn_app, pool {POOL}) with a steward JWT; PostGraphile {} (CLI, default pool, no auth); pgbench -n -M prepared -c {CONNECTIONS} -j 2 -T {secs} (its own {CONNECTIONS} connections, latencies from -l)",
        pg.version
    );
    println!(
        "{:<46} {:>10} {:>9} {:>9} {:>9}  problems",
        "target", "req/s", "p50 ms", "p99 ms", "requests"
    );
    let (list_row, others) = rows.split_first().expect("rows");
    let mut table: Vec<&Measured> = vec![list_row, &pg_row, &sql_row];
    table.extend(others);
    for m in &table {
        println!(
            "{:<46} {:>10.1} {:>9.2} {:>9.2} {:>9}  {}",
            m.name,
            m.rps,
            m.p50_ms,
            m.p99_ms,
            m.requests,
            if m.bad.is_empty() { "none" } else { &m.bad }
        );
    }
    println!(
        "ratios (coplane list / other): req/s vs PostGraphile {}, vs pgbench {}; p50 vs PostGraphile {}, vs pgbench {}; p99 vs PostGraphile {}, vs pgbench {}",
        ratio(list_row.rps, pg_row.rps),
        ratio(list_row.rps, sql_row.rps),
        ratio(list_row.p50_ms, pg_row.p50_ms),
        ratio(list_row.p50_ms, sql_row.p50_ms),
        ratio(list_row.p99_ms, pg_row.p99_ms),
        ratio(list_row.p99_ms, sql_row.p99_ms),
    );

    // Statements per request, unloaded, one request at a time.
    let mut counts = Vec::new();
    for first in [10, 50, 100] {
        let n = statements_per_request(&app, &client, &list, &list_query(first)).await;
        counts.push(format!("first = {first}: {n}"));
    }
    for target in [&viewer, &node, &customer] {
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
