//! Rate limits: anonymous calls and refused credentials per client address,
//! authenticated calls per credential, usage ingestion per credential.
//!
//! Each key has a GCRA bucket (a burst of `count` that refills evenly over
//! the period): one instant per key, so the table is small. The table is
//! bounded; when it is full of keys still refilling, a new key is refused,
//! so a flood of invented keys costs memory only up to the bound.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use crate::settings::{HttpSettings, Rate};

/// Most keys tracked at once.
const MAX_KEYS: usize = 100_000;

/// What a limit applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// Anonymous calls and refused credentials, by client address.
    Address,
    /// Authenticated calls, by credential.
    Credential,
    /// `POST /v1/usage`, by credential.
    Usage,
}

/// Theoretical arrival time per key, and when the table was last pruned.
#[derive(Default)]
struct Table {
    tat: HashMap<(Bucket, String), Instant>,
    pruned_at: Option<Instant>,
}

/// The limiter, shared by every HTTP worker.
pub struct RateLimiter {
    rates: HashMap<Bucket, Rate>,
    /// Theoretical arrival time per key.
    table: Mutex<Table>,
}

impl RateLimiter {
    /// A limiter with the configured rates.
    pub fn new(settings: &HttpSettings) -> Self {
        let rates = [
            (Bucket::Address, settings.rate_anonymous),
            (Bucket::Credential, settings.rate_credential),
            (Bucket::Usage, settings.rate_usage),
        ]
        .into_iter()
        .filter_map(|(b, r)| r.map(|r| (b, r)))
        .collect();
        Self {
            rates,
            table: Mutex::new(Table::default()),
        }
    }

    /// Takes one request from `key`'s bucket, or says how long to wait.
    pub fn take(&self, bucket: Bucket, key: &str) -> Result<(), Duration> {
        self.take_at(bucket, key, Instant::now())
    }

    /// Whether `key` could take a request now, without taking it.
    pub fn peek(&self, bucket: Bucket, key: &str) -> Result<(), Duration> {
        let Some(rate) = self.rates.get(&bucket) else {
            return Ok(());
        };
        let tolerance = rate.per.saturating_sub(rate.per / rate.count);
        let table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        let ahead = table
            .tat
            .get(&(bucket, key.to_owned()))
            .map_or(Duration::ZERO, |tat| {
                tat.saturating_duration_since(Instant::now())
            });
        if ahead > tolerance {
            Err(ahead - tolerance)
        } else {
            Ok(())
        }
    }

    fn take_at(&self, bucket: Bucket, key: &str, now: Instant) -> Result<(), Duration> {
        let Some(rate) = self.rates.get(&bucket) else {
            return Ok(());
        };
        let interval = rate.per / rate.count;
        let tolerance = rate.per.saturating_sub(interval);
        let mut guard = self.table.lock().unwrap_or_else(|p| p.into_inner());
        let table = &mut *guard;
        if table.tat.len() >= MAX_KEYS && !table.tat.contains_key(&(bucket, key.to_owned())) {
            // Pruning walks the table: at most once a second, so a flood of
            // new keys costs one walk, not one per request.
            if table
                .pruned_at
                .is_none_or(|t| now.saturating_duration_since(t) >= Duration::from_secs(1))
            {
                table.tat.retain(|_, tat| *tat > now);
                table.pruned_at = Some(now);
            }
            if table.tat.len() >= MAX_KEYS {
                return Err(interval);
            }
        }
        let tat = table.tat.entry((bucket, key.to_owned())).or_insert(now);
        let start = (*tat).max(now);
        let ahead = start.saturating_duration_since(now);
        if ahead > tolerance {
            return Err(ahead - tolerance);
        }
        *tat = start + interval;
        Ok(())
    }
}

/// The client's address as a key (the peer; a proxy in front is one client).
pub fn address(req: &HttpRequest) -> String {
    req.peer_addr()
        .map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string())
}

/// 429 with `Retry-After` in whole seconds.
pub fn too_many(wait: Duration) -> HttpResponse {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    HttpResponse::build(StatusCode::TOO_MANY_REQUESTS)
        .insert_header((header::RETRY_AFTER, secs.max(1).to_string()))
        .json(json!({
            "errors": [{
                "message": format!("too many requests; retry in {} s", secs.max(1)),
                "extensions": { "code": "RATE_LIMITED", "retryAfter": secs.max(1) },
            }]
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(count: u32, per: Duration) -> RateLimiter {
        let rate = Some(Rate { count, per });
        RateLimiter::new(&HttpSettings {
            graphql_body_limit: 1 << 20,
            usage_body_limit: 1 << 20,
            cors_origins: Vec::new(),
            rate_anonymous: rate,
            rate_credential: rate,
            rate_usage: None,
        })
    }

    #[test]
    fn a_burst_passes_then_waits_for_its_refill() {
        let l = limiter(3, Duration::from_secs(60));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(l.take_at(Bucket::Address, "a", t0), Ok(()));
        }
        let wait = l.take_at(Bucket::Address, "a", t0).unwrap_err();
        assert_eq!(wait, Duration::from_secs(20));
        // Other keys and other buckets are untouched.
        assert_eq!(l.take_at(Bucket::Address, "b", t0), Ok(()));
        assert_eq!(l.take_at(Bucket::Credential, "a", t0), Ok(()));
        // One interval later, one more request fits, not two.
        let t1 = t0 + Duration::from_secs(20);
        assert_eq!(l.take_at(Bucket::Address, "a", t1), Ok(()));
        assert!(l.take_at(Bucket::Address, "a", t1).is_err());
        // An unconfigured bucket never limits.
        for _ in 0..100 {
            assert_eq!(l.take_at(Bucket::Usage, "a", t0), Ok(()));
        }
    }

    #[test]
    fn the_table_is_bounded_and_pruned() {
        let l = limiter(1, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..MAX_KEYS {
            assert_eq!(l.take_at(Bucket::Address, &i.to_string(), t0), Ok(()));
        }
        // Full of keys still refilling: a new one is refused, not stored.
        assert!(l.take_at(Bucket::Address, "new", t0).is_err());
        // Once they have refilled, the walk frees them.
        let later = t0 + Duration::from_secs(61);
        assert_eq!(l.take_at(Bucket::Address, "new", later), Ok(()));
        let size = l.table.lock().unwrap().tat.len();
        assert_eq!(size, 1);
    }
}
