//! Orders' and installs' mutations.

use async_graphql::{Context, Object};
use coplane_domain::entity::{app_install, order};
use coplane_domain::orders::{self, installs};
use coplane_domain::tenancy::Platform;

use super::lines::line;
use super::{
    AppInstall, AppInstallPayload, Order, OrderIdInput, OrderPayload, PlaceOrderInput,
    RollbackAppInstallInput, SetAppInstallValuesInput,
};
use crate::context::{actor, db, now};
use crate::error::{UserError, payload, user_error};
use crate::node::decode_as;

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

fn order_result(r: coplane_domain::Result<order::Model>) -> async_graphql::Result<OrderPayload> {
    let (order, user_errors) = payload(r.map(Order))?;
    Ok(OrderPayload { order, user_errors })
}

fn install_result(
    r: coplane_domain::Result<app_install::Model>,
) -> async_graphql::Result<AppInstallPayload> {
    let (app_install, user_errors) = payload(r.map(AppInstall))?;
    Ok(AppInstallPayload {
        app_install,
        user_errors,
    })
}

fn not_found_payload(field: &'static str, entity: &'static str) -> Vec<UserError> {
    user_error(&coplane_domain::Error::not_found(field, entity))
        .into_iter()
        .collect()
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
            return Ok(OrderPayload {
                order: None,
                user_errors: not_found_payload("customerId", "customer"),
            });
        };
        let mut lines = Vec::with_capacity(input.lines.len());
        for (i, l) in input.lines.into_iter().enumerate() {
            match line(l) {
                Ok(l) => lines.push(l),
                Err(error) => {
                    return Ok(OrderPayload {
                        order: None,
                        user_errors: order_errors(orders::OrderError {
                            line: Some(i),
                            error,
                        })?,
                    });
                }
            }
        }
        let new = orders::NewOrder { customer_id, lines };
        let platform = ctx.data_unchecked::<Platform>();
        match orders::place(db, actor, new, platform, &input.idempotency_key, now).await {
            Ok(order) => Ok(OrderPayload {
                order: Some(Order(order)),
                user_errors: Vec::new(),
            }),
            Err(e) => Ok(OrderPayload {
                order: None,
                user_errors: order_errors(e)?,
            }),
        }
    }

    /// Cancels a pending order, undoing each line.
    async fn cancel_order(
        &self,
        ctx: &Context<'_>,
        input: OrderIdInput,
    ) -> async_graphql::Result<OrderPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let Some(id) = decode_as(&input.order_id, "Order") else {
            return Ok(OrderPayload {
                order: None,
                user_errors: not_found_payload("orderId", "order"),
            });
        };
        order_result(orders::cancel(db, actor, id, now).await)
    }

    /// Provisions a failed order's failed lines again.
    async fn retry_order(
        &self,
        ctx: &Context<'_>,
        input: OrderIdInput,
    ) -> async_graphql::Result<OrderPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let Some(id) = decode_as(&input.order_id, "Order") else {
            return Ok(OrderPayload {
                order: None,
                user_errors: not_found_payload("orderId", "order"),
            });
        };
        order_result(orders::retry(db, actor, id, now).await)
    }

    /// Returns an install to its previous version.
    async fn rollback_app_install(
        &self,
        ctx: &Context<'_>,
        input: RollbackAppInstallInput,
    ) -> async_graphql::Result<AppInstallPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let Some(id) = decode_as(&input.install_id, "AppInstall") else {
            return Ok(AppInstallPayload {
                app_install: None,
                user_errors: not_found_payload("installId", "app install"),
            });
        };
        let platform = ctx.data_unchecked::<Platform>();
        install_result(installs::rollback(db, actor, platform, id, now).await)
    }

    /// Replaces an install's values.
    async fn set_app_install_values(
        &self,
        ctx: &Context<'_>,
        input: SetAppInstallValuesInput,
    ) -> async_graphql::Result<AppInstallPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let Some(id) = decode_as(&input.install_id, "AppInstall") else {
            return Ok(AppInstallPayload {
                app_install: None,
                user_errors: not_found_payload("installId", "app install"),
            });
        };
        let platform = ctx.data_unchecked::<Platform>();
        install_result(installs::set_values(db, actor, platform, id, &input.values.0, now).await)
    }
}
