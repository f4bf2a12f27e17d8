//! The key set of an OIDC provider, fetched on first use and again when a
//! token names a key id not seen yet (the provider rotated its keys), at
//! most once per [`REFRESH_MIN_INTERVAL`].

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::JwkSet;
use tokio::sync::Mutex;
use url::Url;

use super::AuthError;

const REFRESH_MIN_INTERVAL: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Cached {
    keys: HashMap<Option<String>, DecodingKey>,
    fetched_at: Option<Instant>,
}

pub(super) struct JwksCache {
    url: Url,
    client: reqwest::Client,
    cached: Mutex<Cached>,
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
        }
    }

    /// The key for `kid` (a token without `kid` matches a set of one key).
    pub(super) async fn key(&self, kid: Option<&str>) -> Result<DecodingKey, AuthError> {
        let mut cached = self.cached.lock().await;
        if let Some(key) = lookup(&cached.keys, kid) {
            return Ok(key);
        }
        let stale = cached
            .fetched_at
            .is_none_or(|t| t.elapsed() >= REFRESH_MIN_INTERVAL);
        if stale {
            // Recorded before the fetch, so a failing provider is asked at most
            // once per interval, not once per request.
            cached.fetched_at = Some(Instant::now());
            cached.keys = self.fetch().await?;
        }
        lookup(&cached.keys, kid).ok_or(AuthError::BadSignature)
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
