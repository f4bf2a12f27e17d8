//! Subscriptions as polls: look at an object every [`POLL`], yield it when
//! what a subscriber sees changed, end when it is settled, gone, out of
//! reach, or when the caller's credential no longer holds (a revoked token
//! or a passed `exp`: the stream ends with that reason).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::{Context, ErrorExtensions as _};
use coplane_domain::Clock;
use coplane_domain::auth::Actor;
use coplane_domain::auth::tokens::{TokenError, still_valid};
use futures::Stream;
use sea_orm::DatabaseConnection;
use tokio::sync::Semaphore;

/// How often a subscription looks at its object.
pub const POLL: Duration = Duration::from_millis(500);

/// One look at the watched object.
pub struct Look<T> {
    /// What the subscriber gets.
    pub item: T,
    /// What the subscriber sees of it: a change here is an event.
    pub fingerprint: String,
    /// Whether nothing follows this (settled, terminated).
    pub last: bool,
}

/// How many subscriptions one WebSocket connection may hold at once: each
/// one polls the database.
pub const MAX_SUBSCRIPTIONS: usize = 16;

/// A connection's subscription slots (in its connection data).
#[derive(Clone)]
pub struct SubscriptionSlots(Arc<Semaphore>);

impl Default for SubscriptionSlots {
    fn default() -> Self {
        Self(Arc::new(Semaphore::new(MAX_SUBSCRIPTIONS)))
    }
}

/// Asked before each operation over a WebSocket connection: whether its
/// caller may run one more now (the HTTP side's rate limit), or why not.
#[derive(Clone)]
pub struct SocketAdmission(pub Arc<dyn Fn() -> Result<(), String> + Send + Sync>);

/// Polls `look` until the object settles or disappears, as the caller in
/// `ctx`, holding one of its connection's slots while it runs. `look`
/// answers `None` for an object gone or out of reach.
pub fn watch<T, F, Fut>(
    ctx: &Context<'_>,
    look: F,
) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<T>> + use<T, F, Fut>>
where
    T: Send + 'static,
    F: Fn(DatabaseConnection, Actor) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Option<Look<T>>> + Send,
{
    let db = ctx.data::<DatabaseConnection>()?.clone();
    let actor = ctx.data::<Actor>()?.clone();
    let clock = ctx.data::<Arc<dyn Clock>>()?.clone();
    let slot = ctx
        .data::<SubscriptionSlots>()?
        .0
        .clone()
        .try_acquire_owned()
        .map_err(|_| {
            async_graphql::Error::new(format!(
                "a connection holds at most {MAX_SUBSCRIPTIONS} subscriptions; end one first"
            ))
            .extend_with(|_, x| x.set("code", "TOO_MANY_SUBSCRIPTIONS"))
        })?;
    Ok(futures::stream::unfold(
        (None::<String>, false, slot),
        move |(mut seen, done, slot)| {
            let (db, actor, clock, look) = (db.clone(), actor.clone(), clock.clone(), look.clone());
            async move {
                if done {
                    return None;
                }
                loop {
                    if let Err(e) = still_valid(&db, &actor.principal, clock.now()).await {
                        return Some((Err(credential_ended(&e)), (seen, true, slot)));
                    }
                    let l = look(db.clone(), actor.clone()).await?;
                    if seen.as_ref() != Some(&l.fingerprint) {
                        seen = Some(l.fingerprint);
                        return Some((Ok(l.item), (seen, l.last, slot)));
                    }
                    tokio::time::sleep(POLL).await;
                }
            }
        },
    ))
}

/// The error a stream ends with when its credential no longer holds.
fn credential_ended(e: &TokenError) -> async_graphql::Error {
    async_graphql::Error::new(format!("{e}; the subscription ends"))
        .extend_with(|_, x| x.set("code", crate::error::code::UNAUTHENTICATED))
}
