//! Tenancy's queries.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use coplane_domain::tenancy::{customers, members, resellers, tenants};
use uuid::Uuid;

use super::{Customer, Member, MemberClass, Reseller, Tenant, TenantState};
use crate::common::plain::Fast;
use crate::common::{Conn, connection, decode_as, page_cost, page_request};
use crate::context::{actor, db, record_tenant};
use crate::error::to_gql;

#[derive(Default)]
pub struct TenancyQuery;

#[Object]
impl TenancyQuery {
    /// Members the caller reaches (stewards: all; members: themselves).
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        updated_since: Option<DateTime<Utc>>,
        class: Option<MemberClass>,
    ) -> async_graphql::Result<Conn<Member>> {
        let page = page_request(ctx, first, after.clone())?;
        let filter = members::MemberFilter {
            class: class.map(Into::into),
            updated_since,
        };
        let found = members::list(db(ctx)?, actor(ctx)?, filter, page)
            .await
            .map_err(to_gql)?;
        Ok(connection(found, after.is_some(), |m| m.id.into(), Member))
    }

    /// Resellers the caller reaches.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn resellers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        updated_since: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<Fast<Conn<Reseller>>> {
        let page = page_request(ctx, first, after.clone())?;
        let filter = resellers::ResellerFilter { updated_since };
        let found = resellers::list(db(ctx)?, actor(ctx)?, filter, page)
            .await
            .map_err(to_gql)?;
        Ok(Fast(connection(
            found,
            after.is_some(),
            |m| m.id.into(),
            Reseller,
        )))
    }

    /// Customers the caller reaches; `updatedSince` for ERP syncs.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn customers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        updated_since: Option<DateTime<Utc>>,
        reseller_id: Option<ID>,
    ) -> async_graphql::Result<Fast<Conn<Customer>>> {
        let page = page_request(ctx, first, after.clone())?;
        let filter = customers::CustomerFilter {
            reseller_id: (reseller_id.map(|r| decode_as(&r, "Reseller").unwrap_or_else(Uuid::nil)))
                .map(Into::into),
            updated_since,
        };
        let found = customers::list(db(ctx)?, actor(ctx)?, filter, page)
            .await
            .map_err(to_gql)?;
        Ok(Fast(connection(
            found,
            after.is_some(),
            |m| m.id.into(),
            Customer,
        )))
    }

    /// Tenants the caller reaches, filtered by state, reseller or customer.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn tenants(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        updated_since: Option<DateTime<Utc>>,
        state: Option<TenantState>,
        reseller_id: Option<ID>,
        customer_id: Option<ID>,
    ) -> async_graphql::Result<Fast<Conn<Tenant>>> {
        let page = page_request(ctx, first, after.clone())?;
        let filter = tenants::TenantFilter {
            state: state.map(Into::into),
            reseller_id: (reseller_id.map(|r| decode_as(&r, "Reseller").unwrap_or_else(Uuid::nil)))
                .map(Into::into),
            customer_id: (customer_id.map(|c| decode_as(&c, "Customer").unwrap_or_else(Uuid::nil)))
                .map(Into::into),
            updated_since,
        };
        let parties = super::tenants::parties_wanted(ctx);
        let found = tenants::list_with_parties(db(ctx)?, actor(ctx)?, filter, page, parties)
            .await
            .map_err(to_gql)?;
        let found = super::tenants::keep_parties(ctx, found, parties);
        Ok(Fast(connection(
            found,
            after.is_some(),
            |m| m.id.into(),
            Tenant,
        )))
    }

    /// One tenant; null if it does not exist or is outside the caller's reach.
    async fn tenant(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Tenant>> {
        let Some(uuid) = decode_as(&id, "Tenant") else {
            return Ok(None);
        };
        record_tenant(uuid);
        Ok(tenants::get(db(ctx)?, actor(ctx)?, uuid.into())
            .await
            .map_err(to_gql)?
            .map(Tenant))
    }
}
