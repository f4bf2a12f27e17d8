use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DbBackend, SqlErr};
use uuid::Uuid;

use super::{Job, Result};
use crate::db::stmt;
use crate::ids::JobId;

const CLAIMED_COLUMNS: &str = "id, name, payload, attempts, max_attempts, dedup_key";

/// Exponential backoff between attempts: `base × 2^(attempt-1)`, at most `max`.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    /// Delay after the first failed attempt.
    pub base: Duration,
    /// Longest delay.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::seconds(10),
            max: Duration::hours(1),
        }
    }
}

impl Backoff {
    /// Delay after attempt number `attempt` (1-based) failed.
    pub fn delay(&self, attempt: i32) -> Duration {
        let exponent = u32::try_from(attempt.saturating_sub(1))
            .unwrap_or(0)
            .min(30);
        self.base
            .checked_mul(1 << exponent)
            .map_or(self.max, |d| d.min(self.max))
    }
}

/// A job a worker holds under a lease.
#[derive(Clone, Debug)]
pub struct ClaimedJob {
    /// The job.
    pub id: JobId,
    /// Its kind ([`Job::NAME`]).
    pub name: String,
    /// Its JSON payload.
    pub payload: String,
    /// This attempt's number, from 1.
    pub attempt: i32,
    /// Attempts allowed before it is kept as failed.
    pub max_attempts: i32,
}

/// What became of a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOutcome {
    /// Pending again, not before `at`.
    Retry {
        /// When it may next run.
        at: DateTime<Utc>,
    },
    /// Out of attempts: kept as failed with its error.
    Failed,
    /// An identical job was already pending again, which does the same work:
    /// this one was dropped.
    Superseded,
    /// The lease had passed to another worker; nothing was changed.
    LeaseLost,
}

/// Counts of the queue by state, for metrics and health.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Pending and due.
    pub ready: i64,
    /// Pending, due later (retries and periodic slots).
    pub scheduled: i64,
    /// Held by a worker.
    pub running: i64,
    /// Out of attempts.
    pub failed: i64,
}

/// A job kept as failed.
#[derive(Clone, Debug)]
pub struct FailedJob {
    /// The job.
    pub id: JobId,
    /// Its kind.
    pub name: String,
    /// Attempts made.
    pub attempts: i32,
    /// The last attempt's error.
    pub last_error: Option<String>,
}

/// Enqueues `job` to run now, in `db`'s transaction if it is one.
/// Returns false if an identical deduplicated job was already pending.
pub async fn enqueue<C: ConnectionTrait, J: Job>(
    db: &C,
    job: &J,
    now: DateTime<Utc>,
) -> Result<bool> {
    enqueue_at(db, job, now, now).await
}

