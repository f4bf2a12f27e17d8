//! Who may do what, decided in one place.
//!
//! A use case asks [`Principal::authorize`] for the [`Permission`] it needs.
//! A principal holding no role (or scope) that grants it gets
//! [`Error::Forbidden`] (or [`Error::Unauthenticated`] when anonymous).
//! Otherwise it gets a [`Grant`] whose [`Reach`] says which objects the
//! permission extends to: everything (steward, a co-op-wide integration),
//! one reseller's world, some tenants, one member. Queries filter by the
//! reach, and writes check it, so an object outside it reads as not found.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition};
use uuid::Uuid;

use super::{Principal, Role};
use crate::error::{Error, Result};
use crate::ids::{MemberId, ResellerId, TenantId};

/// What a use case needs to be allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// Read member records.
    ReadMembers,
    /// Create and change members.
    WriteMembers,
    /// Read reseller records.
    ReadResellers,
    /// Create resellers, set allotments.
    WriteResellers,
    /// Read customers.
    ReadCustomers,
    /// Create and change customers.
    WriteCustomers,
    /// Read tenants.
    ReadTenants,
    /// Create tenants and change their quotas.
    WriteTenants,
    /// Create and revoke API tokens.
    ManageTokens,
    /// Read the audit trail.
    ReadAudit,
    /// Read the app catalog and plans.
    ReadCatalog,
    /// Publish apps, versions and plans.
    WriteCatalog,
    /// Read a reseller's storefront (its prices and brand).
    ReadStorefront,
    /// Set a reseller's storefront: its prices, brand and host names.
    WriteStorefront,
    /// Read storefront orders.
    ReadOrders,
    /// Place and cancel storefront orders.
    PlaceOrders,
    /// Roll back installs and change their values.
    ManageInstalls,
    /// Send usage events.
    IngestUsage,
    /// Read aggregated usage.
    ReadUsage,
    /// Read invoices, payments and credit notes.
    ReadBilling,
    /// Close periods, finalize invoices, record payments, issue credit notes.
    WriteBilling,
}

/// Scopes an integration token can carry, and what each allows.
pub const SCOPES: &[(&str, &[Permission])] = &[
    ("customers:read", &[Permission::ReadCustomers]),
    (
        "customers:write",
        &[Permission::ReadCustomers, Permission::WriteCustomers],
    ),
    ("tenants:read", &[Permission::ReadTenants]),
    ("orders:read", &[Permission::ReadOrders]),
    (
        "orders:write",
        &[Permission::ReadOrders, Permission::PlaceOrders],
    ),
    (
        "tenants:write",
        &[Permission::ReadTenants, Permission::WriteTenants],
    ),
    ("members:read", &[Permission::ReadMembers]),
    ("resellers:read", &[Permission::ReadResellers]),
    (
        "billing:read",
        &[Permission::ReadBilling, Permission::ReadUsage],
    ),
    (
        "billing:write",
        &[Permission::ReadBilling, Permission::WriteBilling],
    ),
    ("usage:write", &[Permission::IngestUsage]),
];

/// The objects a permission extends to: the union of its parts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reach {
    /// Everything.
    pub all: bool,
    /// These resellers' worlds.
    pub resellers: Vec<ResellerId>,
    /// These tenants.
    pub tenants: Vec<TenantId>,
    /// These members.
    pub members: Vec<MemberId>,
}

/// An allowed permission: its reach and the roles that granted it.
#[derive(Clone, Debug, Default)]
pub struct Grant {
    /// What it extends to.
    pub reach: Reach,
    /// The roles that granted it.
    pub roles: Vec<Role>,
}

