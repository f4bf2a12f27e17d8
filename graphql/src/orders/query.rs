//! Orders' queries.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use coplane_domain::entity::order;
use coplane_domain::orders;

use super::{Order, OrderState};
use crate::common::{Conn, connection, decode_as, page_cost, page_request};
use crate::context::{actor, db};
use crate::error::to_gql;

#[derive(Default)]
pub struct OrdersQuery;

#[Object]
impl OrdersQuery {
    /// Orders the caller reaches (a reseller: its own), newest last.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        state: Option<OrderState>,
        customer_id: Option<ID>,
        updated_since: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<Conn<Order>> {
        let page = page_request(ctx, first, after.clone())?;
        let customer_id = match customer_id {
            Some(id) => match decode_as(&id, "Customer") {
                Some(u) => Some(u),
                None => return Ok(connection(empty(), false, |m| m.id.into(), Order)),
            },
            None => None,
        };
        let filter = orders::OrderFilter {
            state: state.map(Into::into),
            customer_id: customer_id.map(Into::into),
            updated_since,
        };
        let found = orders::list(db(ctx)?, actor(ctx)?, filter, page)
            .await
            .map_err(to_gql)?;
        Ok(connection(found, after.is_some(), |m| m.id.into(), Order))
    }

    /// One order; null outside the caller's reach.
    async fn order(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Order>> {
        let Some(id) = decode_as(&id, "Order") else {
            return Ok(None);
        };
        let found = orders::get(db(ctx)?, actor(ctx)?, id.into())
            .await
            .map_err(to_gql)?;
        Ok(found.map(Order))
    }
}

fn empty() -> coplane_domain::page::Page<order::Model> {
    coplane_domain::page::Page {
        items: Vec::new(),
        has_next_page: false,
        total_count: 0,
    }
}
