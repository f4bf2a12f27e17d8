//! Usage: aggregates per tenant and metric, and ingesting events.

use async_graphql::{ID, InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::error::UserError;
use crate::scalars::JsonValue;

/// One tenant's usage of one metric over a window.
#[derive(SimpleObject)]
pub struct Usage {
    /// The tenant.
    pub(super) tenant_id: ID,
    /// The metric's code.
    pub(super) metric: String,
    /// Window start.
    pub(super) from: DateTime<Utc>,
    /// Window end (exclusive).
    pub(super) to: DateTime<Utc>,
    /// The aggregated quantity.
    pub(super) quantity: Decimal,
}

/// One usage event.
#[derive(InputObject)]
pub struct UsageEventInput {
    /// The tenant: its global id, id or slug.
    pub(super) tenant_id: String,
    /// The metric's code.
    pub(super) metric: String,
    /// An exact decimal, as a string.
    pub(super) quantity: String,
    /// RFC 3339.
    pub(super) timestamp: String,
    /// Counted once per tenant.
    pub(super) idempotency_key: String,
    /// Free-form properties.
    pub(super) properties: Option<JsonValue>,
}

/// Usage events to ingest.
#[derive(InputObject)]
pub struct IngestUsageInput {
    /// The events.
    pub(super) events: Vec<UsageEventInput>,
}

/// A refused usage event.
#[derive(SimpleObject)]
pub struct UsageRowError {
    /// Its position in the batch, from 0.
    pub(super) index: i32,
    /// The field at fault.
    pub(super) field: String,
    /// Stable code.
    pub(super) code: String,
    /// What is wrong.
    pub(super) message: String,
}

/// `ingestUsage`'s result.
#[derive(SimpleObject)]
pub struct IngestUsagePayload {
    /// Events counted for the first time.
    pub(super) accepted: u64,
    /// Valid events whose key was counted before.
    pub(super) duplicates: u64,
    /// Events refused.
    pub(super) rejected: u64,
    /// One per refused event.
    pub(super) row_errors: Vec<UsageRowError>,
    /// Errors about the whole batch.
    pub(super) user_errors: Vec<UserError>,
}
