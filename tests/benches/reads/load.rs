//! Load generators: wrk against a GraphQL endpoint, PostGraphile 4, pgbench.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Connections of every load generator.
pub const CONNECTIONS: usize = 64;

/// One load target.
pub struct Target {
    pub name: String,
    pub url: String,
    pub token: Option<String>,
    pub query: String,
    /// Served by this process, so its CPU time is the server's.
    pub in_process: bool,
}

/// What one load run measured.
pub struct Measured {
    pub name: String,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub requests: u64,
    pub bad: String,
    /// This process's CPU time per request while it served them (in-process targets).
    pub cpu_ms: f64,
}

/// POSTs `target`'s query once; the JSON body.
pub async fn post(client: &reqwest::Client, target: &Target, query: &str) -> Value {
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
/// What a finished tool printed; it must have succeeded.
fn stdout_of(out: &std::process::Output, tool: &str) -> String {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{tool} failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

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
pub async fn wrk(target: &Target, dir: &Path, secs: u64) -> Measured {
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
    let text = stdout_of(&out, "wrk");
    let mut m = Measured {
        name: target.name.clone(),
        rps: f64::NAN,
        p50_ms: f64::NAN,
        p99_ms: f64::NAN,
        requests: 0,
        bad: String::new(),
        cpu_ms: f64::NAN,
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

/// This process's user and system CPU time so far (`/proc/self/stat`,
/// in clock ticks of 10 ms).
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("read /proc/self/stat");
    // Fields after the command name, which ends at the last `)`.
    let rest = &stat[stat.rfind(')').expect("a stat line") + 2..];
    let ticks: u64 = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .map(|t| t.parse::<u64>().expect("a tick count"))
        .sum();
    Duration::from_millis(ticks * 10)
}

/// Warms up, then measures `target`.
pub async fn load(target: &Target, dir: &Path, warmup: u64, secs: u64) -> Measured {
    if warmup > 0 {
        wrk(target, dir, warmup).await;
    }
    let cpu = process_cpu();
    let mut m = wrk(target, dir, secs).await;
    if target.in_process && m.requests > 0 {
        m.cpu_ms = (process_cpu() - cpu).as_secs_f64() * 1000.0 / m.requests as f64;
    }
    m
}

/// A free TCP port on 127.0.0.1.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// PostGraphile 4 on `database_url`, installed into the cache when missing.
pub struct PostGraphile {
    pub child: tokio::process::Child,
    pub url: String,
    pub version: String,
}

pub async fn start_postgraphile(database_url: &str, log: &Path) -> PostGraphile {
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
pub async fn wait_ready(client: &reqwest::Client, target: &Target) -> Value {
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
pub fn pgbench(database_url: &str, dir: &Path, sql: &str, warmup: u64, secs: u64) -> Measured {
    let script = dir.join("page.sql");
    std::fs::write(&script, sql).expect("write the pgbench script");
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
        stdout_of(&out, "pgbench")
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
        cpu_ms: f64::NAN,
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
