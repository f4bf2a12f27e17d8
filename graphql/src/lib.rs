//! coplane's GraphQL schema.
//!
//! One module per area exports a `#[derive(Default)]` `XQuery` (and later
//! `XMutation`), merged into [`Query`]. Output types are thin wrappers over
//! domain types. Every request carries a [`RequestContext`] with its
//! principal and request id.
//!
//! # Errors
//! The policy, written once:
//! - authentication problems never reach the schema: the HTTP layer answers
//!   them with `extensions.code = "UNAUTHENTICATED"`;
//! - a caller without the role a field needs gets a GraphQL error with
//!   `extensions.code = "FORBIDDEN"` ([`error::forbidden`]);
//! - an object outside the caller's reach reads as not found (`null`, or a
//!   `NOT_FOUND` userError in a mutation), never as forbidden, so its
//!   existence does not leak;
//! - bad input to a mutation is a `userErrors { field message code }` entry in
//!   its payload, and nothing is changed;
//! - anything else is `INTERNAL` with a generic message; the cause goes to the log.

pub mod error;
pub mod scalars;
mod viewer;

use async_graphql::extensions::Tracing;
use async_graphql::{EmptyMutation, EmptySubscription, MergedObject, Schema};
use coplane_domain::auth::Principal;
use sea_orm::DatabaseConnection;

pub use viewer::Viewer;

/// All queries.
#[derive(MergedObject, Default)]
pub struct Query(viewer::ViewerQuery);

/// The schema type.
pub type CoplaneSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// Per-request data: who asks, and the request's id for logs and audit.
#[derive(Clone, Debug)]
pub struct RequestContext {
    /// The authenticated caller (or the anonymous one).
    pub principal: Principal,
    /// The request id (`x-request-id`).
    pub request_id: String,
}

/// Limits that protect the server from expensive queries.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Deepest nesting allowed.
    pub max_depth: usize,
    /// Highest complexity (one per field, lists weighted by their page size).
    pub max_complexity: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 12,
            max_complexity: 2_000,
        }
    }
}

/// Builds the schema with its shared data.
pub fn build_schema(db: DatabaseConnection, limits: Limits) -> CoplaneSchema {
    Schema::build(Query::default(), EmptyMutation, EmptySubscription)
        .data(db)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .extension(Tracing)
        .finish()
}
