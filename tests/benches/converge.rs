//! How fast the operator converges tenants against the fake API server.
//!
//! Creates `COPLANE_BENCH_TENANTS` (default 1000) `Tenant` resources, starts
//! the operator, and prints the time until every one is ready and the API
//! requests it took per tenant (counted once the operator has gone quiet),
//! with a breakdown by method and resource; then starts a fresh operator,
//! which reconciles every tenant once more, and prints the same for that
//! pass. It fails when the first pass takes more than
//! [`MAX_REQUESTS_PER_TENANT`] requests per tenant (from 100 tenants), when the no-op pass
//! writes anything, or when either pass does not finish within
//! [`PASS_TIMEOUT`].
//!
//! `cargo bench -p coplane-tests --bench converge`; logs with `TEST_LOG=1`
//! (and `RUST_LOG` to filter them).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use coplane_domain::SystemClock;
use coplane_tests::fake_kube::{FakeKube, Recorded};
use coplane_worker::kube::operator::{self, OperatorConfig, OperatorMetrics};
use prometheus::Registry;
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// The first pass's budget of API requests per tenant.
const MAX_REQUESTS_PER_TENANT: usize = 12;
/// How long a pass may take before the bench gives up.
const PASS_TIMEOUT: Duration = Duration::from_secs(180);
/// How long nothing must happen for the operator to count as quiet.
const QUIET: Duration = Duration::from_millis(500);

/// An operator running against the fake, with its metrics.
struct Running {
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    registry: Registry,
}

impl Running {
    fn start(fake: &FakeKube) -> Self {
        let registry = Registry::new();
        let ctx = operator::Context {
            client: fake.client(),
            // No periodic requeue during the measurement.
            config: OperatorConfig {
                requeue: Duration::from_secs(3600),
                ..OperatorConfig::default()
            },
            clock: Arc::new(SystemClock),
            metrics: Some(OperatorMetrics::register(&registry).expect("the metrics register")),
        };
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(operator::run(Arc::new(ctx), shutdown.clone()));
        Self {
            shutdown,
            task,
            registry,
        }
    }

