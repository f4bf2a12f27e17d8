//! GraphQL error codes and `userErrors`. The policy is in the crate documentation.

use async_graphql::{Error, ErrorExtensions, SimpleObject};
use coplane_domain::Error as DomainError;

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
    /// Path to the input field at fault (`["input", "slug"]`).
    pub field: Vec<String>,
    /// What is wrong, for people.
    pub message: String,
    /// What is wrong, for programs (`INVALID_SLUG`, `NOT_FOUND`, `QUOTA_EXCEEDED`, …).
    pub code: String,
}

impl UserError {
    /// A user error on `input.<field>`.
    pub fn new(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self {
            field: vec!["input".into(), field.into()],
            message: message.into(),
            code: code.into(),
        }
    }
}

/// The user error a domain error reads as, if it is one.
pub fn user_error(e: &DomainError) -> Option<UserError> {
    match e {
        DomainError::Invalid {
            field,
            code,
            message,
        }
        | DomainError::Conflict {
            field,
            code,
            message,
        } => Some(UserError::new(field, code, message)),
        DomainError::NotFound { field, entity } => Some(UserError::new(
            field,
            code::NOT_FOUND,
            format!("{entity} not found"),
        )),
        DomainError::QuotaExceeded { field, message } => {
            Some(UserError::new(field, "QUOTA_EXCEEDED", message))
        }
        DomainError::Forbidden(_) | DomainError::Unauthenticated | DomainError::Db(_) => None,
    }
}

/// A domain error as a GraphQL error.
pub fn to_gql(e: DomainError) -> Error {
    let (message, code) = match &e {
        DomainError::Forbidden(m) => (m.clone(), code::FORBIDDEN),
        DomainError::Unauthenticated => {
            ("authentication required".to_owned(), code::UNAUTHENTICATED)
        }
        DomainError::NotFound { .. } => (e.to_string(), code::NOT_FOUND),
        DomainError::Invalid { .. }
        | DomainError::Conflict { .. }
        | DomainError::QuotaExceeded { .. } => (e.to_string(), code::BAD_INPUT),
        DomainError::Db(cause) => return internal(cause),
    };
    Error::new(message).extend_with(|_, ext| ext.set("code", code))
}

/// A mutation's outcome: the object, or the user errors; anything else is a GraphQL error.
pub fn payload<T>(
    r: coplane_domain::Result<T>,
) -> async_graphql::Result<(Option<T>, Vec<UserError>)> {
    match r {
        Ok(v) => Ok((Some(v), Vec::new())),
        Err(e) => match user_error(&e) {
            Some(ue) => Ok((None, vec![ue])),
            None => Err(to_gql(e)),
        },
    }
}

/// A `FORBIDDEN` GraphQL error.
pub fn forbidden(message: impl Into<String>) -> Error {
    Error::new(message.into()).extend_with(|_, e| e.set("code", code::FORBIDDEN))
}

/// A `BAD_INPUT` GraphQL error.
pub fn bad_input(message: impl Into<String>) -> Error {
    Error::new(message.into()).extend_with(|_, e| e.set("code", code::BAD_INPUT))
}

/// An `INTERNAL` GraphQL error; the cause is logged, not shown.
pub fn internal(cause: &(dyn std::error::Error + 'static)) -> Error {
    tracing::error!(error.cause_chain = ?cause, error.message = %cause, "resolver failed");
    Error::new("internal error").extend_with(|_, e| e.set("code", code::INTERNAL))
}
