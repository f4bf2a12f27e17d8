use std::fmt;
use std::str::FromStr;

/// A role a principal can hold (the `roles` claim).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Runs the platform: reaches everything.
    Steward,
    /// A co-op member: its own record, proposals, its statements.
    Member,
    /// A reseller: its customers, their tenants, usage and invoices.
    Reseller,
    /// Administers the tenants named in its credential.
    TenantAdmin,
    /// An ERP or script: what its scopes allow.
    Integration,
}

impl Role {
    /// Every role, in a stable order.
    pub const ALL: [Role; 5] = [
        Role::Steward,
        Role::Member,
        Role::Reseller,
        Role::TenantAdmin,
        Role::Integration,
    ];

    /// The name used in claims and in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Steward => "steward",
            Role::Member => "member",
            Role::Reseller => "reseller",
            Role::TenantAdmin => "tenant_admin",
            Role::Integration => "integration",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of [`Role::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown role `{0}` (expected one of steward, member, reseller, tenant_admin, integration)"
)]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert_eq!("admin".parse::<Role>(), Err(UnknownRole("admin".into())));
    }
}
