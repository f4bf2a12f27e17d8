//! The Kubernetes side against the fake API server: the sync, the
//! operator, suspension, retention, faults, and the manifests target.

mod app_installs;
mod field_manager;
mod manifests;
mod suspension;
mod sync;

use std::sync::Arc;
use std::time::Duration;

use coplane_domain::clock::ManualClock;
use coplane_tests::fake_kube::FakeKube;
use coplane_worker::kube::operator::{self, OperatorConfig, OperatorMetrics};
use prometheus::Registry;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::TestApp;
use crate::tenancy::fixture::{allotment, customer, jwt, quota, reseller, tenant};

/// A running operator against the fake API server.
pub(crate) struct Operator {
    shutdown: CancellationToken,
    task: JoinHandle<()>,
    registry: Registry,
}

impl Operator {
    pub(crate) fn start(
        fake: &FakeKube,
        clock: Arc<ManualClock>,
        retention: chrono::Duration,
    ) -> Self {
        let registry = Registry::new();
        let ctx = operator::Context {
            client: fake.client(),
            config: OperatorConfig {
                retention,
                requeue: Duration::from_millis(300),
                error_backoff: Duration::from_millis(100),
                app_domain: "apps.example.coop".into(),
            },
            clock,
            metrics: Some(OperatorMetrics::register(&registry).unwrap()),
        };
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(operator::run(Arc::new(ctx), shutdown.clone()));
        Self {
            shutdown,
            task,
            registry,
        }
    }

    /// Tenant reconciles that succeeded since this operator started.
    pub(crate) fn reconciles(&self) -> u64 {
        let mut text = Vec::new();
        prometheus::Encoder::encode(
            &prometheus::TextEncoder::new(),
            &self.registry.gather(),
            &mut text,
        )
        .expect("the metrics encode");
        String::from_utf8_lossy(&text)
            .lines()
            .filter(|l| l.starts_with("coplane_operator_reconciles_total{outcome=\"ok\"}"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }

    pub(crate) async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the operator stops")
            .unwrap();
    }
}

/// Waits (polling, at most 20 s) until `check` holds.
pub(crate) async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let start = tokio::time::Instant::now();
    while !check() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn converged(fake: &FakeKube, slug: &str) -> bool {
    let ns = format!("coplane-{slug}");
    fake.get("Tenant", None, slug)
        .is_some_and(|t| t["status"]["ready"] == true)
        && [
            "ResourceQuota",
            "LimitRange",
            "NetworkPolicy",
            "Role",
            "RoleBinding",
        ]
        .iter()
        .all(|k| !fake.list(k, Some(&ns)).is_empty())
}

fn tenant_resource(slug: &str, suspended: bool) -> Value {
    json!({
        "apiVersion": "coplane.io/v1alpha1",
        "kind": "Tenant",
        "metadata": { "name": slug },
        "spec": {
            "slug": slug,
            "customer": "c-1",
            "quota": { "cpuMillis": 2000, "memoryBytes": 4294967296i64, "storageBytes": 10737418240i64, "pods": 20, "appInstalls": 3 },
            "suspended": suspended,
            "admins": [{ "kind": "User", "name": "ada@example.org" }],
        },
    })
}

async fn reseller_tenant(app: &TestApp, slug: &str) -> String {
    let steward = app.token(&["steward"], "steward");
    let (_, reseller_id) = reseller(app, &steward, "Kube", allotment()).await;
    let token = jwt(app, &["reseller"], "kube", Some(&reseller_id), None, &[]);
    let customer_id = customer(app, &token, None, "K").await;
    tenant(
        app,
        &token,
        &customer_id,
        slug,
        quota(2000, 4 << 30, 10 << 30, 20, 3),
    )
    .await
}

fn workload(kind: &str, name: &str, replicas: i64) -> Value {
    let api_version = if kind == "CronJob" {
        "batch/v1"
    } else {
        "apps/v1"
    };
    let spec = if kind == "CronJob" {
        json!({ "schedule": "0 3 * * *", "suspend": false })
    } else {
        json!({ "replicas": replicas })
    };
    json!({ "apiVersion": api_version, "kind": kind, "metadata": { "name": name, "namespace": "coplane-shop" }, "spec": spec })
}

fn replicas(fake: &FakeKube, kind: &str, name: &str) -> Value {
    fake.get(kind, Some("coplane-shop"), name).unwrap()["spec"]["replicas"].clone()
}
