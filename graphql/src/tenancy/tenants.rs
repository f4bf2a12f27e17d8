//! Tenants and their lifecycle.

use async_graphql::dataloader::DataLoader;
use async_graphql::resolver_utils::enum_value;
use async_graphql::{Context, Enum, ID, InputObject, Object, Value};
use chrono::{DateTime, Utc};
use coplane_domain::entity::tenant;
use coplane_domain::page::Page;
use coplane_domain::tenancy;
use uuid::Uuid;

use super::{Customer, Reseller, ahead, load_reseller, to_gql_shared};
use crate::common::plain::{At, Plain, scalar, scalar_opt, text, text_opt};
use crate::common::{Quota, QuotaInput, global_id};
use crate::loaders::{Ahead, CustomerLoader};

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
        if let Some(found) = ahead::<Customer>(ctx, self.0.customer_id.into()) {
            return Ok(found.map(|c| Customer(c.0.clone())));
        }
        let loader = ctx.data::<DataLoader<CustomerLoader>>()?;
        loader
            .load_one(self.0.customer_id)
            .await
            .map(|c| c.map(Customer))
            .map_err(|e| to_gql_shared(&e))
    }
    /// Its reseller; null for the co-op's direct customers or unless the caller may read resellers.
    async fn reseller(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Reseller>> {
        if let Some(found) = self
            .0
            .reseller_id
            .and_then(|r| ahead::<Reseller>(ctx, r.into()))
        {
            return Ok(found.map(|r| Reseller(r.0.clone())));
        }
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

impl Plain for Tenant {
    fn field(&self, name: &str, at: &At<'_, '_>) -> Option<Value> {
        let t = &self.0;
        Some(match name {
            "id" => scalar(&global_id("Tenant", t.id)),
            "customer" => {
                let found = at.data::<Ahead>()?.get::<Customer>(t.customer_id.into())?;
                return at.optional(found.as_deref());
            }
            "reseller" => match t.reseller_id {
                None => Value::Null,
                Some(r) => {
                    let found = at.data::<Ahead>()?.get::<Reseller>(r.into())?;
                    return at.optional(found.as_deref());
                }
            },
            "slug" => text(&t.slug),
            "cluster" => text(&t.cluster),
            "namespace" => text(&t.namespace),
            "planId" => scalar_opt(t.plan_id.map(|p| global_id("Plan", p)).as_ref()),
            "quota" => return at.object(&Quota::from(t.quota())),
            "state" => enum_value(TenantState::from(t.state)),
            "suspensionReason" => text_opt(t.suspension_reason.map(|r| r.as_str())),
            "suspensionNote" => text_opt(t.suspension_note.as_deref()),
            "prepaidUntil" => scalar_opt(t.prepaid_until.as_ref()),
            "createdAt" => scalar(&t.created_at),
            "updatedAt" => scalar(&t.updated_at),
            _ => return None,
        })
    }
}

/// The parties a tenants list's rows select (none when the request keeps
/// nothing ahead).
pub(super) fn parties_wanted(ctx: &Context<'_>) -> tenancy::tenants::Parties {
    parties_under(ctx, |look, name| {
        look.field("edges").field("node").field(name).exists()
            || look.field("nodes").field(name).exists()
    })
}

fn parties_under(
    ctx: &Context<'_>,
    selects: impl Fn(&async_graphql::Lookahead<'_>, &str) -> bool,
) -> tenancy::tenants::Parties {
    if ctx.data_opt::<Ahead>().is_none() {
        return tenancy::tenants::Parties::default();
    }
    let look = ctx.look_ahead();
    tenancy::tenants::Parties {
        customer: selects(&look, "customer"),
        reseller: selects(&look, "reseller"),
    }
}

/// One tenant for `node(id:)`, with the customer and reseller its
/// selection asks for fetched in the same statement.
pub async fn tenant_node(
    ctx: &Context<'_>,
    id: Uuid,
) -> async_graphql::Result<coplane_domain::Result<Option<Tenant>>> {
    let (db, actor) = (crate::context::db(ctx)?, crate::context::actor(ctx)?);
    let parties = parties_under(ctx, |look, name| look.field(name).exists());
    Ok(
        tenancy::tenants::get_with_parties(db, actor, id.into(), parties)
            .await
            .map(|found| {
                keep_parties(ctx, found, parties)
                    .items
                    .into_iter()
                    .next()
                    .map(Tenant)
            }),
    )
}

/// Keeps the parties that came with a page of tenants for its rows to find
/// without awaiting (see [`Plain`]): what was asked for and not found is
/// kept as null, so no loader goes after it again.
pub(super) fn keep_parties(
    ctx: &Context<'_>,
    found: tenancy::tenants::WithParties,
    parties: tenancy::tenants::Parties,
) -> Page<tenant::Model> {
    let Some(ahead) = ctx.data_opt::<Ahead>() else {
        return found.page;
    };
    let (mut customers, mut resellers) = (found.customers, found.resellers);
    for t in &found.page.items {
        if parties.customer && !ahead.has::<Customer>(t.customer_id.into()) {
            let c = customers.remove(&t.customer_id).map(Customer);
            ahead.put(t.customer_id.into(), c);
        }
        if let (true, Some(id)) = (parties.reseller, t.reseller_id)
            && !ahead.has::<Reseller>(id.into())
        {
            ahead.put(id.into(), resellers.remove(&id).map(Reseller));
        }
    }
    found.page
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
