//! The job queue: atomic enqueue, exclusive claims, backoff, dedup, leases,
//! periodic schedules and graceful shutdown.

use std::sync::{Arc, Mutex};

use chrono::Duration;
use coplane_domain::jobs::{self, Backoff, Job};
use coplane_worker::{Handler, Runner, RunnerConfig};
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use serde::{Deserialize, Serialize};

use crate::{TestApp, test_both_dbs};

/// What test jobs record.
#[derive(Clone, Default)]
struct Ctx {
    runs: Arc<Mutex<Vec<String>>>,
}

impl Ctx {
    fn runs(&self) -> Vec<String> {
        self.runs.lock().unwrap().clone()
    }
}

#[derive(Serialize, Deserialize)]
struct Record {
    key: String,
}

impl Job for Record {
    const NAME: &'static str = "test.record";
}

#[async_trait::async_trait]
impl Handler<Ctx> for Record {
    async fn run(self, ctx: &Ctx) -> anyhow::Result<()> {
        // Widen the window in which a second worker could grab the same job.
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        ctx.runs.lock().unwrap().push(self.key);
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
struct AlwaysFails {}

impl Job for AlwaysFails {
    const NAME: &'static str = "test.always_fails";
    const MAX_ATTEMPTS: i32 = 3;
}

#[async_trait::async_trait]
impl Handler<Ctx> for AlwaysFails {
    async fn run(self, ctx: &Ctx) -> anyhow::Result<()> {
        ctx.runs.lock().unwrap().push("attempt".into());
        anyhow::bail!("boom")
    }
}

#[derive(Serialize, Deserialize)]
struct Deduplicated {
    tenant: u32,
}

impl Job for Deduplicated {
    const NAME: &'static str = "test.deduplicated";
    const DEDUPLICATED: bool = true;
}

#[async_trait::async_trait]
impl Handler<Ctx> for Deduplicated {
    async fn run(self, ctx: &Ctx) -> anyhow::Result<()> {
        ctx.runs
            .lock()
            .unwrap()
            .push(format!("tenant-{}", self.tenant));
        Ok(())
    }
}

#[derive(Default, Serialize, Deserialize)]
struct Tick {}

impl Job for Tick {
    const NAME: &'static str = "test.tick";
    const DEDUPLICATED: bool = true;
}

#[async_trait::async_trait]
impl Handler<Ctx> for Tick {
    async fn run(self, ctx: &Ctx) -> anyhow::Result<()> {
        ctx.runs.lock().unwrap().push("tick".into());
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
struct Slow {
    millis: u64,
}

impl Job for Slow {
    const NAME: &'static str = "test.slow";
}

#[async_trait::async_trait]
impl Handler<Ctx> for Slow {
    async fn run(self, ctx: &Ctx) -> anyhow::Result<()> {
        ctx.runs.lock().unwrap().push("started".into());
        tokio::time::sleep(std::time::Duration::from_millis(self.millis)).await;
        ctx.runs.lock().unwrap().push("finished".into());
        Ok(())
    }
}

fn runner(app: &TestApp, ctx: &Ctx, worker_id: &str) -> Runner<Ctx> {
    let config = RunnerConfig {
        worker_id: worker_id.into(),
        concurrency: 4,
        poll_interval: std::time::Duration::from_millis(20),
        lease: Duration::seconds(60),
        backoff: Backoff {
            base: Duration::seconds(10),
            max: Duration::hours(1),
        },
    };
    let mut r = Runner::new(app.db.clone(), ctx.clone(), app.clock.clone(), config);
    r.register::<Record>()
        .register::<AlwaysFails>()
        .register::<Deduplicated>()
        .register::<Slow>();
    r
}

fn ticking_runner(app: &TestApp, ctx: &Ctx, worker_id: &str) -> Runner<Ctx> {
    let mut r = runner(app, ctx, worker_id);
    r.periodic::<Tick>(Duration::hours(1));
    r
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let row = app
        .db
        .query_one_raw(Statement::from_string(app.db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index(0).unwrap()
}

async fn insert_member(db: &impl ConnectionTrait, now: chrono::DateTime<chrono::Utc>) {
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "INSERT INTO members (id, kind, class, display_name, email, shares_held, joined_on, \
         created_at, updated_at) VALUES ($1, 'person', 'worker', 'Ada', NULL, 1, $2, $3, $3)",
        [
            uuid::Uuid::now_v7().into(),
            now.date_naive().into(),
            now.into(),
        ],
    ))
    .await
    .unwrap();
}

test_both_dbs!(a_rolled_back_change_enqueues_nothing, |app| {
    let now = app.now();
    let txn = app.db.begin().await.unwrap();
    insert_member(&txn, now).await;
    assert!(
        jobs::enqueue(
            &txn,
            &Record {
                key: "rolled-back".into()
            },
            now
        )
        .await
        .unwrap()
    );
    txn.rollback().await.unwrap();
    assert_eq!(count(&app, "SELECT COUNT(*) FROM jobs").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM members").await, 0);

    let txn = app.db.begin().await.unwrap();
    insert_member(&txn, now).await;
    jobs::enqueue(
        &txn,
        &Record {
            key: "committed".into(),
        },
        now,
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    assert_eq!(count(&app, "SELECT COUNT(*) FROM members").await, 1);

    let ctx = Ctx::default();
    assert_eq!(runner(&app, &ctx, "w").run_pending().await.unwrap(), 1);
    assert_eq!(ctx.runs(), ["committed"]);
});

test_both_dbs!(two_workers_never_run_the_same_job, |app| {
    let now = app.now();
    let keys: Vec<String> = (0..40).map(|i| format!("job-{i:02}")).collect();
    for key in &keys {
        jobs::enqueue(&app.db, &Record { key: key.clone() }, now)
            .await
            .unwrap();
    }
    let ctx = Ctx::default();
    let (a, b) = (
        runner(&app, &ctx, "worker-a"),
        runner(&app, &ctx, "worker-b"),
    );
    let (ran_a, ran_b) = tokio::join!(a.run_pending(), b.run_pending());
    assert_eq!(ran_a.unwrap() + ran_b.unwrap(), 40);
    let mut runs = ctx.runs();
    runs.sort();
    assert_eq!(runs, keys, "every job ran exactly once");
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM jobs WHERE name = 'test.record'").await,
        0
    );
});

test_both_dbs!(
    failures_retry_with_exponential_backoff_then_are_kept_as_failed,
    |app| {
        let ctx = Ctx::default();
        let r = runner(&app, &ctx, "w");
        jobs::enqueue(&app.db, &AlwaysFails {}, app.now())
            .await
            .unwrap();

        assert_eq!(r.run_pending().await.unwrap(), 1, "first attempt");
        assert_eq!(r.run_pending().await.unwrap(), 0, "not before the backoff");
        app.clock.advance(Duration::seconds(9));
        assert_eq!(
            r.run_pending().await.unwrap(),
            0,
            "10 s after the first failure, not 9"
        );
        app.clock.advance(Duration::seconds(1));
        assert_eq!(r.run_pending().await.unwrap(), 1, "second attempt");
        app.clock.advance(Duration::seconds(19));
        assert_eq!(
            r.run_pending().await.unwrap(),
            0,
            "20 s after the second failure, not 19"
        );
        app.clock.advance(Duration::seconds(1));
        assert_eq!(r.run_pending().await.unwrap(), 1, "third and last attempt");
        app.clock.advance(Duration::days(1));
        assert_eq!(
            r.run_pending().await.unwrap(),
            0,
            "kept as failed, not retried"
        );
        assert_eq!(ctx.runs().len(), 3);

        let failed = jobs::failed(&app.db).await.unwrap();
        assert_eq!(failed.len(), 1);
        assert_eq!(
            (failed[0].name.as_str(), failed[0].attempts),
            ("test.always_fails", 3)
        );
        assert_eq!(failed[0].last_error.as_deref(), Some("boom"));
        assert_eq!(jobs::depth(&app.db, app.now()).await.unwrap().failed, 1);
        let metrics = app.get("/metrics").await.text().await.unwrap();
        assert!(
            metrics.contains(r#"coplane_job_queue_depth{state="failed"} 1"#),
            "{metrics}"
        );

        // Failed jobs were expected here; leave the queue clean for the end-of-test check.
        app.execute("DELETE FROM jobs WHERE state = 'failed'", vec![])
            .await;
    }
);

test_both_dbs!(deduplicated_jobs_are_enqueued_once_while_pending, |app| {
    let now = app.now();
    assert!(
        jobs::enqueue(&app.db, &Deduplicated { tenant: 1 }, now)
            .await
            .unwrap()
    );
    assert!(
        !jobs::enqueue(&app.db, &Deduplicated { tenant: 1 }, now)
            .await
            .unwrap()
    );
    assert!(
        jobs::enqueue(&app.db, &Deduplicated { tenant: 2 }, now)
            .await
            .unwrap()
    );

    // Concurrent duplicates: exactly one row.
    let results = futures::future::join_all(
        (0..20).map(|_| jobs::enqueue(&app.db, &Deduplicated { tenant: 3 }, now)),
    )
    .await;
    assert_eq!(
        results.into_iter().filter(|r| *r.as_ref().unwrap()).count(),
        1
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM jobs").await, 3);

    // A duplicate due sooner pulls the pending one forward instead.
    let later = now + Duration::hours(1);
    assert!(
        jobs::enqueue_at(&app.db, &Deduplicated { tenant: 9 }, later, now)
            .await
            .unwrap()
    );
    assert!(
        !jobs::enqueue_at(
            &app.db,
            &Deduplicated { tenant: 9 },
            later + Duration::hours(1),
            now
        )
        .await
        .unwrap()
    );
    assert!(
        jobs::enqueue(&app.db, &Deduplicated { tenant: 9 }, now)
            .await
            .unwrap()
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM jobs WHERE name = 'test.deduplicated'"
        )
        .await,
        4
    );

    // A running job does not count: a change after it started needs a new run.
    let ctx = Ctx::default();
    let r = runner(&app, &ctx, "w");
    let claimed = r.claim(4).await.unwrap();
    assert_eq!(claimed.len(), 4);
    assert!(
        jobs::enqueue(&app.db, &Deduplicated { tenant: 1 }, now)
            .await
            .unwrap()
    );
    for job in claimed {
        assert!(jobs::complete(&app.db, &job, r.worker_id()).await.unwrap());
    }
    assert_eq!(r.run_pending().await.unwrap(), 1);
    assert_eq!(ctx.runs(), ["tenant-1"]);
});

test_both_dbs!(
    a_job_whose_worker_died_is_claimed_again_after_its_lease,
    |app| {
        jobs::enqueue(
            &app.db,
            &Record {
                key: "orphan".into(),
            },
            app.now(),
        )
        .await
        .unwrap();
        let ctx = Ctx::default();
        let dead = runner(&app, &ctx, "worker-that-dies");
        let claimed = dead.claim(1).await.unwrap();
        assert_eq!(claimed.len(), 1);
        // The worker is killed here: it never completes, fails or renews.

        let alive = runner(&app, &ctx, "worker-alive");
        assert_eq!(
            alive.run_pending().await.unwrap(),
            0,
            "leased to the dead worker"
        );
        app.clock.advance(Duration::seconds(59));
        assert_eq!(
            alive.run_pending().await.unwrap(),
            0,
            "lease not yet expired"
        );
        app.clock.advance(Duration::seconds(1));
        assert_eq!(
            alive.run_pending().await.unwrap(),
            1,
            "claimed again once the lease expired"
        );
        assert_eq!(ctx.runs(), ["orphan"]);
        // Had the first worker come back, its completion would not count.
        assert!(
            !jobs::complete(&app.db, &claimed[0], dead.worker_id())
                .await
                .unwrap()
        );
    }
);

test_both_dbs!(periodic_jobs_keep_one_scheduled_instance_per_slot, |app| {
    let ctx = Ctx::default();
    let (a, b) = (
        ticking_runner(&app, &ctx, "a"),
        ticking_runner(&app, &ctx, "b"),
    );
    a.schedule_periodic().await.unwrap();
    b.schedule_periodic().await.unwrap();
    a.schedule_periodic().await.unwrap();
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM jobs WHERE name = 'test.tick'").await,
        1
    );

    let slot = jobs::next_slot(app.now(), Duration::hours(1));
    assert_eq!(a.run_pending().await.unwrap(), 0, "not before its slot");
    app.clock.set(slot);
    let (ran_a, ran_b) = tokio::join!(a.run_pending(), b.run_pending());
    assert_eq!(ran_a.unwrap() + ran_b.unwrap(), 1);
    assert_eq!(ctx.runs(), ["tick"]);

    // The next slot is queued, once.
    a.schedule_periodic().await.unwrap();
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM jobs WHERE name = 'test.tick'").await,
        1
    );
    app.clock.set(slot + Duration::hours(1));
    assert_eq!(a.run_pending().await.unwrap(), 1);
    assert_eq!(ctx.runs(), ["tick", "tick"]);
    app.execute("DELETE FROM jobs WHERE name = 'test.tick'", vec![])
        .await;
});

test_both_dbs!(shutdown_lets_running_jobs_finish, |app| {
    jobs::enqueue(&app.db, &Slow { millis: 300 }, app.now())
        .await
        .unwrap();
    let ctx = Ctx::default();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(runner(&app, &ctx, "w").run(shutdown.clone()));
    while ctx.runs().is_empty() {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    shutdown.cancel();
    task.await.unwrap();
    assert_eq!(ctx.runs(), ["started", "finished"]);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM jobs WHERE name = 'test.slow'").await,
        0
    );
});

test_both_dbs!(old_failed_jobs_are_pruned_daily, |app| {
    let insert_failed = |age: Duration| {
        let at = app.now() - age;
        app.execute(
            "INSERT INTO jobs (id, name, payload, state, attempts, max_attempts, run_at, \
             last_error, created_at, updated_at) VALUES ($1, 'x', '{}', 'failed', 3, 3, $2, 'e', $2, $2)",
            vec![uuid::Uuid::now_v7().into(), at.into()],
        )
    };
    insert_failed(Duration::days(31)).await;
    insert_failed(Duration::days(1)).await;
    app.run_pending_jobs().await;
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM jobs WHERE state = 'failed'").await,
        2,
        "not before its slot"
    );
    app.clock.set(jobs::next_slot(app.now(), Duration::days(1)));
    assert!(app.run_pending_jobs().await >= 1);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM jobs WHERE state = 'failed'").await,
        1,
        "only the old one went"
    );
    app.execute("DELETE FROM jobs WHERE state = 'failed'", vec![])
        .await;
});

test_both_dbs!(job_outcomes_are_counted_in_metrics, |app| {
    let registry = prometheus::Registry::new();
    let metrics = coplane_worker::metrics::JobMetrics::register(&registry).unwrap();
    let ctx = Ctx::default();
    let r = runner(&app, &ctx, "w").with_metrics(metrics);
    jobs::enqueue(&app.db, &Record { key: "ok".into() }, app.now())
        .await
        .unwrap();
    jobs::enqueue(&app.db, &AlwaysFails {}, app.now())
        .await
        .unwrap();
    assert_eq!(r.run_pending().await.unwrap(), 2);

    let mut text = Vec::new();
    prometheus::Encoder::encode(
        &prometheus::TextEncoder::new(),
        &registry.gather(),
        &mut text,
    )
    .unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.contains(r#"coplane_jobs_total{name="test.record",outcome="success"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"coplane_jobs_total{name="test.always_fails",outcome="retry"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"coplane_job_duration_seconds_count{name="test.record"} 1"#),
        "{text}"
    );
    app.execute("DELETE FROM jobs WHERE name = 'test.always_fails'", vec![])
        .await;
});

test_both_dbs!(
    an_expired_attempt_cannot_finish_a_job_claimed_again_by_the_same_worker,
    |app| {
        jobs::enqueue(
            &app.db,
            &Record {
                key: "twice".into(),
            },
            app.now(),
        )
        .await
        .unwrap();
        let ctx = Ctx::default();
        let r = runner(&app, &ctx, "same-worker");
        let first = r.claim(1).await.unwrap().remove(0);
        app.clock.advance(Duration::seconds(61));
        let second = r.claim(1).await.unwrap().remove(0);
        assert_eq!((first.id, first.attempt, second.attempt), (second.id, 1, 2));
        assert!(
            !jobs::complete(&app.db, &first, r.worker_id())
                .await
                .unwrap(),
            "the stale attempt is fenced off"
        );
        assert!(
            jobs::complete(&app.db, &second, r.worker_id())
                .await
                .unwrap()
        );
    }
);
