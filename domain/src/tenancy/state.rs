//! States and kinds stored as strings, with their rules: defined with
//! their entities, named here for tenancy's callers.

pub use crate::entity::member::{MemberClass, MemberKind};
pub use crate::entity::tenant::{SuspensionReason, TenantState};

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
