//! Storefront orders: what a reseller's storefront places for one of its
//! customers, and how each order becomes tenants and app installs.
//!
//! Placing an order is one transaction under the reseller's pool lock: the
//! whole order is checked against the tenants' quotas and the reseller's
//! allotment as it would leave them, and either every line is written (new
//! tenants, plan changes, installs, upgrades, uninstalls, as the desired
//! state the worker converges to) or nothing is. The worker then takes the
//! order `pending → provisioning → fulfilled | failed`, line by line, as the
//! cluster reports each object ready ([`advance`]). A pending order can be
//! cancelled: each line's change is undone from what it recorded.

pub mod installs;
pub mod jobs;
mod place;
mod progress;

pub use place::{LineInput, NewOrder, TenantRef, place};
pub use progress::{LINE_DEADLINE, advance, cancel, install_changed, retry, tenant_changed};

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::auth::{Actor, Permission};
pub use crate::entity::order::OrderState;
pub use crate::entity::order_line::LineKind;
use crate::entity::{order, order_line};
use crate::error::{Error, Result};
use crate::ids::{AppInstallId, CustomerId, OrderId, TenantId};
use crate::page::{self, Page, PageRequest};

/// A refused order: the line at fault (0-based), if one is, and why.
#[derive(Debug)]
pub struct OrderError {
    /// The line.
    pub line: Option<usize>,
    /// Why.
    pub error: Error,
}

impl From<Error> for OrderError {
    fn from(error: Error) -> Self {
        Self { line: None, error }
    }
}

impl From<sea_orm::DbErr> for OrderError {
    fn from(e: sea_orm::DbErr) -> Self {
        Error::Db(e).into()
    }
}

/// Attributes an error to line `i`.
fn at(i: usize) -> impl Fn(Error) -> OrderError {
    move |error| OrderError {
        line: Some(i),
        error,
    }
}

/// Filters of the order list.
#[derive(Clone, Debug, Default)]
pub struct OrderFilter {
    /// Only in this state.
    pub state: Option<OrderState>,
    /// Only this customer's.
    pub customer_id: Option<CustomerId>,
    /// Changed at or after.
    pub updated_since: Option<DateTime<Utc>>,
}

/// Orders the actor reaches.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    filter: OrderFilter,
    page: PageRequest,
) -> Result<Page<order::Model>> {
    let grant = actor.principal.authorize(Permission::ReadOrders)?;
    let mut q = order::Entity::find().filter(grant.reach.condition(
        Some(order::Column::ResellerId),
        None,
        None,
    ));
    if let Some(s) = filter.state {
        q = q.filter(order::Column::State.eq(s.as_str()));
    }
    if let Some(c) = filter.customer_id {
        q = q.filter(order::Column::CustomerId.eq(c));
    }
    if let Some(since) = filter.updated_since {
        q = q.filter(order::Column::UpdatedAt.gte(since));
    }
    page::fetch(db, q, order::Column::Id, page).await
}

/// One order, if reached.
pub async fn get(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: OrderId,
) -> Result<Option<order::Model>> {
    let grant = actor.principal.authorize(Permission::ReadOrders)?;
    Ok(order::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|o| grant.reach.reseller(Some(o.reseller_id))))
}

/// An order's lines, in order. The caller has read the order.
pub async fn lines(db: &impl ConnectionTrait, order_id: OrderId) -> Result<Vec<order_line::Model>> {
    lines_of(db, &[order_id]).await
}

/// The lines of `order_ids`, by order, in one statement. The caller has
/// read the orders.
pub async fn lines_of(
    db: &impl ConnectionTrait,
    order_ids: &[OrderId],
) -> Result<Vec<order_line::Model>> {
    Ok(order_line::Entity::find()
        .filter(order_line::Column::OrderId.is_in(order_ids.iter().copied()))
        .order_by_asc(order_line::Column::OrderId)
        .order_by_asc(order_line::Column::Position)
        .all(db)
        .await?)
}

/// Refuses a quota change while an unfinished order changes the tenant's plan.
/// Changes a tenant's quota (`updateTenantQuota`), unless an unfinished
/// order is changing its plan.
pub async fn update_tenant_quota(
    db: &sea_orm::DatabaseConnection,
    actor: &crate::auth::Actor,
    id: TenantId,
    quota: crate::tenancy::QuotaInput,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<crate::entity::tenant::Model> {
    crate::tenancy::tenants::update_quota(db, actor, id, quota, &PlanChanges, now).await
}

/// Refuses a change to a tenant whose plan an unfinished order is changing.
pub struct PlanChanges;

impl crate::tenancy::tenants::TenantGuard for PlanChanges {
    async fn check(&self, db: &impl ConnectionTrait, tenant_id: TenantId) -> Result<()> {
        ensure_no_plan_change_in_progress(db, tenant_id).await
    }
}

async fn ensure_no_plan_change_in_progress(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
) -> Result<()> {
    ensure_no_order_in_progress(
        db,
        Target::Tenant(tenant_id),
        "this tenant's plan",
        "tenantId",
    )
    .await
}

/// What an order line changes: a tenant, or an app install.
#[derive(Clone, Copy, Debug)]
enum Target {
    Tenant(TenantId),
    Install(AppInstallId),
}

impl Target {
    /// The order line's column that names it.
    fn column(self) -> order_line::Column {
        match self {
            Target::Tenant(_) => order_line::Column::TenantId,
            Target::Install(_) => order_line::Column::AppInstallId,
        }
    }

    /// The value of that column.
    fn value(self) -> sea_orm::Value {
        match self {
            Target::Tenant(id) => id.into(),
            Target::Install(id) => id.into(),
        }
    }
}

/// Refuses a change to an object that an unfinished order is changing.
async fn ensure_no_order_in_progress(
    db: &impl ConnectionTrait,
    target: Target,
    what: &str,
    field: &'static str,
) -> Result<()> {
    let busy = order_line::Entity::find()
        .filter(target.column().eq(target.value()))
        .filter(order_line::Column::State.is_in([
            OrderState::Pending.as_str(),
            OrderState::Provisioning.as_str(),
        ]))
        .filter(order_line::Column::Kind.is_in(match target {
            Target::Tenant(_) => {
                vec![LineKind::PlanChange.as_str(), LineKind::NewTenant.as_str()]
            }
            Target::Install(_) => vec![
                LineKind::AppInstall.as_str(),
                LineKind::AppUpgrade.as_str(),
                LineKind::AppUninstall.as_str(),
            ],
        }))
        .one(db)
        .await?;
    match busy {
        Some(line) => Err(Error::Conflict {
            field,
            code: "ORDER_IN_PROGRESS",
            message: format!(
                "{what} is being changed by order {} (still {}); wait for it or cancel it",
                line.order_id, line.state
            ),
        }),
        None => Ok(()),
    }
}
