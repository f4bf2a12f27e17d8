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
pub mod lifecycle;
pub mod members;

pub mod resellers;
mod slug;
pub(crate) mod state;
pub mod tenants;

pub use crate::quota::{DIMENSIONS, Quota};
pub use clusters::{Clusters, Platform};
pub use slug::{MAX_SLUG_LEN, NAMESPACE_PREFIX, SlugError, TenantSlug, parse_cluster};
pub use state::{MemberClass, MemberKind, SuspensionReason, TenantState};

use rust_decimal::Decimal;

use crate::error::{Error, Result};

/// A quota as input: five decimals, parsed by [`Quota::from_decimals`].
pub type QuotaInput = [Decimal; 5];

pub(crate) fn parse_quota(field: &'static str, input: QuotaInput) -> Result<Quota> {
    Quota::from_decimals(input)
        .map_err(|(_, message)| Error::invalid(field, "INVALID_QUOTA", message))
}
