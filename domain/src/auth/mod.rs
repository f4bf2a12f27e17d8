//! Who is calling: the principal behind a request or a job, with its roles
//! and the scope its credential carries. How a credential is verified (JWT,
//! API token) is the HTTP side's business; what a principal may reach is
//! decided here.

mod access;
mod role;
pub mod tokens;

pub use access::{Grant, Permission, Reach, SCOPES};
pub use role::{Role, UnknownRole};

use crate::ids::{CustomerId, MemberId, ResellerId, TenantId};

/// An authenticated caller, or the anonymous one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Principal {
    /// The subject (`sub` claim, or the API token's id). Empty when anonymous.
    pub subject: String,
    /// Roles held, in the order the credential listed them, without repeats.
    pub roles: Vec<Role>,
    /// The reseller a `reseller` principal acts for.
    pub reseller_id: Option<ResellerId>,
    /// The member a `member` principal is.
    pub member_id: Option<MemberId>,
    /// The customer a principal acts for.
    pub customer_id: Option<CustomerId>,
    /// The tenants a `tenant_admin` principal administers.
    pub tenant_ids: Vec<TenantId>,
    /// Scopes of an `integration` credential (`customers:read`, …).
    pub scopes: Vec<String>,
    /// Whether an `integration` credential reaches every reseller's world:
    /// said explicitly (the `coop_wide` claim, or a token a steward made
    /// co-op-wide), never implied by a missing `reseller_id`.
    pub coop_wide: bool,
    /// When the credential stops being valid (a JWT's `exp`, an API token's
    /// expiry); long-lived streams end there.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The API token behind this principal, re-checked by long-lived streams
    /// so a revocation ends them.
    pub api_token_id: Option<crate::ids::ApiTokenId>,
}

impl Principal {
    /// The caller with no credential at all.
    pub fn anonymous() -> Self {
        Self::default()
    }

    /// Whether no credential was presented.
    pub fn is_anonymous(&self) -> bool {
        self.subject.is_empty() && self.roles.is_empty()
    }

    /// The party this principal acts as, for scoping what it names itself
    /// (idempotency keys): its roles, the reseller, customer, member and
    /// tenants it acts for, and its subject. Two credentials of different
    /// parties never share a key, whatever their `sub`.
    pub fn party(&self) -> String {
        use sha2::Digest as _;
        let mut roles: Vec<&str> = self.roles.iter().map(|r| r.as_str()).collect();
        roles.sort_unstable();
        let mut tenants: Vec<String> = self.tenant_ids.iter().map(|t| t.0.to_string()).collect();
        tenants.sort_unstable();
        let text = format!(
            "roles={};reseller={:?};customer={:?};member={:?};tenants={};coop={};sub={}",
            roles.join(","),
            self.reseller_id.map(|r| r.0),
            self.customer_id.map(|c| c.0),
            self.member_id.map(|m| m.0),
            tenants.join(","),
            self.coop_wide,
            self.subject
        );
        format!("party:{:x}", sha2::Sha256::digest(text.as_bytes()))
    }

    /// Whether the principal holds `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// A principal acting within a request: what the audit trail records.
#[derive(Clone, Debug, Default)]
pub struct Actor {
    /// Who.
    pub principal: Principal,
    /// The request's id.
    pub request_id: String,
}
