//! Job metrics, registered into the process's Prometheus registry.

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

/// Counters and timings of job runs.
#[derive(Clone, Debug)]
pub struct JobMetrics {
    /// Runs by job name and outcome (`success`, `retry`, `failed`, `superseded`, `lease_lost`).
    pub runs: IntCounterVec,
    /// Run duration by job name.
    pub duration: HistogramVec,
}

impl JobMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let runs = IntCounterVec::new(
            Opts::new("coplane_jobs_total", "Job runs by job name and outcome."),
            &["name", "outcome"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "coplane_job_duration_seconds",
                "Job run duration by job name.",
            ),
            &["name"],
        )?;
        registry.register(Box::new(runs.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        Ok(Self { runs, duration })
    }
}
