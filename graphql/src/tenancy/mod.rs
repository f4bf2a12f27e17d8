//! Members, resellers, customers, tenants and quotas.

mod customers;
mod members;
mod mutation;
mod query;
mod quota;
mod resellers;
mod tenants;

pub use customers::{CreateCustomerInput, CreateCustomerPayload, Customer};
pub use members::{CreateMemberInput, CreateMemberPayload, Member, MemberClass, MemberKind};
pub use mutation::TenancyMutation;
pub use query::TenancyQuery;
pub use quota::{Quota, QuotaInput};
pub use resellers::{CreateResellerInput, Reseller, ResellerPayload, SetResellerAllotmentInput};
pub use tenants::{CreateTenantInput, Tenant, TenantPayload, TenantState, UpdateTenantQuotaInput};

use async_graphql::Context;
use async_graphql::dataloader::DataLoader;
use coplane_domain::Error as DomainError;
use uuid::Uuid;

use crate::loaders::ResellerLoader;

fn to_gql_shared(e: &std::sync::Arc<DomainError>) -> async_graphql::Error {
    crate::error::internal(&**e)
}

async fn load_reseller(
    ctx: &Context<'_>,
    id: Option<Uuid>,
) -> async_graphql::Result<Option<Reseller>> {
    let Some(id) = id else { return Ok(None) };
    let loader = ctx.data::<DataLoader<ResellerLoader>>()?;
    loader
        .load_one(id)
        .await
        .map(|r| r.map(Reseller))
        .map_err(|e| to_gql_shared(&e))
}

/// Page size times what each item costs, for the complexity limit.
pub fn page_cost(first: Option<i32>, child_complexity: usize) -> usize {
    let n = first.unwrap_or(20).clamp(0, 100);
    usize::try_from(n)
        .unwrap_or(0)
        .saturating_mul(child_complexity.max(1))
        .saturating_add(1)
}
