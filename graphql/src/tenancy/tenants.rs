//! Tenants and their lifecycle.

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use coplane_domain::entity::tenant;
use coplane_domain::tenancy;
use uuid::Uuid;

use super::{Customer, Reseller, load_reseller, to_gql_shared};
use crate::common::{Quota, QuotaInput, global_id};
use crate::loaders::CustomerLoader;

/// A tenant's lifecycle state.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(rename_items = "snake_case", remote = "tenancy::TenantState")]
pub enum TenantState {
    /// Created; its namespace is not ready yet.
    Pending,
    /// Running.
    Active,
    /// Workloads stopped.
    Suspended,
    /// Gone.
    Terminated,
}

/// A Kubernetes namespace with a quota, for a customer.
pub struct Tenant(pub tenant::Model);

#[Object]
impl Tenant {
    /// Global id.
    pub async fn id(&self) -> ID {
        global_id("Tenant", self.0.id)
    }
    /// Its customer; null unless the caller may read customers.
    async fn customer(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Customer>> {
        let loader = ctx.data::<DataLoader<CustomerLoader>>()?;
        loader
            .load_one(self.0.customer_id)
            .await
            .map(|c| c.map(Customer))
            .map_err(|e| to_gql_shared(&e))
    }
    /// Its reseller; null for the co-op's direct customers or unless the caller may read resellers.
    async fn reseller(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Reseller>> {
        load_reseller(ctx, self.0.reseller_id).await
    }
    /// Immutable slug.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// Cluster.
    async fn cluster(&self) -> &str {
        &self.0.cluster
    }
    /// Kubernetes namespace.
    async fn namespace(&self) -> &str {
        &self.0.namespace
    }
    /// Plan.
    async fn plan_id(&self) -> Option<ID> {
        self.0.plan_id.map(|p| global_id("Plan", p))
    }
    /// Quota.
    async fn quota(&self) -> Quota {
        self.0.quota().into()
    }
    /// State.
    async fn state(&self) -> TenantState {
        self.0.state.into()
    }
    #[graphql(flatten)]
    async fn order_fields(&self) -> TenantOrderFields {
        TenantOrderFields {
            id: self.0.id.into(),
        }
    }
    /// `overdue` or `manual` while suspended.
    async fn suspension_reason(&self) -> Option<&'static str> {
        self.0.suspension_reason.map(|r| r.as_str())
    }
    /// Why, in words (a manual suspension's reason).
    async fn suspension_note(&self) -> Option<&str> {
        self.0.suspension_note.as_deref()
    }
    /// Paid up to: not suspended for arrears before then.
    async fn prepaid_until(&self) -> Option<DateTime<Utc>> {
        self.0.prepaid_until
    }
    /// Created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// `Tenant`'s fields that orders resolves (`appInstalls`), in their place
/// among its own: orders implements the object, so tenancy does not use
/// orders.
pub struct TenantOrderFields {
    pub id: Uuid,
}

/// `createTenant` input.
#[derive(InputObject)]
pub struct CreateTenantInput {
    /// Its customer.
    pub customer_id: ID,
    /// DNS label, immutable; the namespace is `coplane-<slug>`.
    pub slug: String,
    /// Cluster (default `default`).
    pub cluster: Option<String>,
    /// Plan.
    pub plan_id: Option<ID>,
    /// Quota, within the reseller's allotment.
    pub quota: QuotaInput,
    /// Replays the first result when repeated with the same input.
    pub idempotency_key: Option<String>,
}

/// `updateTenantQuota` input.
#[derive(InputObject)]
pub struct UpdateTenantQuotaInput {
    /// The tenant.
    pub tenant_id: ID,
    /// Its new quota, within the reseller's allotment.
    pub quota: QuotaInput,
}

crate::common::payload! {
    /// A mutation's tenant (`createTenant`, `updateTenantQuota`, `suspendTenant` …).
    TenantPayload {
        /// The tenant, unless there were user errors.
        tenant: Tenant,
        /// What was wrong with the input; nothing was changed.
        user_errors,
    }
}