impl Grant {
    /// The granting roles, for the audit trail.
    pub fn role_names(&self) -> String {
        self.roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl Reach {
    fn everything() -> Self {
        Self {
            all: true,
            ..Self::default()
        }
    }

    fn merge(&mut self, other: Reach) {
        self.all |= other.all;
        self.resellers.extend(other.resellers);
        self.tenants.extend(other.tenants);
        self.members.extend(other.members);
        self.resellers.sort();
        self.resellers.dedup();
        self.tenants.sort();
        self.tenants.dedup();
        self.members.sort();
        self.members.dedup();
    }

    /// Whether an object in `reseller`'s world (`None`: the co-op's own) is reached.
    pub fn reseller(&self, reseller: Option<ResellerId>) -> bool {
        self.all || reseller.is_some_and(|r| self.resellers.contains(&r))
    }

    /// Whether a tenant (by id and reseller) is reached.
    pub fn tenant(&self, id: TenantId, reseller: Option<ResellerId>) -> bool {
        self.reseller(reseller) || self.tenants.contains(&id)
    }

    /// Whether a member is reached.
    pub fn member(&self, id: MemberId) -> bool {
        self.all || self.members.contains(&id)
    }

    /// A SQL condition selecting what is reached, given the columns that
    /// name an object's reseller, tenant and member (where it has them).
    pub fn condition<C: ColumnTrait>(
        &self,
        reseller: Option<C>,
        tenant: Option<C>,
        member: Option<C>,
    ) -> Condition {
        if self.all {
            return Condition::all();
        }
        let uuids = |ids: Vec<Uuid>| ids;
        let mut any = Condition::any();
        let mut parts = 0;
        if let Some(col) = reseller.filter(|_| !self.resellers.is_empty()) {
            any = any.add(col.is_in(uuids(self.resellers.iter().map(|r| r.0).collect())));
            parts += 1;
        }
        if let Some(col) = tenant.filter(|_| !self.tenants.is_empty()) {
            any = any.add(col.is_in(uuids(self.tenants.iter().map(|t| t.0).collect())));
            parts += 1;
        }
        if let Some(col) = member.filter(|_| !self.members.is_empty()) {
            any = any.add(col.is_in(uuids(self.members.iter().map(|m| m.0).collect())));
            parts += 1;
        }
        if parts == 0 {
            Condition::all().add(Expr::cust("1 = 0"))
        } else {
            any
        }
    }
}

impl Principal {
    /// What `permission` extends to for this principal, or why it is refused.
    pub fn authorize(&self, permission: Permission) -> Result<Grant> {
        if self.is_anonymous() {
            return Err(Error::Unauthenticated);
        }
        let mut grant = Grant::default();
        for role in &self.roles {
            if let Some(reach) = self.grant_of(*role, permission) {
                grant.reach.merge(reach);
                grant.roles.push(*role);
            }
        }
        if grant.roles.is_empty() {
            return Err(Error::Forbidden(format!(
                "no role of this credential allows {}",
                permission_name(permission)
            )));
        }
        Ok(grant)
    }

    fn grant_of(&self, role: Role, p: Permission) -> Option<Reach> {
        use Permission::*;
        let own_reseller = || Reach {
            resellers: self.reseller_id.into_iter().collect(),
            ..Reach::default()
        };
        // The catalog is the co-op's shop window: every authenticated caller reads it.
        if p == ReadCatalog {
            return Some(Reach::everything());
        }
        match role {
            Role::Steward => Some(Reach::everything()),
            Role::Reseller => matches!(
                p,
                ReadResellers
                    | ReadCustomers
                    | WriteCustomers
                    | ReadTenants
                    | WriteTenants
                    | ManageTokens
                    | ReadStorefront
                    | WriteStorefront
                    | ReadOrders
                    | PlaceOrders
                    | ManageInstalls
                    | IngestUsage
                    | ReadUsage
                    | ReadBilling
                    | WriteBilling
            )
            .then(own_reseller),
            Role::TenantAdmin => {
                matches!(p, ReadTenants | ManageInstalls | ReadUsage).then(|| Reach {
                    tenants: self.tenant_ids.clone(),
                    ..Reach::default()
                })
            }
            Role::Member => (p == ReadMembers).then(|| Reach {
                members: self.member_id.into_iter().collect(),
                ..Reach::default()
            }),
            Role::Integration => {
                let allowed = self.scopes.iter().any(|s| {
                    SCOPES
                        .iter()
                        .any(|(name, perms)| name == s && perms.contains(&p))
                });
                // Co-op-wide reach is explicit; an integration that names
                // neither a reseller nor co-op-wide reach reaches nothing.
                allowed.then(|| {
                    if self.coop_wide {
                        Reach::everything()
                    } else if self.reseller_id.is_some() {
                        own_reseller()
                    } else {
                        Reach::default()
                    }
                })
            }
        }
    }
}

fn permission_name(p: Permission) -> &'static str {
    match p {
        Permission::ReadMembers => "reading members",
        Permission::WriteMembers => "changing members",
        Permission::ReadResellers => "reading resellers",
        Permission::WriteResellers => "changing resellers",
        Permission::ReadCustomers => "reading customers",
        Permission::WriteCustomers => "changing customers",
        Permission::ReadTenants => "reading tenants",
        Permission::WriteTenants => "changing tenants",
        Permission::ManageTokens => "managing API tokens",
        Permission::ReadAudit => "reading the audit trail",
        Permission::ReadCatalog => "reading the catalog",
        Permission::WriteCatalog => "changing the catalog",
        Permission::ReadStorefront => "reading a storefront",
        Permission::WriteStorefront => "changing a storefront",
        Permission::ReadOrders => "reading orders",
        Permission::PlaceOrders => "placing orders",
        Permission::ManageInstalls => "managing app installs",
        Permission::IngestUsage => "sending usage",
        Permission::ReadUsage => "reading usage",
        Permission::ReadBilling => "reading invoices and payments",
        Permission::WriteBilling => "changing invoices and payments",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(roles: &[Role]) -> Principal {
        Principal {
            subject: "s".into(),
            roles: roles.to_vec(),
            ..Principal::default()
        }
    }

    #[test]
    fn stewards_reach_everything_and_anonymous_nothing() {
        assert!(
            principal(&[Role::Steward])
                .authorize(Permission::ReadAudit)
                .unwrap()
                .reach
                .all
        );
        assert!(matches!(
            Principal::anonymous().authorize(Permission::ReadTenants),
            Err(Error::Unauthenticated)
        ));
    }

    #[test]
    fn a_reseller_reaches_its_own_world_only() {
        let r = ResellerId::new();
        let p = Principal {
            reseller_id: Some(r),
            ..principal(&[Role::Reseller])
        };
        let reach = p.authorize(Permission::WriteTenants).unwrap().reach;
        assert!(
            reach.reseller(Some(r))
                && !reach.reseller(Some(ResellerId::new()))
                && !reach.reseller(None)
        );
        assert!(matches!(
            p.authorize(Permission::WriteResellers),
            Err(Error::Forbidden(_))
        ));
        assert!(matches!(
            p.authorize(Permission::ReadAudit),
            Err(Error::Forbidden(_))
        ));
    }

    #[test]
    fn integration_scopes_grant_exactly_their_permissions() {
        let loose = Principal {
            scopes: vec!["customers:read".into()],
            ..principal(&[Role::Integration])
        };
        // Without a reseller and without co-op-wide reach: nothing.
        let reach = loose.authorize(Permission::ReadCustomers).unwrap().reach;
        assert!(!reach.all && reach.resellers.is_empty());
        let p = Principal {
            coop_wide: true,
            ..loose
        };
        assert!(p.authorize(Permission::ReadCustomers).unwrap().reach.all);
        assert!(matches!(
            p.authorize(Permission::WriteCustomers),
            Err(Error::Forbidden(_))
        ));
        assert!(matches!(
            p.authorize(Permission::ReadTenants),
            Err(Error::Forbidden(_))
        ));
    }

    #[test]
    fn roles_combine_into_one_reach() {
        let (r, t) = (ResellerId::new(), TenantId::new());
        let p = Principal {
            reseller_id: Some(r),
            tenant_ids: vec![t],
            ..principal(&[Role::TenantAdmin, Role::Reseller])
        };
        let grant = p.authorize(Permission::ReadTenants).unwrap();
        assert_eq!(grant.roles, [Role::TenantAdmin, Role::Reseller]);
        assert!(grant.reach.tenant(t, None) && grant.reach.tenant(TenantId::new(), Some(r)));
    }
}
