//! `placeOrder`: the whole order checked, then written, in one transaction.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel, Set,
};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::installs::{self, LiveInstall};
use super::jobs::FulfilOrder;
use super::{LineKind, OrderError, OrderState, Target, at, ensure_no_order_in_progress};
use crate::audit::Change;
use crate::auth::{Actor, Permission};
use crate::catalog::InstallValues;
use crate::entity::{app_install, customer, order, order_line, plan, reseller, tenant};
use crate::error::{Error, Result};
use crate::ids::{
    AppId, AppInstallId, AppVersionId, CustomerId, OrderId, OrderLineId, PlanId, TenantId,
};
use crate::tenancy::{
    DIMENSIONS, Platform, Quota, QuotaInput, TenantSlug, TenantState, parse_quota, resellers,
    tenants,
};

mod draft;
mod input;
mod write;

use crate::usecase::Mutation;
use draft::*;
pub use input::*;
use write::*;

/// Places an order: every line checked, then all written, or nothing.
/// Replays the first order when `key` is repeated with the same order.
pub async fn place(
    db: &DatabaseConnection,
    actor: &Actor,
    input: NewOrder,
    platform: &Platform,
    key: &str,
    now: DateTime<Utc>,
) -> Result<order::Model, OrderError> {
    let grant = actor.principal.authorize(Permission::PlaceOrders)?;
    crate::idempotency::check_key(key)?;
    let key = key.to_owned();
    if input.lines.is_empty() || input.lines.len() > MAX_LINES {
        return Err(Error::invalid(
            "lines",
            "INVALID_ORDER",
            format!("an order has 1 to {MAX_LINES} lines"),
        )
        .into());
    }
    let mut txn = Mutation::begin(db, actor, &grant, "placeOrder", now).await?;
    if let Some(id) = txn.claim(Some(&key), &input).await? {
        let reached = |o: &order::Model| grant.reach.reseller(Some(o.reseller_id));
        return Ok(txn.replay::<order::Entity>(id, reached, "order").await?);
    }
    let customer = customer::Entity::find_by_id(input.customer_id)
        .one(&txn)
        .await?
        .filter(|c| grant.reach.reseller(c.reseller_id))
        .ok_or_else(|| Error::not_found("customerId", "customer"))?;
    let Some(reseller_id) = customer.reseller_id else {
        return Err(Error::invalid(
            "customerId",
            "DIRECT_CUSTOMER",
            "storefront orders are for a reseller's customers",
        )
        .into());
    };
    // Every order of a reseller is checked under its pool lock: two orders
    // never both take the last of a quota.
    let reseller = resellers::lock(&txn, reseller_id)
        .await?
        .ok_or_else(|| Error::not_found("customerId", "reseller"))?;
    let mut draft = Draft {
        platform,
        hosts: Vec::new(),
        tenants: Vec::new(),
        planned: Vec::new(),
        installs_touched: Vec::new(),
    };
    for (i, line) in input.lines.iter().enumerate() {
        draft.add(&txn, &customer, line).await.map_err(at(i))?;
    }
    draft.check(&txn, &reseller).await?;
    let hash = format!(
        "{:x}",
        Sha256::digest(serde_json::to_vec(&input).unwrap_or_default())
    );
    let order = order::ActiveModel {
        id: Set(OrderId::new()),
        reseller_id: Set(reseller_id),
        customer_id: Set(customer.id),
        state: Set(OrderState::Pending),
        idempotency_key: Set(Some(key.clone())),
        request_hash: Set(hash),
        placed_by: Set(actor.principal.subject.clone()),
        failure_reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(Error::conflict_on_unique(
        "idempotencyKey",
        "IDEMPOTENCY_KEY_REUSED",
        "another credential of this reseller placed an order with this key".to_owned(),
    ))?;
    for (i, (planned, line)) in draft.planned.iter().zip(&input.lines).enumerate() {
        write_line(&txn, &draft, &customer, &order, i, planned, line, now)
            .await
            .map_err(at(i))?;
    }
    crate::jobs::enqueue(&txn, &FulfilOrder { order_id: order.id }, now)
        .await
        .map_err(Error::from)?;
    let change = Change {
        object_type: "Order",
        object_id: order.id.into(),
        reseller_id: Some(reseller_id),
        details: json!({
            "customerId": customer.id,
            "lines": draft.planned.iter().map(|p| p.kind().as_str()).collect::<Vec<_>>(),
        }),
    };
    txn.commit(change).await?;
    Ok(order)
}
