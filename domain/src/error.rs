//! The domain's errors. Each says which input field is at fault, when one
//! is, and carries a stable code for programs.

use sea_orm::DbErr;

/// Why a use case refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input that does not parse or breaks a rule.
    #[error("{message}")]
    Invalid {
        /// The input field at fault (camelCase, as clients name it).
        field: &'static str,
        /// Stable code (`INVALID_SLUG`, …).
        code: &'static str,
        /// What is wrong, for people.
        message: String,
    },
    /// Not there, or not within the caller's reach: the two read the same.
    #[error("{entity} not found")]
    NotFound {
        /// The input field naming it.
        field: &'static str,
        /// What was looked for.
        entity: &'static str,
    },
    /// A quota or allotment would be exceeded.
    #[error("{message}")]
    QuotaExceeded {
        /// The input field at fault.
        field: &'static str,
        /// The figures.
        message: String,
    },
    /// The change conflicts with what exists (a taken slug, a reused key).
    #[error("{message}")]
    Conflict {
        /// The input field at fault.
        field: &'static str,
        /// Stable code.
        code: &'static str,
        /// What conflicts.
        message: String,
    },
    /// The caller holds no role or scope that allows this at all.
    #[error("{0}")]
    Forbidden(String),
    /// No credential was presented, and this needs one.
    #[error("authentication required")]
    Unauthenticated,
    /// The database failed.
    #[error("database error")]
    Db(#[from] DbErr),
}

/// `Result` of the domain.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::Invalid`].
    pub fn invalid(field: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            code,
            message: message.into(),
        }
    }

    /// Maps a database error to a [`Error::Conflict`] on `field` when it is a
    /// unique-constraint violation (a concurrent request got there first),
    /// else keeps it a database error.
    pub fn conflict_on_unique(
        field: &'static str,
        code: &'static str,
        message: String,
    ) -> impl FnOnce(DbErr) -> Error {
        move |e| match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => Error::Conflict {
                field,
                code,
                message,
            },
            _ => Error::Db(e),
        }
    }

    /// Refuses with `QuotaExceeded` on `field` when any figure in `over`
    /// is beyond its limit: `what` says which limit, `over` lists them.
    pub fn unless_within(field: &'static str, what: &str, over: &[String]) -> Result<()> {
        if over.is_empty() {
            return Ok(());
        }
        Err(Error::QuotaExceeded {
            field,
            message: format!("{what} ({})", over.join("; ")),
        })
    }

    /// An [`Error::NotFound`].
    pub fn not_found(field: &'static str, entity: &'static str) -> Self {
        Self::NotFound { field, entity }
    }
}

impl From<crate::jobs::JobError> for Error {
    fn from(e: crate::jobs::JobError) -> Self {
        match e {
            crate::jobs::JobError::Db(e) => Error::Db(e),
            crate::jobs::JobError::Payload(e) => Error::Db(DbErr::Custom(e.to_string())),
        }
    }
}
