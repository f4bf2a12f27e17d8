//! What resolvers read from the request and the schema.

use std::sync::Arc;

use async_graphql::Context;
use chrono::{DateTime, Utc};
use coplane_domain::Clock;
use coplane_domain::auth::Actor;
use sea_orm::DatabaseConnection;

/// The caller (inserted per request by the HTTP layer).
pub fn actor<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Actor> {
    ctx.data::<Actor>()
}

/// The database.
pub fn db<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a DatabaseConnection> {
    ctx.data::<DatabaseConnection>()
}

/// The time now.
pub fn now(ctx: &Context<'_>) -> async_graphql::Result<DateTime<Utc>> {
    Ok(ctx.data::<Arc<dyn Clock>>()?.now())
}

/// Records the tenant a request is about on the request's span.
pub fn record_tenant(id: uuid::Uuid) {
    tracing::Span::current().record("tenant_id", tracing::field::display(id));
}
