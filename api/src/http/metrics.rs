//! `/metrics`: the process's Prometheus registry, plus the queue depth read
//! from the database at scrape time (so every replica reports the same queue).

use std::time::Duration;

use actix_web::{HttpResponse, web};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};
use sea_orm::DatabaseConnection;

use coplane_domain::Clock;
use std::sync::Arc;

/// HTTP request metrics.
#[derive(Clone)]
pub struct HttpMetrics {
    requests: IntCounterVec,
    latency: HistogramVec,
}

impl HttpMetrics {
    /// Creates and registers the metrics.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let requests = IntCounterVec::new(
            Opts::new(
                "coplane_http_requests_total",
                "HTTP requests by method, route and status.",
            ),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "coplane_http_request_duration_seconds",
                "HTTP request latency by method and route.",
            ),
            &["method", "route"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        Ok(Self { requests, latency })
    }

    pub(crate) fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(elapsed.as_secs_f64());
    }
}

/// What `/metrics` needs.
#[derive(Clone)]
pub struct MetricsState {
    /// The process's registry.
    pub registry: Registry,
    /// Queue depth by state, filled at scrape time.
    pub queue_depth: IntGaugeVec,
    /// The database, for the queue depth.
    pub db: DatabaseConnection,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

impl MetricsState {
    /// Creates the queue gauge in `registry`.
    pub fn new(
        registry: Registry,
        db: DatabaseConnection,
        clock: Arc<dyn Clock>,
    ) -> prometheus::Result<Self> {
        let queue_depth = IntGaugeVec::new(
            Opts::new(
                "coplane_job_queue_depth",
                "Jobs in the queue by state (ready, scheduled, running, failed).",
            ),
            &["state"],
        )?;
        registry.register(Box::new(queue_depth.clone()))?;
        Ok(Self {
            registry,
            queue_depth,
            db,
            clock,
        })
    }
}

/// `GET /metrics`.
pub async fn metrics(state: web::Data<MetricsState>) -> HttpResponse {
    match coplane_domain::jobs::depth(&state.db, state.clock.now()).await {
        Ok(d) => {
            for (label, n) in [
                ("ready", d.ready),
                ("scheduled", d.scheduled),
                ("running", d.running),
                ("failed", d.failed),
            ] {
                state.queue_depth.with_label_values(&[label]).set(n);
            }
        }
        Err(e) => {
            tracing::warn!(error.cause_chain = ?e, error.message = %e, "reading the queue depth failed")
        }
    }
    let mut body = Vec::new();
    if let Err(e) = TextEncoder::new().encode(&state.registry.gather(), &mut body) {
        tracing::error!(error.message = %e, "encoding metrics failed");
        return HttpResponse::InternalServerError().finish();
    }
    HttpResponse::Ok()
        .content_type(prometheus::TEXT_FORMAT)
        .body(body)
}
