//! Who is calling, and whether they may call now: the credential is checked
//! and the caller's rate limit taken before any body is read.
//!
//! Anonymous calls and refused credentials count against the client's
//! address; once that is spent, the address's API tokens are refused before
//! they are looked up (each costs a database read), so spraying guessed
//! tokens is as slow as the anonymous rate. Accepted credentials count
//! against their own bucket.

use std::sync::Arc;
use std::time::Duration;

use actix_web::HttpRequest;
use actix_web::http::header;
use coplane_domain::Clock;
use coplane_domain::auth::Principal;
use sea_orm::DatabaseConnection;

use super::ratelimit::{self, Bucket, RateLimiter};
use crate::auth::{AuthError, Authenticator};

/// Why a call is not admitted.
#[derive(Debug)]
pub enum Refusal {
    /// The credential was refused.
    Unauthenticated(AuthError),
    /// Over the rate limit; retry after this long.
    RateLimited(Duration),
}

/// What admission needs; one per process, shared by the HTTP workers.
pub struct Gate {
    /// Verifies credentials.
    pub auth: Authenticator,
    /// API tokens live here.
    pub db: DatabaseConnection,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Rate limits.
    pub limiter: RateLimiter,
    /// Open WebSocket connections per address.
    pub sockets: super::socket::Connections,
}

impl Gate {
    /// Authenticates `req` and takes one request from the right bucket;
    /// `bucket` is the one for an accepted credential.
    pub async fn admit(&self, req: &HttpRequest, bucket: Bucket) -> Result<Principal, Refusal> {
        let address = ratelimit::address(req);
        let header = req
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or(""));
        if header.is_none() {
            self.limiter
                .take(Bucket::Address, &address)
                .map_err(Refusal::RateLimited)?;
            return Ok(Principal::anonymous());
        }
        // An API token costs a database read to check: from an address
        // that has spent its anonymous budget, none is looked up. A JWT is
        // checked without I/O and keeps its own bucket.
        if crate::auth::is_api_token_header(header)
            && let Err(wait) = self.limiter.peek(Bucket::Address, &address)
        {
            return Err(Refusal::RateLimited(wait));
        }
        match self
            .auth
            .authenticate(header, &self.db, self.clock.now())
            .await
        {
            Ok(principal) => {
                self.limiter
                    .take(bucket, &principal.subject)
                    .map_err(Refusal::RateLimited)?;
                tracing::Span::current().record("principal", principal.subject.as_str());
                Ok(principal)
            }
            Err(e) => {
                self.limiter
                    .take(Bucket::Address, &address)
                    .map_err(Refusal::RateLimited)?;
                Err(Refusal::Unauthenticated(e))
            }
        }
    }
}
