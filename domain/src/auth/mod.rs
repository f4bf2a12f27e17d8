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
