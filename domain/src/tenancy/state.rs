//! States and kinds stored as strings, with their rules.

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }

            /// Parses a stored name.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some($name::$variant),)+ _ => None }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use string_enum;

string_enum!(
    /// A tenant's lifecycle: `pending → active → suspended → terminated`.
    TenantState {
        /// Created; its namespace is not ready yet.
        Pending = "pending",
        /// Running.
        Active = "active",
        /// Workloads scaled to zero.
        Suspended = "suspended",
        /// Gone; kept for the ledger.
        Terminated = "terminated",
    }
);

impl TenantState {
    /// Whether its quota counts against the reseller's allotment.
    pub fn is_live(self) -> bool {
        self != TenantState::Terminated
    }
}

string_enum!(
    /// Why a tenant is suspended.
    SuspensionReason {
        /// Non-payment: lifted when the account is current again.
        Overdue = "overdue",
        /// By a steward or reseller: never lifted by a payment.
        Manual = "manual",
    }
);

string_enum!(
    /// A person or an organisation.
    MemberKind {
        /// A natural person.
        Person = "person",
        /// A company, association or other organisation.
        Organisation = "organisation",
    }
);

string_enum!(
    /// The class of membership.
    MemberClass {
        /// Works for the co-op.
        Worker = "worker",
        /// Sells the co-op's hosting.
        Reseller = "reseller",
        /// Uses it.
        User = "user",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in TenantState::ALL {
            assert_eq!(TenantState::parse(s.as_str()), Some(*s));
        }
        assert!(TenantState::Suspended.is_live() && !TenantState::Terminated.is_live());
        assert_eq!(MemberClass::parse("boss"), None);
    }
}
