//! coplane's GraphQL schema.
//!
//! One module per area exports a `#[derive(Default)]` `XQuery` and
//! `XMutation`, merged into [`Query`] and [`Mutation`]. Output types are
//! thin wrappers over domain types. Every request carries an [`Actor`]: its
//! principal and request id.
//!
//! # Layers
//! A module uses only modules listed before it (`layering.rs` checks it):
//! - `error`, `context`, `scalars`, `common` (ids, paging, payloads, money,
//!   quotas), `watch`, `loaders`, `limits`: shared, using no area;
//! - `viewer`, `tokens`, `audit`: areas of their own;
//! - tenancy ← catalog ← orders ← billing ← dunning: an area never uses one
//!   after it. A field of an earlier area's type that a later area resolves
//!   (`Tenant.appInstalls`, `Plan.charges`, `Customer.standing`) is a group
//!   of fields the earlier area declares and flattens in its place
//!   (`TenantOrderFields`), and the later area implements. (A
//!   `ComplexObject` would move such fields to the end of the type.)
//! - `node` (the `Node` interface names every area's objects), then this root.
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

mod audit;
mod billing;
mod catalog;
mod common;
mod context;
mod dunning;
pub mod error;
pub mod executor;
#[cfg(test)]
mod layering;
pub mod limits;
mod loaders;
pub mod node;
mod orders;
pub mod scalars;
mod tenancy;
mod tokens;
mod viewer;
mod watch;

use async_graphql::{MergedObject, MergedSubscription, Schema};

pub use common::plain;
pub use common::tenant_ref;
pub use coplane_domain::auth::Actor;
pub use executor::{Api, build_schema};
pub use loaders::{connection_data, with_request_data};
pub use viewer::Viewer;
pub use watch::SocketAdmission;

/// All queries.
#[derive(MergedObject, Default)]
pub struct Query(
    viewer::ViewerQuery,
    node::NodeQuery,
    tenancy::TenancyQuery,
    tokens::TokensQuery,
    audit::AuditQuery,
    catalog::CatalogQuery,
    catalog::StorefrontQuery,
    orders::OrdersQuery,
    billing::BillingQuery,
    dunning::DunningQuery,
);

/// All mutations.
#[derive(MergedObject, Default)]
pub struct Mutation(
    tenancy::TenancyMutation,
    tokens::TokensMutation,
    catalog::CatalogMutation,
    catalog::StorefrontMutation,
    orders::OrdersMutation,
    billing::BillingMutation,
    dunning::DunningMutation,
);

/// All subscriptions (over `/graphql/ws`).
#[derive(MergedSubscription, Default)]
pub struct Subscription(orders::OrdersSubscription, orders::TenantsSubscription);

/// The schema type.
pub type CoplaneSchema = Schema<Query, Mutation, Subscription>;

/// Limits that protect the server from expensive queries.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Bounds on the document, checked before it is parsed and validated
    /// ([`limits`]).
    pub query: limits::QueryLimits,
    /// Highest complexity (one per field, lists weighted by their page size).
    pub max_complexity: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            query: limits::QueryLimits::default(),
            max_complexity: 2_000,
        }
    }
}

/// The schema in SDL, as `coplane schema` prints it and `schema.graphql`
/// holds it.
pub fn sdl() -> String {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .finish()
    .sdl()
}

#[cfg(test)]
mod tests {
    /// Integrators diff `schema.graphql` between releases: it must be what
    /// the code serves.
    #[test]
    fn the_committed_schema_is_the_served_one() {
        let committed = include_str!("../../schema.graphql");
        let served = super::sdl();
        assert!(
            committed == served,
            "schema.graphql is stale: run `cargo run -q -- schema > schema.graphql`"
        );
    }
}
