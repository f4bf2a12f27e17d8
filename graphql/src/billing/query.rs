//! Billing's queries.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use coplane_domain::billing::{close, invoices, metrics, usage};

use coplane_domain::ids::InvoiceId;

use super::invoices::LinesOf;
use super::{BillableMetric, BillingPeriod, Invoice, Payment, Usage};
use crate::common::plain::Fast;
use crate::common::{Conn, connection, decode_as, global_id, page_cost, page_request};
use crate::context::{actor, db};
use crate::error::to_gql;
use crate::loaders::children_ahead;

#[derive(Default)]
pub struct BillingQuery;

#[Object]
impl BillingQuery {
    /// Billable metrics, by code.
    async fn billable_metrics(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<BillableMetric>> {
        Ok(metrics::list(db(ctx)?, actor(ctx)?)
            .await
            .map_err(to_gql)?
            .into_iter()
            .map(BillableMetric)
            .collect())
    }

    /// Usage aggregated per tenant and metric over `[from, to)`, for the
    /// tenants the caller reaches; `tenantId` narrows to one.
    async fn usage(
        &self,
        ctx: &Context<'_>,
        tenant_id: Option<ID>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> async_graphql::Result<Vec<Usage>> {
        let tenant = match tenant_id {
            Some(id) => match decode_as(&id, "Tenant") {
                Some(u) => Some(u),
                None => return Ok(Vec::new()),
            },
            None => None,
        };
        let found = usage::aggregates(db(ctx)?, actor(ctx)?, tenant.map(Into::into), from, to)
            .await
            .map_err(to_gql)?;
        Ok(found
            .into_iter()
            .map(|u| Usage {
                tenant_id: global_id("Tenant", u.tenant_id),
                metric: u.metric,
                from: u.start,
                to: u.end,
                quantity: u.quantity,
            })
            .collect())
    }

    /// Billing periods, newest first.
    async fn billing_periods(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<BillingPeriod>> {
        Ok(close::periods(db(ctx)?, actor(ctx)?)
            .await
            .map_err(to_gql)?
            .into_iter()
            .map(BillingPeriod)
            .collect())
    }

    /// Invoices the caller reaches: stewards all; a reseller those it
    /// receives from the co-op and those it issues.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn invoices(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<String>,
        updated_since: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<Fast<Conn<Invoice>>> {
        let page = page_request(ctx, first, after.clone())?;
        let filter = invoices::InvoiceFilter {
            updated_since,
            status,
            billing_period_id: None,
        };
        let found = invoices::list(db(ctx)?, actor(ctx)?, filter, page)
            .await
            .map_err(to_gql)?;
        let look = ctx.look_ahead();
        if look.field("edges").field("node").field("lines").exists()
            || look.field("nodes").field("lines").exists()
        {
            let ids: Vec<InvoiceId> = found.items.iter().map(|i| i.id).collect();
            children_ahead::<LinesOf>(ctx, &ids).await?;
        }
        Ok(Fast(connection(
            found,
            after.is_some(),
            |m| m.id.into(),
            Invoice,
        )))
    }

    /// One invoice; null outside the caller's reach.
    async fn invoice(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Invoice>> {
        let Some(id) = decode_as(&id, "Invoice") else {
            return Ok(None);
        };
        Ok(invoices::get(db(ctx)?, actor(ctx)?, id.into())
            .await
            .map_err(to_gql)?
            .map(Invoice))
    }

    /// Payments the caller reaches, for ERP sync.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn payments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        updated_since: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<Conn<Payment>> {
        let page = page_request(ctx, first, after.clone())?;
        let found = invoices::payments(db(ctx)?, actor(ctx)?, updated_since, page)
            .await
            .map_err(to_gql)?;
        Ok(connection(found, after.is_some(), |m| m.id.into(), Payment))
    }
}
