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

/// One bucket's keys: the theoretical arrival time of each, and when the
/// table was last pruned.
#[derive(Default)]
struct Table {
    tat: HashMap<String, Instant>,
    pruned_at: Option<Instant>,
}

/// A configured bucket: its rate and its own table, so a flood of one kind
/// of key never crowds out another.
struct Limited {
    rate: Rate,
    table: Mutex<Table>,
}

impl Limited {
    /// The spacing of requests, and how far ahead a key may run.
    fn spacing(&self) -> (Duration, Duration) {
        let interval = self.rate.per / self.rate.count;
        (interval, self.rate.per.saturating_sub(interval))
    }

    /// How long `tat` makes a request at `now` wait; zero when it may go.
    fn wait(&self, tat: Instant, now: Instant) -> Duration {
        let (_, tolerance) = self.spacing();
        tat.saturating_duration_since(now).saturating_sub(tolerance)
    }
}

/// The limiter, shared by every HTTP worker.
pub struct RateLimiter {
    buckets: HashMap<Bucket, Limited>,
}

impl RateLimiter {
    /// A limiter with the configured rates.
    pub fn new(settings: &HttpSettings) -> Self {
        let buckets = [
            (Bucket::Address, settings.rate_anonymous),
            (Bucket::Credential, settings.rate_credential),
            (Bucket::Usage, settings.rate_usage),
        ]
        .into_iter()
        .filter_map(|(b, r)| {
            r.map(|rate| {
                let table = Mutex::new(Table::default());
                (b, Limited { rate, table })
            })
        })
        .collect();
        Self { buckets }
    }

    /// Takes one request from `key`'s bucket, or says how long to wait.
    pub fn take(&self, bucket: Bucket, key: &str) -> Result<(), Duration> {
        self.take_at(bucket, key, Instant::now())
    }

    /// Whether `key` could take a request now, without taking it.
    pub fn peek(&self, bucket: Bucket, key: &str) -> Result<(), Duration> {
        self.peek_at(bucket, key, Instant::now())
    }

    fn peek_at(&self, bucket: Bucket, key: &str, now: Instant) -> Result<(), Duration> {
        let Some(limited) = self.buckets.get(&bucket) else {
            return Ok(());
        };
        let table = limited.table.lock().unwrap_or_else(|p| p.into_inner());
        match table.tat.get(key).map(|tat| limited.wait(*tat, now)) {
            Some(wait) if !wait.is_zero() => Err(wait),
            _ => Ok(()),
        }
    }

    fn take_at(&self, bucket: Bucket, key: &str, now: Instant) -> Result<(), Duration> {
        let Some(limited) = self.buckets.get(&bucket) else {
            return Ok(());
        };
        let (interval, _) = limited.spacing();
        let mut guard = limited.table.lock().unwrap_or_else(|p| p.into_inner());
        let table = &mut *guard;
        if table.tat.len() >= MAX_KEYS && !table.tat.contains_key(key) {
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
        let tat = table.tat.entry(key.to_owned()).or_insert(now);
        let wait = limited.wait(*tat, now);
        if !wait.is_zero() {
            return Err(wait);
        }
        *tat = (*tat).max(now) + interval;
        Ok(())
    }
}

/// The client's address as a key (the peer; a proxy in front is one
/// client). An IPv6 client is keyed by its /64, the block one host is
/// usually given, so it cannot mint keys by changing its low bits.
pub fn address(req: &HttpRequest) -> String {
    match req.peer_addr().map(|a| a.ip()) {
        Some(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Some(std::net::IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map_or_else(String::new, |v4| v4.to_string()),
        Some(ip) => ip.to_string(),
        None => "unknown".to_owned(),
    }
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
        let size = l.buckets[&Bucket::Address].table.lock().unwrap().tat.len();
        assert_eq!(size, 1);
    }

    #[test]
    fn an_ipv6_host_is_one_key_for_its_whole_64() {
        let key = |peer: &str| {
            let req = actix_web::test::TestRequest::default()
                .peer_addr(peer.parse().unwrap())
                .to_http_request();
            address(&req)
        };
        assert_eq!(
            key("[2001:db8:1:2::1]:5000"),
            key("[2001:db8:1:2:ffff::9]:6000")
        );
        assert_ne!(key("[2001:db8:1:2::1]:5000"), key("[2001:db8:1:3::1]:5000"));
        assert_eq!(key("192.0.2.7:1"), "192.0.2.7");
        assert_eq!(key("[::ffff:192.0.2.7]:1"), "192.0.2.7");
    }
}
