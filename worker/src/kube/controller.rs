//! What the operator's controllers share: their tuning, metrics, context
//! and error.

use std::sync::Arc;
use std::time::Duration;

use coplane_domain::Clock;
use kube::Client;
use prometheus::{IntCounterVec, Opts, Registry};

/// Tuning of the operator.
#[derive(Clone, Debug)]
pub struct OperatorConfig {
    /// How long a deleted tenant's namespace is kept.
    pub retention: chrono::Duration,
    /// How often a converged tenant is checked again.
    pub requeue: Duration,
    /// Wait after a failed reconcile.
    pub error_backoff: Duration,
    /// Base domain of apps' ingress hosts (`{app}.{tenant}.{domain}`).
    pub app_domain: String,
}

impl Default for OperatorConfig {
    fn default() -> Self {
        Self {
            retention: chrono::Duration::days(30),
            requeue: Duration::from_secs(300),
            error_backoff: Duration::from_secs(5),
            app_domain: "apps.localhost".to_owned(),
        }
    }
}

/// Reconcile outcomes, by outcome and error variant.
#[derive(Clone, Debug)]
pub struct OperatorMetrics {
    reconciles: IntCounterVec,
}

impl OperatorMetrics {
    /// Creates and registers the metrics.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let reconciles = IntCounterVec::new(
            Opts::new(
                "coplane_operator_reconciles_total",
                "Tenant reconciles by outcome (ok, or the error variant).",
            ),
            &["outcome"],
        )?;
        registry.register(Box::new(reconciles.clone()))?;
        Ok(Self { reconciles })
    }

    /// Counts a tenant reconcile: `ok`, or the error variant.
    pub(super) fn count(&self, outcome: &str) {
        self.reconciles.with_label_values(&[outcome]).inc();
    }
}

/// What reconciles share.
pub struct Context {
    pub client: Client,
    pub config: OperatorConfig,
    /// Time, for the retention.
    pub clock: Arc<dyn Clock>,
    /// Metrics, if registered.
    pub metrics: Option<OperatorMetrics>,
}

/// Why a reconcile failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API server refused or failed.
    #[error("kubernetes API error: {0}")]
    Kube(#[from] kube::Error),
    /// Anything else.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl Error {
    pub(super) fn variant(&self) -> &'static str {
        match self {
            Error::Kube(_) => "kube",
            Error::Other(_) => "other",
        }
    }
}
