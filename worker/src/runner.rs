//! The job runner: claims due jobs from the queue, runs them with bounded
//! concurrency under a renewed lease, and records the outcome.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use coplane_domain::Clock;
use coplane_domain::jobs::{self, Backoff, ClaimedJob, FailOutcome, Job};
use futures::FutureExt;
use futures::future::BoxFuture;
use sea_orm::DatabaseConnection;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::metrics::JobMetrics;

/// How a job of type `Self` is run with context `C`.
#[async_trait::async_trait]
pub trait Handler<C>: Job {
    /// Does the work. Must be idempotent: a job can run more than once.
    async fn run(self, ctx: &C) -> anyhow::Result<()>;
}

/// Tuning of a runner.
#[derive(Clone, Debug)]
pub struct RunnerConfig {
    /// Identifies this worker in job leases.
    pub worker_id: String,
    /// Jobs run at once.
    pub concurrency: usize,
    /// Wait between polls of an empty queue.
    pub poll_interval: Duration,
    /// How long a claim lasts without renewal; renewed every third of it.
    pub lease: chrono::Duration,
    /// Delays between attempts.
    pub backoff: Backoff,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            worker_id: format!(
                "worker-{}-{}",
                std::process::id(),
                uuid::Uuid::new_v4().simple()
            ),
            concurrency: 4,
            poll_interval: Duration::from_secs(1),
            lease: chrono::Duration::seconds(60),
            backoff: Backoff::default(),
        }
    }
}

type HandlerFn<C> = Arc<dyn Fn(String, C) -> BoxFuture<'static, anyhow::Result<()>> + Send + Sync>;
type ScheduleFn = Arc<
    dyn Fn(DatabaseConnection, DateTime<Utc>) -> BoxFuture<'static, jobs::Result<bool>>
        + Send
        + Sync,
>;

struct Periodic {
    name: &'static str,
    schedule: ScheduleFn,
}

/// Runs jobs of the kinds registered with it.
pub struct Runner<C> {
    db: DatabaseConnection,
    ctx: C,
    clock: Arc<dyn Clock>,
    config: RunnerConfig,
    handlers: HashMap<&'static str, HandlerFn<C>>,
    periodic: Vec<Periodic>,
    metrics: Option<JobMetrics>,
}

