//! Subscriptions to orders and tenants.

use async_graphql::{Context, ID, Subscription};
use coplane_domain::entity::{order, order_line};
use coplane_domain::orders;
use futures::Stream;

use super::{Order, OrderState};
use crate::common::decode_as;
use crate::context::{actor, db, record_tenant};
use crate::error::to_gql;
use crate::tenancy::Tenant;
use crate::watch::{Look, watch};

#[derive(Default)]
pub struct OrdersSubscription;

#[Subscription]
impl OrdersSubscription {
    /// The order now and at every change, until it is fulfilled, failed or
    /// cancelled. An order outside the caller's reach yields nothing.
    async fn order_updated(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Order>> + use<>> {
        let id = decode_as(&id, "Order");
        // Read once now, so a caller without the permission gets the error.
        if let Some(id) = id {
            orders::get(db(ctx)?, actor(ctx)?, id.into())
                .await
                .map_err(to_gql)?;
        }
        watch(ctx, move |db, actor| async move {
            let o = orders::get(&db, &actor, (id?).into()).await.ok()??;
            // What a subscriber sees: the order's and its lines' states.
            let lines = orders::lines(&db, o.id).await.unwrap_or_default();
            if let Some(t) = lines.iter().find_map(|l| l.tenant_id) {
                record_tenant(t.into());
            }
            Some(Look {
                fingerprint: fingerprint(&o, &lines),
                last: OrderState::from(o.state).is_settled(),
                item: Order(o),
            })
        })
    }
}

/// Subscriptions to tenants.
#[derive(Default)]
pub struct TenantsSubscription;

#[Subscription]
impl TenantsSubscription {
    /// The tenant now and at every change of its state, quota, plan or
    /// suspension, until it is terminated. A tenant outside the caller's
    /// reach yields nothing.
    async fn tenant_updated(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Tenant>> + use<>> {
        let id = decode_as(&id, "Tenant");
        if let Some(id) = id {
            coplane_domain::tenancy::tenants::get(db(ctx)?, actor(ctx)?, id.into())
                .await
                .map_err(to_gql)?;
        }
        watch(ctx, move |db, actor| async move {
            let t = coplane_domain::tenancy::tenants::get(&db, &actor, (id?).into())
                .await
                .ok()??;
            record_tenant(t.id.into());
            Some(Look {
                fingerprint: format!(
                    "{}|{}|{:?}|{:?}|{:?}",
                    t.state,
                    t.updated_at,
                    t.quota(),
                    t.plan_id,
                    t.suspension_reason
                ),
                last: t.state == coplane_domain::tenancy::TenantState::Terminated,
                item: Tenant(t),
            })
        })
    }
}

fn fingerprint(o: &order::Model, lines: &[order_line::Model]) -> String {
    let mut out = format!("{}|{}|{:?}", o.state, o.updated_at, o.failure_reason);
    for l in lines {
        out.push_str(&format!("|{}:{:?}", l.state, l.reason));
    }
    out
}
