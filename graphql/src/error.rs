//! GraphQL error codes and `userErrors`. The policy is in the crate documentation.

use async_graphql::{Error, ErrorExtensions, SimpleObject};

/// `extensions.code` values.
pub mod code {
    /// No valid credential.
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    /// A credential without the needed role or scope.
    pub const FORBIDDEN: &str = "FORBIDDEN";
    /// Not there, or not within the caller's reach.
    pub const NOT_FOUND: &str = "NOT_FOUND";
    /// Input that does not parse or breaks a rule.
    pub const BAD_INPUT: &str = "BAD_INPUT";
    /// A failure of ours; details are in the log.
    pub const INTERNAL: &str = "INTERNAL";
}

/// A problem with a mutation's input, reported in its payload.
#[derive(Clone, Debug, PartialEq, Eq, SimpleObject)]
pub struct UserError {
    /// Path to the input field at fault (`["input", "slug"]`), empty for the whole input.
    pub field: Vec<String>,
    /// What is wrong, for people.
    pub message: String,
    /// What is wrong, for programs (`INVALID_SLUG`, `NOT_FOUND`, …).
    pub code: String,
}

/// A `FORBIDDEN` GraphQL error.
pub fn forbidden(message: impl Into<String>) -> Error {
    Error::new(message.into()).extend_with(|_, e| e.set("code", code::FORBIDDEN))
}

/// An `INTERNAL` GraphQL error; the cause is logged, not shown.
pub fn internal(cause: &(dyn std::error::Error + 'static)) -> Error {
    tracing::error!(error.cause_chain = ?cause, error.message = %cause, "resolver failed");
    Error::new("internal error").extend_with(|_, e| e.set("code", code::INTERNAL))
}
