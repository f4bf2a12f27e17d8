//! What a refusal costs: the latency of documents and bodies coplane
//! refuses (a fragment bomb, 2,000 aliases, 10 MB and 200 MB bodies) next
//! to an ordinary `{ viewer { id } }`, and that ordinary latency again while
//! 4 tasks hammer the refusals.
//!
//! `cargo bench -p coplane-tests --bench refusals` (SQLite; PostgreSQL when
//! `COPLANE_TEST_DATABASE_URL` is set). `COPLANE_BENCH_REPEATS` (default
//! 200) for the queries, a tenth of it (at least 5) for the bodies;
//! `COPLANE_BENCH_LOAD_SECS` (default 5) for the loaded phase. Rate limits
//! stay off, as everywhere in the suite. Only the refusals are asserted,
//! never a time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use coplane_tests::{Backend, TestApp, postgres_available, spawn_app_with};
use serde_json::{Value, json};

const VIEWER: &str = "{ viewer { id } }";
const LOAD_TASKS: usize = 4;

/// A refused request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    FragmentBomb,
    Aliases,
    Body10Mb,
    Body200Mb,
}

impl Kind {
    const ALL: [Self; 4] = [
        Self::FragmentBomb,
        Self::Aliases,
        Self::Body10Mb,
        Self::Body200Mb,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::FragmentBomb => "fragment-bomb",
            Self::Aliases => "aliases-2000",
            Self::Body10Mb => "body-10MB",
            Self::Body200Mb => "body-200MB",
        }
    }
}

/// What the requests need, built once.
struct Bench {
    app: TestApp,
    url: String,
    token: String,
    /// `{"query": "{ viewer { id } }"}`.
    viewer: Vec<u8>,
    /// The fragment bomb, as a request body.
    bomb: Vec<u8>,
    /// The 2,000 aliases, as a request body.
    aliases: Vec<u8>,
    /// Allocated once and sent by reference every time: reqwest is built
    /// without its `stream` feature, so the body cannot come from a generator.
    body_10mb: &'static [u8],
    body_200mb: &'static [u8],
}

fn graphql_body(query: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({ "query": query, "variables": {} })).unwrap()
}

fn code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

impl Bench {
    async fn post(&self, body: reqwest::Body) -> (reqwest::StatusCode, Value) {
        let res = self
            .app
            .client
            .post(&self.url)
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("the server answers");
        let status = res.status();
        let body: Value = res.json().await.expect("a JSON body");
        (status, body)
    }

    /// One `{ viewer { id } }`, checked.
    async fn viewer(&self) -> Duration {
        let started = Instant::now();
        let (status, body) = self.post(self.viewer.clone().into()).await;
        let elapsed = started.elapsed();
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["viewer"]["id"], "bench", "{body}");
        elapsed
    }

    /// One refused request, its refusal checked.
    async fn refused(&self, kind: Kind) -> Duration {
        let body: reqwest::Body = match kind {
            Kind::FragmentBomb => self.bomb.clone().into(),
            Kind::Aliases => self.aliases.clone().into(),
            Kind::Body10Mb => self.body_10mb.into(),
            Kind::Body200Mb => self.body_200mb.into(),
        };
        let started = Instant::now();
        let (status, body) = self.post(body).await;
        let elapsed = started.elapsed();
        match kind {
            Kind::FragmentBomb | Kind::Aliases => {
                assert_eq!(status, 200, "{}: {body}", kind.name());
                assert_eq!(
                    code(&body),
                    Some("QUERY_TOO_LARGE"),
                    "{}: {body}",
                    kind.name()
                );
            }
            Kind::Body10Mb | Kind::Body200Mb => {
                assert_eq!(status, 413, "{}: {body}", kind.name());
                assert_eq!(
                    code(&body),
                    Some("PAYLOAD_TOO_LARGE"),
                    "{}: {body}",
                    kind.name()
                );
            }
        }
        elapsed
    }
}

/// Median and p99 (nearest rank) of `samples`, in microseconds.
fn stats(samples: &mut [Duration]) -> (u128, u128) {
    samples.sort_unstable();
    let n = samples.len();
    let median = samples[(n - 1) / 2].as_micros();
    let p99 = samples[(n * 99).div_ceil(100).max(1) - 1].as_micros();
    (median, p99)
}

/// Microseconds as milliseconds with two decimals, without floats.
fn ms(us: u128) -> String {
    format!("{}.{:02}", us / 1000, (us % 1000) / 10)
}