/// Enqueues `job` to run at `run_at` or later.
#[tracing::instrument(skip_all, fields(job.name = J::NAME), err)]
pub async fn enqueue_at<C: ConnectionTrait, J: Job>(
    db: &C,
    job: &J,
    run_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let payload = serde_json::to_string(job)?;
    let dedup_key = J::DEDUPLICATED.then(|| format!("{}:{payload}", J::NAME));
    // The partial unique index on (dedup_key) WHERE state = 'pending' makes a
    // duplicate a conflict. The pending twin is moved earlier if this one is
    // due sooner (a change now must not wait for a retry or a follow-up
    // scheduled later); otherwise nothing happens and no row is affected.
    let earlier = match db.get_database_backend() {
        DbBackend::Postgres => "LEAST(jobs.run_at, EXCLUDED.run_at)",
        _ => "MIN(jobs.run_at, EXCLUDED.run_at)",
    };
    let sql = format!(
        "INSERT INTO jobs (id, name, payload, dedup_key, state, attempts, max_attempts, \
         run_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'pending', 0, $5, $6, $7, $7) \
         ON CONFLICT (dedup_key) WHERE state = 'pending' \
         DO UPDATE SET run_at = {earlier}, updated_at = EXCLUDED.updated_at \
         WHERE EXCLUDED.run_at < jobs.run_at"
    );
    let result = db
        .execute_raw(stmt(
            db,
            &sql,
            vec![
                JobId::new().into(),
                J::NAME.into(),
                payload.into(),
                dedup_key.into(),
                J::MAX_ATTEMPTS.into(),
                run_at.into(),
                now.into(),
            ],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Claims up to `limit` due jobs for `worker` until `now + lease`: pending
/// jobs whose time has come, and running jobs whose lease has expired.
pub async fn claim(
    db: &impl ConnectionTrait,
    worker: &str,
    lease: Duration,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<ClaimedJob>> {
    let due = "(state = 'pending' AND run_at <= $3) OR (state = 'running' AND locked_until <= $3)";
    let set = "state = 'running', attempts = attempts + 1, locked_by = $1, locked_until = $2, \
               updated_at = $3";
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => format!(
            "WITH next AS (SELECT id FROM jobs WHERE {due} ORDER BY run_at, id LIMIT $4 \
             FOR UPDATE SKIP LOCKED) \
             UPDATE jobs SET {set} FROM next WHERE jobs.id = next.id RETURNING {}",
            CLAIMED_COLUMNS
                .split(", ")
                .map(|c| format!("jobs.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => format!(
            "UPDATE jobs SET {set} WHERE id IN (SELECT id FROM jobs WHERE {due} \
             ORDER BY run_at, id LIMIT $4) RETURNING {CLAIMED_COLUMNS}"
        ),
    };
    let rows = db
        .query_all_raw(stmt(
            db,
            &sql,
            vec![
                worker.into(),
                (now + lease).into(),
                now.into(),
                i64::from(limit).into(),
            ],
        ))
        .await?;
    let mut jobs = rows
        .iter()
        .map(|row| {
            Ok(ClaimedJob {
                id: JobId(row.try_get::<Uuid>("", "id")?),
                name: row.try_get("", "name")?,
                payload: row.try_get("", "payload")?,
                attempt: row.try_get("", "attempts")?,
                max_attempts: row.try_get("", "max_attempts")?,
            })
        })
        .collect::<Result<Vec<_>, sea_orm::DbErr>>()?;
    // RETURNING gives no order guarantee; run the oldest id first.
    jobs.sort_by_key(|j| j.id);
    Ok(jobs)
}

/// Renews `worker`'s lease on a running job. False if the lease was lost.
pub async fn extend_lease(
    db: &impl ConnectionTrait,
    job: &ClaimedJob,
    worker: &str,
    until: DateTime<Utc>,
) -> Result<bool> {
    let r = db
        .execute_raw(stmt(
            db,
            "UPDATE jobs SET locked_until = $3 WHERE id = $1 AND locked_by = $2 AND attempts = $4 AND state = 'running'",
            vec![job.id.into(), worker.into(), until.into(), job.attempt.into()],
        ))
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Marks a job done by deleting it. False if the lease was lost meanwhile
/// (leases are fenced by worker and attempt: a claim of the same job by the
/// same worker after its lease expired is another attempt).
pub async fn complete(db: &impl ConnectionTrait, job: &ClaimedJob, worker: &str) -> Result<bool> {
    let r = db
        .execute_raw(stmt(
            db,
            "DELETE FROM jobs WHERE id = $1 AND locked_by = $2 AND attempts = $3 AND state = 'running'",
            vec![job.id.into(), worker.into(), job.attempt.into()],
        ))
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Records a failed attempt: pending again after the backoff, or failed for
/// good when it was the last attempt.
pub async fn fail(
    db: &impl ConnectionTrait,
    job: &ClaimedJob,
    worker: &str,
    error: &str,
    backoff: Backoff,
    now: DateTime<Utc>,
) -> Result<FailOutcome> {
    if job.attempt >= job.max_attempts {
        let r = db
            .execute_raw(stmt(
                db,
                "UPDATE jobs SET state = 'failed', last_error = $3, locked_by = NULL, \
                 locked_until = NULL, updated_at = $4 \
                 WHERE id = $1 AND locked_by = $2 AND attempts = $5 AND state = 'running'",
                vec![
                    job.id.into(),
                    worker.into(),
                    error.into(),
                    now.into(),
                    job.attempt.into(),
                ],
            ))
            .await?;
        return Ok(if r.rows_affected() == 1 {
            FailOutcome::Failed
        } else {
            FailOutcome::LeaseLost
        });
    }
    let at = now + backoff.delay(job.attempt);
    let retry = db
        .execute_raw(stmt(
            db,
            "UPDATE jobs SET state = 'pending', run_at = $3, last_error = $4, locked_by = NULL, \
             locked_until = NULL, updated_at = $5 \
             WHERE id = $1 AND locked_by = $2 AND state = 'running'",
            vec![
                job.id.into(),
                worker.into(),
                at.into(),
                error.into(),
                now.into(),
            ],
        ))
        .await;
    match retry {
        Ok(r) if r.rows_affected() == 1 => Ok(FailOutcome::Retry { at }),
        Ok(_) => Ok(FailOutcome::LeaseLost),
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            db.execute_raw(stmt(
                db,
                "DELETE FROM jobs WHERE id = $1 AND locked_by = $2 AND attempts = $3",
                vec![job.id.into(), worker.into(), job.attempt.into()],
            ))
            .await?;
            Ok(FailOutcome::Superseded)
        }
        Err(e) => Err(e.into()),
    }
}

/// The queue's depth by state at `now`.
pub async fn depth(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<QueueDepth> {
    let rows = db
        .query_all_raw(stmt(
            db,
            "SELECT CASE WHEN state = 'pending' AND run_at > $1 THEN 'scheduled' ELSE state END \
             AS bucket, COUNT(*) AS n FROM jobs GROUP BY 1",
            vec![now.into()],
        ))
        .await?;
    let mut depth = QueueDepth::default();
    for row in rows {
        let n: i64 = row.try_get("", "n")?;
        match row.try_get::<String>("", "bucket")?.as_str() {
            "pending" => depth.ready = n,
            "scheduled" => depth.scheduled = n,
            "running" => depth.running = n,
            "failed" => depth.failed = n,
            _ => {}
        }
    }
    Ok(depth)
}

/// Jobs kept as failed, oldest first.
pub async fn failed(db: &impl ConnectionTrait) -> Result<Vec<FailedJob>> {
    let rows = db
        .query_all_raw(stmt(
            db,
            "SELECT id, name, attempts, last_error FROM jobs WHERE state = 'failed' ORDER BY id",
            vec![],
        ))
        .await?;
    rows.iter()
        .map(|row| {
            Ok(FailedJob {
                id: JobId(row.try_get::<Uuid>("", "id")?),
                name: row.try_get("", "name")?,
                attempts: row.try_get("", "attempts")?,
                last_error: row.try_get("", "last_error")?,
            })
        })
        .collect()
}

/// Names of jobs due by `now` and not finished (pending or running), with
/// periodic schedules (`periodic` names) left out.
pub async fn unfinished(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    periodic: &[&str],
) -> Result<Vec<String>> {
    let rows = db
        .query_all_raw(stmt(
            db,
            "SELECT name FROM jobs WHERE state = 'running' OR (state = 'pending' AND run_at <= $1) \
             ORDER BY id",
            vec![now.into()],
        ))
        .await?;
    let names = rows
        .iter()
        .map(|r| r.try_get::<String>("", "name"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(names
        .into_iter()
        .filter(|n| !periodic.contains(&n.as_str()))
        .collect())
}