    /// Tenant reconciles finished so far, whatever their outcome.
    fn reconciles(&self) -> u64 {
        let mut text = Vec::new();
        prometheus::Encoder::encode(
            &prometheus::TextEncoder::new(),
            &self.registry.gather(),
            &mut text,
        )
        .expect("the metrics encode");
        String::from_utf8_lossy(&text)
            .lines()
            .filter(|l| l.starts_with("coplane_operator_reconciles_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }

    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(PASS_TIMEOUT, self.task)
            .await
            .expect("the operator stops in time")
            .expect("the operator stops");
    }
}

/// Polls `check` every 20 ms until it holds; panics after [`PASS_TIMEOUT`]
/// with the requests so far.
async fn wait_until(what: &str, n: usize, fake: &FakeKube, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        if start.elapsed() > PASS_TIMEOUT {
            breakdown(n, &fake.requests());
            panic!("timed out after {PASS_TIMEOUT:?} waiting until {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until neither the requests nor the reconciles have changed for
/// [`QUIET`]; returns when they last changed.
async fn quiet(n: usize, fake: &FakeKube, op: &Running) -> Instant {
    let mut last = (fake.requests().len(), op.reconciles());
    let mut changed = Instant::now();
    wait_until("the operator is quiet", n, fake, || {
        let now = (fake.requests().len(), op.reconciles());
        if now != last {
            last = now;
            changed = Instant::now();
        }
        changed.elapsed() >= QUIET
    })
    .await;
    changed
}

/// `count / n`, for a printed ratio only.
#[allow(clippy::cast_precision_loss, clippy::float_arithmetic)]
fn ratio(count: usize, n: usize) -> f64 {
    count as f64 / n as f64
}

/// What a request was, for the breakdown: its method, the resource's plural
/// (and subresource), and whether it read one object, listed or watched.
fn request_kind(r: &Recorded) -> String {
    let segments: Vec<&str> = r.path.trim_matches('/').split('/').collect();
    let rest: &[&str] = match segments.as_slice() {
        ["api", _, rest @ ..] | ["apis", _, _, rest @ ..] => rest,
        _ => return format!("{} {} (discovery)", r.method, r.path),
    };
    let rest = match rest {
        ["namespaces", _, tail @ ..] if !tail.is_empty() => tail,
        other => other,
    };
    match rest {
        [] => format!("{} {} (discovery)", r.method, r.path),
        [plural] if r.query.contains("watch=true") || r.query.contains("watch=1") => {
            format!("WATCH {plural}")
        }
        [plural] => format!("{} {plural} (list)", r.method),
        [plural, _] => format!("{} {plural}", r.method),
        [plural, _, sub, ..] => format!("{} {plural}/{sub}", r.method),
    }
}

/// Requests by kind, most first, with their count per tenant.
fn breakdown(n: usize, requests: &[Recorded]) {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for r in requests {
        *counts.entry(request_kind(r)).or_default() += 1;
    }
    let mut rows: Vec<(String, usize)> = counts.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    for (kind, count) in rows {
        println!("  {count:>7}  {:>6.2}/tenant  {kind}", ratio(count, n));
    }
}

/// Prints a pass's figures and breakdown; returns its requests and writes.
fn report(pass: &str, n: usize, elapsed: Duration, fake: &FakeKube) -> (usize, usize) {
    let requests = fake.requests();
    let writes = requests.iter().filter(|r| r.is_write()).count();
    println!(
        "{pass}: {n} tenants converged in {:.2} s; {} API requests ({:.1} per tenant), {writes} writes ({:.1} per tenant)",
        elapsed.as_secs_f64(),
        requests.len(),
        ratio(requests.len(), n),
        ratio(writes, n),
    );
    breakdown(n, &requests);
    (requests.len(), writes)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // Quiet unless `TEST_LOG` is set (then `RUST_LOG` filters, `info` if unset).
    if std::env::var_os("TEST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "info".into()),
            )
            .init();
    }
    let n: usize = std::env::var("COPLANE_BENCH_TENANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let fake = FakeKube::start().await;
    for i in 0..n {
        fake.apply_as(
            "coplane",
            json!({
                "apiVersion": "coplane.io/v1alpha1",
                "kind": "Tenant",
                "metadata": { "name": format!("t{i}") },
                "spec": {
                    "slug": format!("t{i}"),
                    "customer": "c",
                    "quota": { "cpuMillis": 1000, "memoryBytes": 1073741824, "storageBytes": 1073741824, "pods": 10, "appInstalls": 2 },
                },
            }),
        );
    }

    fake.clear_requests();
    let start = Instant::now();
    let op = Running::start(&fake);
    // Checked one by one, stopping at the first not yet ready: the poll must
    // not cost the fake (and the operator beside it) a copy of every tenant.
    let mut pending: Vec<String> = (0..n).map(|i| format!("t{i}")).collect();
    wait_until("every tenant is ready", n, &fake, || {
        while let Some(name) = pending.last() {
            if fake
                .get("Tenant", None, name)
                .is_some_and(|t| t["status"]["ready"] == true)
            {
                pending.pop();
            } else {
                break;
            }
        }
        pending.is_empty()
    })
    .await;
    let elapsed = start.elapsed();
    quiet(n, &fake, &op).await;
    let (requests, _) = report("first pass", n, elapsed, &fake);
    op.stop().await;
    // The watches' few requests, made once whatever the number of tenants,
    // would dominate a small run.
    assert!(
        n < 100 || requests <= MAX_REQUESTS_PER_TENANT * n,
        "the first pass took {:.1} API requests per tenant, over {MAX_REQUESTS_PER_TENANT}",
        ratio(requests, n)
    );

    // A fresh operator reconciles every tenant again, against converged
    // objects: it is done when it has reconciled at least once per tenant
    // and gone quiet.
    fake.clear_requests();
    let start = Instant::now();
    let op = Running::start(&fake);
    wait_until("a reconcile per tenant", n, &fake, || {
        op.reconciles() >= n as u64
    })
    .await;
    let last = quiet(n, &fake, &op).await;
    let (_, writes) = report("no-op pass", n, last - start, &fake);
    println!("  ({} reconciles)", op.reconciles());
    op.stop().await;
    fake.stop().await;
    assert_eq!(writes, 0, "the no-op pass wrote");
}
