//! Members, resellers, customers and tenants: the first area, it uses no
//! other.

mod customers;
mod members;
mod mutation;
mod query;
mod resellers;
mod tenants;

pub use customers::{CreateCustomerInput, CreateCustomerPayload, Customer, CustomerDunningFields};
pub use members::{CreateMemberInput, CreateMemberPayload, Member, MemberClass, MemberKind};
pub use mutation::TenancyMutation;
pub use query::TenancyQuery;
pub use resellers::{
    CreateResellerInput, Reseller, ResellerDunningFields, ResellerPayload,
    SetResellerAllotmentInput,
};
pub use tenants::{
    CreateTenantInput, Tenant, TenantOrderFields, TenantPayload, TenantState,
    UpdateTenantQuotaInput, tenant_node,
};

use async_graphql::Context;
use async_graphql::dataloader::DataLoader;
use coplane_domain::Error as DomainError;

use crate::loaders::ResellerLoader;

/// What the request fetched ahead for `id` of kind `T`; `None` if nothing.
fn ahead<T: std::any::Any + Send + Sync>(
    ctx: &Context<'_>,
    id: uuid::Uuid,
) -> Option<Option<std::sync::Arc<T>>> {
    ctx.data_opt::<crate::loaders::Ahead>()?.get::<T>(id)
}

fn to_gql_shared(e: &std::sync::Arc<DomainError>) -> async_graphql::Error {
    crate::error::internal(&**e)
}

async fn load_reseller(
    ctx: &Context<'_>,
    id: Option<coplane_domain::ids::ResellerId>,
) -> async_graphql::Result<Option<Reseller>> {
    let Some(id) = id else { return Ok(None) };
    let loader = ctx.data::<DataLoader<ResellerLoader>>()?;
    loader
        .load_one(id)
        .await
        .map(|r| r.map(Reseller))
        .map_err(|e| to_gql_shared(&e))
}
