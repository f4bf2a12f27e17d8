//! How fast the operator converges tenants against the fake API server.
//!
//! Creates `COPLANE_BENCH_TENANTS` (default 1000) `Tenant` resources, starts
//! the operator, and prints the time until every one is ready and the API
//! requests it took per tenant; then restarts the operator, which
//! reconciles every tenant once more, and prints the same for that pass,
//! which must write nothing.
//!
//! `cargo bench -p coplane-tests --bench converge`

use std::sync::Arc;
use std::time::{Duration, Instant};

use coplane_domain::SystemClock;
use coplane_tests::fake_kube::FakeKube;
use coplane_worker::kube::operator::{self, OperatorConfig};
use serde_json::json;
use tokio_util::sync::CancellationToken;

fn start_operator(fake: &FakeKube) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let ctx = operator::Context {
        client: fake.client(),
        // No periodic requeue during the measurement: each pass is one reconcile per tenant.
        config: OperatorConfig {
            requeue: Duration::from_secs(3600),
            ..OperatorConfig::default()
        },
        clock: Arc::new(SystemClock),
        metrics: None,
    };
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(operator::run(Arc::new(ctx), shutdown.clone()));
    (shutdown, task)
}

fn report(pass: &str, n: usize, elapsed: Duration, fake: &FakeKube) {
    let requests = fake.requests();
    let writes = requests.iter().filter(|r| r.is_write()).count();
    // usize → f64 for a printed ratio only.
    #[allow(clippy::cast_precision_loss, clippy::float_arithmetic)]
    let per_tenant = requests.len() as f64 / n as f64;
    #[allow(clippy::cast_precision_loss, clippy::float_arithmetic)]
    let writes_per_tenant = writes as f64 / n as f64;
    println!(
        "{pass}: {n} tenants converged in {:.2} s; {} API requests ({per_tenant:.1} per tenant), {writes} writes ({writes_per_tenant:.1} per tenant)",
        elapsed.as_secs_f64(),
        requests.len()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
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
    let (shutdown, task) = start_operator(&fake);
    loop {
        let ready = fake
            .list("Tenant", None)
            .iter()
            .filter(|t| t["status"]["ready"] == true)
            .count();
        if ready == n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    report("first pass", n, start.elapsed(), &fake);
    shutdown.cancel();
    task.await.expect("the operator stops");

    // A fresh operator reconciles every tenant once; each reconcile ends by
    // listing the namespace's CronJobs.
    fake.clear_requests();
    let start = Instant::now();
    let (shutdown, task) = start_operator(&fake);
    loop {
        let done = fake
            .requests()
            .iter()
            .filter(|r| {
                r.method == "GET"
                    && r.path.ends_with("/cronjobs")
                    && r.path.contains("/namespaces/")
            })
            .count();
        if done >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    report("no-op pass", n, start.elapsed(), &fake);
    shutdown.cancel();
    task.await.expect("the operator stops");
    fake.stop().await;
}
