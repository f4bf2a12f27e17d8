//! Scalars. `Decimal` is async-graphql's string scalar over
//! `rust_decimal::Decimal` (`"12.30"`, never a float); `DateTime` is RFC 3339.

pub use async_graphql::types::Json;

/// Any JSON value (the `JSON` scalar).
pub type JsonValue = Json<serde_json::Value>;
