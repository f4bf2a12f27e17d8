//! HTTP-only concerns: routes, the request middleware, error mapping.
//!
//! Status codes, written once: a bad or refused credential is 401 with a
//! GraphQL-shaped body (`extensions.code = "UNAUTHENTICATED"` and the
//! reason) and a `WWW-Authenticate` header; a body that is not a GraphQL
//! request is 400; a body over the route's limit is 413, answered from
//! `Content-Length` before the body is read, and only once the credential
//! is accepted; GraphQL errors (syntax, validation, limits, `FORBIDDEN`)
//! are 200 with `errors`, as GraphQL clients expect; a database that cannot
//! be reached makes `/readyz` answer 503.

pub mod admit;
pub mod billing;
pub mod body;
pub mod graphiql;
pub mod graphql;
pub mod health;
pub mod metrics;
pub mod observe;
pub mod ratelimit;
pub mod socket;
