//! Orders' and installs' mutations.

use async_graphql::{Context, Object};
use coplane_domain::orders::{self, installs};
use coplane_domain::tenancy::Platform;

use super::lines::line;
use super::{
    AppInstall, AppInstallPayload, Order, OrderIdInput, OrderPayload, PlaceOrderInput,
    RollbackAppInstallInput, SetAppInstallValuesInput,
};
use crate::common::{Payload, decode_as, input_id, not_found};
use crate::context::{actor, db, now};
use crate::error::{UserError, payload};

/// The user errors of a refused order, the field path naming the line.
fn order_errors(e: orders::OrderError) -> async_graphql::Result<Vec<UserError>> {
    let (_, mut errors) = payload::<()>(Err(e.error))?;
    if let Some(i) = e.line {
        for ue in &mut errors {
            let field = ue.field.split_off(1);
            ue.field.extend(["lines".to_owned(), i.to_string()]);
            ue.field.extend(field.into_iter().filter(|f| f != "lines"));
        }
    }
    Ok(errors)
}

#[derive(Default)]
pub struct OrdersMutation;

#[Object]
impl OrdersMutation {
    /// Places a storefront order for one of the caller's customers. The
    /// whole order fits the tenants' quotas and the reseller's allotment,
    /// or nothing is changed.
    async fn place_order(
        &self,
        ctx: &Context<'_>,
        input: PlaceOrderInput,
    ) -> async_graphql::Result<OrderPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let Some(customer_id) = decode_as(&input.customer_id, "Customer") else {
            return Ok(OrderPayload::refused(not_found("customerId", "customer")));
        };
        let mut lines = Vec::with_capacity(input.lines.len());
        for (i, l) in input.lines.into_iter().enumerate() {
            match line(l) {
                Ok(l) => lines.push(l),
                Err(error) => {
                    let line = Some(i);
                    let errors = order_errors(orders::OrderError { line, error })?;
                    return Ok(OrderPayload::refused(errors));
                }
            }
        }
        let new = orders::NewOrder {
            customer_id: customer_id.into(),
            lines,
        };
        let platform = ctx.data_unchecked::<Platform>();
        match orders::place(db, actor, new, platform, &input.idempotency_key, now).await {
            Ok(order) => Ok(OrderPayload::new(Some(Order(order)), Vec::new())),
            Err(e) => Ok(OrderPayload::refused(order_errors(e)?)),
        }
    }

    /// Cancels a pending order, undoing each line.
    async fn cancel_order(
        &self,
        ctx: &Context<'_>,
        input: OrderIdInput,
    ) -> async_graphql::Result<OrderPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let result = async {
            let id = input_id(&input.order_id, "Order", "orderId")?;
            orders::cancel(db, actor, id, now).await
        };
        OrderPayload::from_result(result.await.map(Order))
    }

    /// Provisions a failed order's failed lines again.
    async fn retry_order(
        &self,
        ctx: &Context<'_>,
        input: OrderIdInput,
    ) -> async_graphql::Result<OrderPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let result = async {
            let id = input_id(&input.order_id, "Order", "orderId")?;
            orders::retry(db, actor, id, now).await
        };
        OrderPayload::from_result(result.await.map(Order))
    }

    /// Returns an install to its previous version.
    async fn rollback_app_install(
        &self,
        ctx: &Context<'_>,
        input: RollbackAppInstallInput,
    ) -> async_graphql::Result<AppInstallPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let platform = ctx.data_unchecked::<Platform>();
        let result = async {
            let id = input_id(&input.install_id, "AppInstall", "installId")?;
            installs::rollback(db, actor, platform, id, now).await
        };
        AppInstallPayload::from_result(result.await.map(AppInstall))
    }

    /// Replaces an install's values.
    async fn set_app_install_values(
        &self,
        ctx: &Context<'_>,
        input: SetAppInstallValuesInput,
    ) -> async_graphql::Result<AppInstallPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let platform = ctx.data_unchecked::<Platform>();
        let result = async {
            let id = input_id(&input.install_id, "AppInstall", "installId")?;
            installs::set_values(db, actor, platform, id, &input.values.0, now).await
        };
        AppInstallPayload::from_result(result.await.map(AppInstall))
    }
}
