//! The job queue, in the same database as everything else.
//!
//! A change and the jobs it causes are written in one transaction: call
//! [`enqueue`] with the transaction the change is made in, and a rollback
//! takes the job with it. Workers [`claim`] jobs under a lease (`FOR UPDATE
//! SKIP LOCKED` on PostgreSQL; SQLite serializes writers), renew it while they
//! work, and either [`complete`] the job (its row is deleted) or [`fail`] it
//! (retried with exponential backoff, then kept as `failed` with its error).
//! A worker that dies mid-job stops renewing its lease; once the lease
//! expires, the job is claimed again. Handlers are therefore written to be
//! idempotent: a job may run more than once, never zero times.
//!
//! Deduplicated jobs ([`Job::DEDUPLICATED`]) are not enqueued while an
//! identical job is still pending; the pending one is moved earlier if the
//! new one is due sooner. A running one does not count: the change
//! that enqueues again may have happened after the running job read its
//! inputs. Periodic jobs are pending rows too, one per schedule, enqueued for
//! their next slot by the runner ([`next_slot`]).

mod queue;

pub use queue::{
    Backoff, ClaimedJob, FailOutcome, FailedJob, QueueDepth, claim, complete, depth, enqueue,
    enqueue_at, extend_lease, fail, failed, unfinished,
};

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A kind of job: its payload is the struct itself, stored as JSON.
pub trait Job: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The name the queue stores and the runner dispatches on.
    const NAME: &'static str;
    /// Whether an identical pending job makes enqueuing this one a no-op.
    const DEDUPLICATED: bool = false;
    /// Attempts before the job is kept as failed.
    const MAX_ATTEMPTS: i32 = 10;
}

/// Errors of the queue.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The database refused or failed.
    #[error("job queue database error")]
    Db(#[from] sea_orm::DbErr),
    /// A payload could not be encoded or decoded.
    #[error("job payload is not valid JSON for its kind")]
    Payload(#[from] serde_json::Error),
}

/// `Result` of the queue.
pub type Result<T, E = JobError> = std::result::Result<T, E>;

/// The first slot of a schedule repeating `every` that is strictly after
/// `now`. Slots are aligned to the Unix epoch, so every worker computes the
/// same ones.
pub fn next_slot(now: DateTime<Utc>, every: Duration) -> DateTime<Utc> {
    let period = every.num_milliseconds().max(1);
    let t = now.timestamp_millis();
    let next = (t.div_euclid(period) + 1) * period;
    Utc.timestamp_millis_opt(next).single().unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_slot_is_aligned_and_strictly_later() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let hour = Duration::hours(1);
        assert_eq!(
            next_slot(at("2030-01-01T13:37:00Z"), hour),
            at("2030-01-01T14:00:00Z")
        );
        assert_eq!(
            next_slot(at("2030-01-01T14:00:00Z"), hour),
            at("2030-01-01T15:00:00Z")
        );
        assert_eq!(
            next_slot(at("2030-01-01T23:59:59Z"), Duration::days(1)),
            at("2030-01-02T00:00:00Z")
        );
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let b = Backoff {
            base: Duration::seconds(10),
            max: Duration::seconds(300),
        };
        let delays: Vec<i64> = (1..=7).map(|a| b.delay(a).num_seconds()).collect();
        assert_eq!(delays, [10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(b.delay(200).num_seconds(), 300);
    }
}