impl<C: Clone + Send + Sync + 'static> Runner<C> {
    /// A runner with no job kinds yet.
    pub fn new(
        db: DatabaseConnection,
        ctx: C,
        clock: Arc<dyn Clock>,
        config: RunnerConfig,
    ) -> Self {
        Self {
            db,
            ctx,
            clock,
            config,
            handlers: HashMap::new(),
            periodic: Vec::new(),
            metrics: None,
        }
    }

    /// Records outcomes into `metrics`.
    pub fn with_metrics(mut self, metrics: JobMetrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    pub fn context(&self) -> &C {
        &self.ctx
    }

    pub fn worker_id(&self) -> &str {
        &self.config.worker_id
    }

    pub fn register<J: Handler<C>>(&mut self) -> &mut Self {
        let handler: HandlerFn<C> = Arc::new(|payload, ctx| {
            Box::pin(async move {
                let job: J = serde_json::from_str(&payload)?;
                job.run(&ctx).await
            })
        });
        self.handlers.insert(J::NAME, handler);
        self
    }

    /// Registers a periodic job kind that runs at every slot of `every`
    /// (aligned to the epoch). Its schedule is a pending row in the queue,
    /// so any number of workers keep exactly one instance scheduled.
    pub fn periodic<J: Handler<C> + Default>(&mut self, every: chrono::Duration) -> &mut Self {
        const { assert!(J::DEDUPLICATED, "a periodic job must be deduplicated") };
        self.register::<J>();
        let schedule: ScheduleFn = Arc::new(move |db, now| {
            Box::pin(async move {
                jobs::enqueue_at(&db, &J::default(), jobs::next_slot(now, every), now).await
            })
        });
        self.periodic.push(Periodic {
            name: J::NAME,
            schedule,
        });
        self
    }

    pub fn periodic_names(&self) -> Vec<&'static str> {
        self.periodic.iter().map(|p| p.name).collect()
    }

    /// Makes sure each periodic job has its next slot queued.
    pub async fn schedule_periodic(&self) -> jobs::Result<()> {
        let now = self.clock.now();
        for p in &self.periodic {
            (p.schedule)(self.db.clone(), now).await?;
        }
        Ok(())
    }

    /// Runs every job that is due now, including those the runs enqueue,
    /// until none is left; returns how many ran. For tests and one-shot use.
    pub async fn run_pending(&self) -> jobs::Result<usize> {
        self.schedule_periodic().await?;
        let mut total = 0;
        loop {
            let claimed = self.claim(self.config.concurrency).await?;
            if claimed.is_empty() {
                return Ok(total);
            }
            total += claimed.len();
            futures::future::join_all(claimed.into_iter().map(|job| self.execute(job))).await;
        }
    }

    /// Claims due jobs (up to `limit`) without running them.
    pub async fn claim(&self, limit: usize) -> jobs::Result<Vec<ClaimedJob>> {
        let limit = u32::try_from(limit).unwrap_or(u32::MAX);
        jobs::claim(
            &self.db,
            &self.config.worker_id,
            self.config.lease,
            self.clock.now(),
            limit,
        )
        .await
    }

    /// Runs until `shutdown` is cancelled, then lets running jobs finish.
    pub async fn run(self, shutdown: CancellationToken) {
        let runner = Arc::new(self);
        let permits = Arc::new(Semaphore::new(runner.config.concurrency));
        let mut running = JoinSet::new();
        tracing::info!(worker_id = %runner.config.worker_id, "job runner started");
        while !shutdown.is_cancelled() {
            while running.try_join_next().is_some() {}
            if let Err(e) = runner.schedule_periodic().await {
                tracing::error!(error.cause_chain = ?e, error.message = %e, "scheduling periodic jobs failed");
            }
            let free = permits.available_permits();
            let claimed = if free == 0 {
                Ok(Vec::new())
            } else {
                runner.claim(free).await
            };
            let idle = match claimed {
                Ok(claimed) => {
                    let idle = claimed.is_empty();
                    for job in claimed {
                        let permit = Arc::clone(&permits).acquire_owned().await;
                        let runner = Arc::clone(&runner);
                        running.spawn(async move {
                            let _permit = permit;
                            runner.execute(job).await;
                        });
                    }
                    idle
                }
                Err(e) => {
                    tracing::error!(error.cause_chain = ?e, error.message = %e, "claiming jobs failed");
                    true
                }
            };
            if idle || permits.available_permits() == 0 {
                tokio::select! {
                    () = tokio::time::sleep(runner.config.poll_interval) => {}
                    () = shutdown.cancelled() => {}
                    Some(_) = running.join_next(), if !running.is_empty() => {}
                }
            }
        }
        tracing::info!(
            in_flight = running.len(),
            "job runner stopping; letting running jobs finish"
        );
        while running.join_next().await.is_some() {}
        tracing::info!("job runner stopped");
    }

    /// Runs one claimed job and records its outcome.
    async fn execute(&self, job: ClaimedJob) {
        let span = tracing::info_span!(
            "job",
            job.name = %job.name,
            job.id = %job.id,
            job.attempt = job.attempt,
            tenant_id = tracing::field::Empty,
            request_id = tracing::field::Empty,
        );
        self.execute_in_span(job).instrument(span).await;
    }

    async fn execute_in_span(&self, job: ClaimedJob) {
        let started = std::time::Instant::now();
        let worker = self.config.worker_id.as_str();
        let result = if job.attempt > job.max_attempts {
            // Claimed again after the lease of its last attempt expired.
            Err(anyhow::anyhow!(
                "the worker running the last attempt stopped before finishing"
            ))
        } else if let Some(handler) = self.handlers.get(job.name.as_str()) {
            let work =
                AssertUnwindSafe(handler(job.payload.clone(), self.ctx.clone())).catch_unwind();
            let renew = self.renew_lease(&job);
            tokio::select! {
                result = work => result.unwrap_or_else(|panic| Err(anyhow::anyhow!(
                    "job panicked: {}",
                    panic.downcast_ref::<&str>().copied()
                        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                        .unwrap_or("(no message)")
                ))),
                () = renew => Err(anyhow::anyhow!("lease lost while running")),
            }
        } else {
            Err(anyhow::anyhow!("no handler for job kind `{}`", job.name))
        };
        let now = self.clock.now();
        let outcome = match result {
            Ok(()) => match jobs::complete(&self.db, &job, worker).await {
                Ok(true) => "success",
                Ok(false) => "lease_lost",
                Err(e) => {
                    tracing::error!(error.cause_chain = ?e, error.message = %e, "recording job success failed");
                    "error"
                }
            },
            Err(error) => {
                let message = format!("{error:#}");
                match jobs::fail(&self.db, &job, worker, &message, self.config.backoff, now).await {
                    Ok(outcome) => {
                        tracing::warn!(error.message = %message, ?outcome, "job failed");
                        match outcome {
                            FailOutcome::Retry { .. } => "retry",
                            FailOutcome::Failed => "failed",
                            FailOutcome::Superseded => "superseded",
                            FailOutcome::LeaseLost => "lease_lost",
                        }
                    }
                    Err(e) => {
                        tracing::error!(error.cause_chain = ?e, error.message = %e, "recording job failure failed");
                        "error"
                    }
                }
            }
        };
        if let Some(m) = &self.metrics {
            m.runs
                .with_label_values(&[job.name.as_str(), outcome])
                .inc();
            m.duration
                .with_label_values(&[job.name.as_str()])
                .observe(started.elapsed().as_secs_f64());
        }
        tracing::debug!(outcome, "job finished");
    }

    /// Renews the lease every third of its length; returns only if it is lost.
    async fn renew_lease(&self, job: &ClaimedJob) {
        let every = (self.config.lease / 3)
            .to_std()
            .unwrap_or(Duration::from_secs(1));
        loop {
            tokio::time::sleep(every).await;
            let until = self.clock.now() + self.config.lease;
            match jobs::extend_lease(&self.db, job, &self.config.worker_id, until).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => {
                    tracing::warn!(error.cause_chain = ?e, error.message = %e, "renewing a job lease failed")
                }
            }
        }
    }
}
