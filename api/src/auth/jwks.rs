//! The key set of an OIDC provider. It is fetched on first use, again when
//! a token names a key id not seen yet (the provider rotated its keys), and
//! again once the set is older than [`MAX_AGE`], so a key the provider
//! removed stops being trusted within that age. Fetches happen at most once
//! per [`REFRESH_MIN_INTERVAL`], one at a time, and never under a lock:
//! requests arriving meanwhile verify with the set already held. A set
//! older than [`HARD_LIMIT`] that cannot be refreshed is not trusted at all.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::JwkSet;
use url::Url;

use super::AuthError;

const REFRESH_MIN_INTERVAL: Duration = Duration::from_secs(30);
const MAX_AGE: Duration = Duration::from_secs(600);
const HARD_LIMIT: Duration = Duration::from_secs(3600);

type Keys = Arc<HashMap<Option<String>, DecodingKey>>;

#[derive(Default)]
struct Cached {
    keys: Keys,
    fetched_at: Option<Instant>,
    attempted_at: Option<Instant>,
}

pub(super) struct JwksCache {
    url: Url,
    client: reqwest::Client,
    cached: Mutex<Cached>,
    max_age: Duration,
    min_interval: Duration,
}

impl JwksCache {
    pub(super) fn new(url: Url) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Self {
            url,
            client,
            cached: Mutex::new(Cached::default()),
            max_age: MAX_AGE,
            min_interval: REFRESH_MIN_INTERVAL,
        }
    }

    #[cfg(test)]
    fn tuned(url: Url, max_age: Duration, min_interval: Duration) -> Self {
        Self {
            max_age,
            min_interval,
            ..Self::new(url)
        }
    }

    /// The key for `kid` (a token without `kid` matches a set of one key).
    pub(super) async fn key(&self, kid: Option<&str>) -> Result<DecodingKey, AuthError> {
        let (keys, fetched_at, refresh) = {
            let mut c = self.cached.lock().unwrap_or_else(|p| p.into_inner());
            let old = c.fetched_at.is_none_or(|t| t.elapsed() >= self.max_age);
            let unknown = lookup(&c.keys, kid).is_none();
            let may = c
                .attempted_at
                .is_none_or(|t| t.elapsed() >= self.min_interval);
            let refresh = (old || unknown) && may;
            if refresh {
                // Claimed before the fetch: one fetch at a time, and a failing
                // provider is asked at most once per interval.
                c.attempted_at = Some(Instant::now());
            }
            (c.keys.clone(), c.fetched_at, refresh)
        };
        let (keys, fetched_at) = if refresh {
            match self.fetch().await {
                Ok(fresh) => {
                    let fresh = Arc::new(fresh);
                    let now = Instant::now();
                    let mut c = self.cached.lock().unwrap_or_else(|p| p.into_inner());
                    c.keys = fresh.clone();
                    c.fetched_at = Some(now);
                    (fresh, Some(now))
                }
                Err(e) if fetched_at.is_none() => return Err(e),
                Err(_) => (keys, fetched_at),
            }
        } else {
            (keys, fetched_at)
        };
        if fetched_at.is_none_or(|t| t.elapsed() >= HARD_LIMIT) {
            return Err(AuthError::KeysUnavailable);
        }
        lookup(&keys, kid).ok_or(AuthError::BadSignature)
    }

    async fn fetch(&self) -> Result<HashMap<Option<String>, DecodingKey>, AuthError> {
        let set: JwkSet = async {
            self.client.get(self.url.clone()).send().await?.error_for_status()?.json().await
        }
        .await
        .map_err(|e: reqwest::Error| {
            tracing::error!(error.cause_chain = ?e, error.message = %e, url = %self.url, "fetching the JWKS failed");
            AuthError::KeysUnavailable
        })?;
        let keys = set
            .keys
            .iter()
            .filter_map(|jwk| match DecodingKey::from_jwk(jwk) {
                Ok(key) => Some((jwk.common.key_id.clone(), key)),
                Err(e) => {
                    tracing::warn!(kid = ?jwk.common.key_id, error.message = %e, "skipping unusable JWK");
                    None
                }
            })
            .collect();
        Ok(keys)
    }
}

fn lookup(keys: &HashMap<Option<String>, DecodingKey>, kid: Option<&str>) -> Option<DecodingKey> {
    match kid {
        Some(kid) => keys.get(&Some(kid.to_owned())).cloned(),
        None if keys.len() == 1 => keys.values().next().cloned(),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// An identity provider whose key set and speed the test changes.
    struct Provider {
        url: Url,
        body: Arc<Mutex<String>>,
        delay: Arc<Mutex<Duration>>,
    }

    async fn provider(body: &str) -> Provider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/jwks", listener.local_addr().unwrap())).unwrap();
        let body = Arc::new(Mutex::new(body.to_owned()));
        let delay = Arc::new(Mutex::new(Duration::ZERO));
        let (b, d) = (body.clone(), delay.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let (b, d) = (b.clone(), d.clone());
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = sock.read(&mut buf).await;
                    let wait = *d.lock().unwrap();
                    tokio::time::sleep(wait).await;
                    let body = b.lock().unwrap().clone();
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = sock.write_all(head.as_bytes()).await;
                    let _ = sock.write_all(body.as_bytes()).await;
                });
            }
        });
        Provider { url, body, delay }
    }

    const JWKS: &str = include_str!("../../../tests/fixtures/es256-jwks.json");
    const KID: Option<&str> = Some("test-es256");

    #[tokio::test]
    async fn a_key_the_provider_removed_stops_being_trusted() {
        let p = provider(JWKS).await;
        let cache = JwksCache::tuned(p.url.clone(), Duration::ZERO, Duration::ZERO);
        assert!(cache.key(KID).await.is_ok());
        *p.body.lock().unwrap() = r#"{"keys":[]}"#.to_owned();
        assert_eq!(cache.key(KID).await.err(), Some(AuthError::BadSignature));
    }

    #[tokio::test]
    async fn a_slow_provider_never_holds_up_verification_with_the_keys_held() {
        let p = provider(JWKS).await;
        let cache = Arc::new(JwksCache::tuned(
            p.url.clone(),
            Duration::from_millis(200),
            Duration::from_millis(200),
        ));
        assert!(cache.key(KID).await.is_ok());
        // The set is old now; the provider takes 3 s to answer.
        tokio::time::sleep(Duration::from_millis(250)).await;
        *p.delay.lock().unwrap() = Duration::from_secs(3);
        let refreshing = tokio::spawn({
            let cache = cache.clone();
            async move { cache.key(KID).await.is_ok() }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = Instant::now();
        assert!(cache.key(KID).await.is_ok());
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "waited {:?} for another request's fetch",
            started.elapsed()
        );
        assert!(!refreshing.is_finished(), "the refresh was not slow");
        refreshing.abort();
    }
}
