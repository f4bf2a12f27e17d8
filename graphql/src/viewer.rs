//! `viewer`: who the API thinks the caller is.

use async_graphql::{Context, Enum, ID, Object};
use coplane_domain::auth::Role as DomainRole;

use coplane_domain::auth::Actor;

/// A role, named as in tokens' `roles` claim.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(rename_items = "snake_case")]
pub enum Role {
    /// Runs the platform.
    Steward,
    /// A co-op member.
    Member,
    /// A reseller.
    Reseller,
    /// Administers some tenants.
    TenantAdmin,
    /// An ERP or script with scopes.
    Integration,
}

impl From<DomainRole> for Role {
    fn from(role: DomainRole) -> Self {
        match role {
            DomainRole::Steward => Role::Steward,
            DomainRole::Member => Role::Member,
            DomainRole::Reseller => Role::Reseller,
            DomainRole::TenantAdmin => Role::TenantAdmin,
            DomainRole::Integration => Role::Integration,
        }
    }
}

/// The caller, as authenticated.
pub struct Viewer(Actor);

#[Object]
impl Viewer {
    /// The subject of the credential; null when anonymous.
    async fn id(&self) -> Option<ID> {
        (!self.0.principal.is_anonymous()).then(|| ID(self.0.principal.subject.clone()))
    }

    /// Roles held; empty when anonymous.
    async fn roles(&self) -> Vec<Role> {
        self.0
            .principal
            .roles
            .iter()
            .copied()
            .map(Role::from)
            .collect()
    }

    /// Scopes of an integration credential.
    async fn scopes(&self) -> &[String] {
        &self.0.principal.scopes
    }

    /// This request's id, as logged.
    async fn request_id(&self) -> &str {
        &self.0.request_id
    }
}

#[derive(Default)]
pub struct ViewerQuery;

#[Object]
impl ViewerQuery {
    /// The caller. Anonymous callers get a viewer with no roles.
    async fn viewer(&self, ctx: &Context<'_>) -> async_graphql::Result<Viewer> {
        Ok(Viewer(ctx.data::<Actor>()?.clone()))
    }
}
