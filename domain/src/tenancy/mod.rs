//! Members, resellers, customers and tenants, and the quota rules between
//! them: a reseller's live tenants never exceed its allotment.
//!
//! Every use case authorizes first ([`crate::auth::Principal::authorize`]),
//! filters or checks by the grant's reach (outside it reads as not found),
//! parses its input before writing anything, and writes the change, its
//! audit event and its idempotency record in one transaction.

mod clusters;
pub mod customers;
pub mod jobs;
pub mod members;
mod quota;
pub mod resellers;
mod slug;
pub(crate) mod state;
pub mod tenants;

pub use clusters::{Clusters, Platform};
pub use quota::{DIMENSIONS, Quota};
pub use slug::{MAX_SLUG_LEN, NAMESPACE_PREFIX, SlugError, TenantSlug, parse_cluster};
pub use state::{MemberClass, MemberKind, SuspensionReason, TenantState};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::{DatabaseConnection, DatabaseTransaction, TransactionTrait};
use serde::Serialize;
use uuid::Uuid;

use crate::auth::Actor;
use crate::error::{Error, Result};
use crate::idempotency::{self, Claim};

/// A quota as input: five decimals, parsed by [`Quota::from_decimals`].
pub type QuotaInput = [Decimal; 5];

pub(crate) fn parse_quota(field: &'static str, input: QuotaInput) -> Result<Quota> {
    Quota::from_decimals(input)
        .map_err(|(_, message)| Error::invalid(field, "INVALID_QUOTA", message))
}

pub(crate) fn non_empty(field: &'static str, value: &str, max: usize) -> Result<String> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(Error::invalid(
            field,
            "INVALID_TEXT",
            format!("{field} must have 1 to {max} characters"),
        ));
    }
    Ok(v.to_owned())
}

pub(crate) fn email(field: &'static str, value: &str) -> Result<String> {
    let v = value.trim();
    let ok = v.len() <= 254
        && v.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !v.chars().any(char::is_whitespace);
    if ok {
        Ok(v.to_owned())
    } else {
        Err(Error::invalid(
            field,
            "INVALID_EMAIL",
            format!("`{v}` is not an email address"),
        ))
    }
}

/// Opens the creating transaction and claims the idempotency key, if any.
/// `Ok((txn, Some(id)))` means: replay `id`, create nothing.
pub(crate) async fn begin_create(
    db: &DatabaseConnection,
    actor: &Actor,
    operation: &str,
    key: Option<&str>,
    input: &impl Serialize,
    now: DateTime<Utc>,
) -> Result<(DatabaseTransaction, Option<Uuid>)> {
    let txn = db.begin().await?;
    if let Some(key) = key
        && let Claim::Replay(id) =
            idempotency::claim(&txn, actor, operation, key, input, now).await?
    {
        return Ok((txn, Some(id)));
    }
    Ok((txn, None))
}

/// Ends a creating transaction: records the created object against the
/// idempotency key (the operation is the audit action), writes the audit
/// event, and commits.
pub(crate) async fn finish_create(
    txn: DatabaseTransaction,
    actor: &Actor,
    grant: &crate::auth::Grant,
    key: Option<&str>,
    change: crate::audit::Change<'_>,
    now: DateTime<Utc>,
) -> Result<()> {
    if let Some(key) = key {
        idempotency::complete(&txn, actor, change.action, key, change.object_id).await?;
    }
    crate::audit::record(&txn, actor, grant, change, now).await?;
    txn.commit().await?;
    Ok(())
}