/// `a / b` with two decimals, without floats.
fn ratio(a: u128, b: u128) -> String {
    let hundredths = a * 100 / b.max(1);
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let repeats = env_number("COPLANE_BENCH_REPEATS", 200).max(1);
    let body_repeats = (repeats / 10).max(5);
    let load_secs = u64::try_from(env_number("COPLANE_BENCH_LOAD_SECS", 5).max(1)).unwrap_or(5);
    let backend = if postgres_available() {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    // The suite's environment, rate limits off (test_env): the bench
    // measures the refusals, not the limiter.
    let app = spawn_app_with(backend, |env| {
        assert!(
            env.iter()
                .filter(|(k, _)| k.starts_with("COPLANE_RATE_LIMIT_"))
                .all(|(_, v)| v == "off")
        );
    })
    .await;

    let bomb = coplane_tests::attacks::fragment_bomb(30);
    let bench = Arc::new(Bench {
        url: format!("{}/graphql", app.address),
        token: app.token(&["steward"], "bench"),
        viewer: graphql_body(VIEWER),
        bomb: graphql_body(&bomb),
        aliases: graphql_body(&coplane_tests::attacks::aliases(2_000)),
        body_10mb: Vec::leak(vec![b' '; 10 << 20]),
        body_200mb: Vec::leak(vec![b' '; 200 << 20]),
        app,
    });

    // Warm up: connections, the schema, the database pool.
    for _ in 0..20 {
        bench.viewer().await;
    }
    for kind in Kind::ALL {
        bench.refused(kind).await;
    }

    // One after another, unloaded; the baseline interleaved with the
    // refusals so that both see the same machine.
    let mut viewer = Vec::with_capacity(repeats);
    let mut refused: Vec<Vec<Duration>> = vec![Vec::new(); Kind::ALL.len()];
    for i in 0..repeats {
        viewer.push(bench.viewer().await);
        for (k, kind) in Kind::ALL.into_iter().enumerate() {
            let n = match kind {
                Kind::FragmentBomb | Kind::Aliases => repeats,
                Kind::Body10Mb | Kind::Body200Mb => body_repeats,
            };
            if i < n {
                refused[k].push(bench.refused(kind).await);
            }
        }
    }
    let (v_median, v_p99) = stats(&mut viewer);
    println!(
        "refusals: {} on {backend:?}; {repeats} queries each, {body_repeats} bodies each, sequential, steward token",
        bench.url
    );
    println!(
        "refusal baseline viewer: median {} ms p99 {} ms",
        ms(v_median),
        ms(v_p99)
    );
    for (k, kind) in Kind::ALL.into_iter().enumerate() {
        let (median, p99) = stats(&mut refused[k]);
        println!(
            "refusal {}: median {} ms p99 {} ms (viewer: median {} ms p99 {} ms; ratio of medians {})",
            kind.name(),
            ms(median),
            ms(p99),
            ms(v_median),
            ms(v_p99),
            ratio(median, v_median)
        );
    }

    // Under load: LOAD_TASKS tasks send the refusals round-robin while one
    // task measures `{ viewer { id } }`.
    let stop = Arc::new(AtomicBool::new(false));
    let sent: Arc<[AtomicU64; 4]> = Arc::new(Default::default());
    let hammers: Vec<_> = (0..LOAD_TASKS)
        .map(|t| {
            let (bench, stop, sent) = (bench.clone(), stop.clone(), sent.clone());
            tokio::spawn(async move {
                let mut i = t;
                while !stop.load(Ordering::Relaxed) {
                    let k = i % Kind::ALL.len();
                    bench.refused(Kind::ALL[k]).await;
                    sent[k].fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
            })
        })
        .collect();
    let prober = {
        let (bench, stop) = (bench.clone(), stop.clone());
        tokio::spawn(async move {
            let mut samples = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                samples.push(bench.viewer().await);
            }
            samples
        })
    };
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(load_secs)).await;
    stop.store(true, Ordering::Relaxed);
    for h in hammers {
        h.await.expect("every refusal was as expected");
    }
    let mut loaded = prober.await.expect("every viewer query answered");
    let elapsed = started.elapsed();
    let (l_median, l_p99) = stats(&mut loaded);
    let counts: Vec<String> = Kind::ALL
        .into_iter()
        .zip(sent.iter())
        .map(|(kind, n)| format!("{} {}", n.load(Ordering::Relaxed), kind.name()))
        .collect();
    println!(
        "refusal under load: viewer median {} ms p99 {} ms over {} queries (unloaded: median {} ms p99 {} ms; ratio of medians {}) while {LOAD_TASKS} tasks sent {} refusals in {} ms ({})",
        ms(l_median),
        ms(l_p99),
        loaded.len(),
        ms(v_median),
        ms(v_p99),
        ratio(l_median, v_median),
        sent.iter().map(|n| n.load(Ordering::Relaxed)).sum::<u64>(),
        elapsed.as_millis(),
        counts.join(", ")
    );

    let bench = Arc::into_inner(bench).expect("every task has ended");
    bench.app.run_pending_jobs().await;
    bench.app.finish().await;
}
