//! Orders and their lines.

use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use coplane_domain::entity::{order, order_line};
use coplane_domain::ids::OrderId;
use coplane_domain::orders;

use crate::common::global_id;
use crate::loaders::{children, children_of};

/// An order's (or a line's) progress.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(rename_items = "snake_case", remote = "orders::OrderState")]
pub enum OrderState {
    /// Placed; the worker has not started it.
    Pending,
    /// Being provisioned.
    Provisioning,
    /// Done.
    Fulfilled,
    /// A line failed; `retryOrder` tries again.
    Failed,
    /// Cancelled while pending; its changes were undone.
    Cancelled,
}

impl OrderState {
    pub(super) fn is_settled(self) -> bool {
        matches!(self, Self::Fulfilled | Self::Failed | Self::Cancelled)
    }
}

/// What a line does.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(rename_items = "snake_case", remote = "orders::LineKind")]
pub enum OrderLineKind {
    /// A new tenant on a plan.
    NewTenant,
    /// A tenant moves to another plan.
    PlanChange,
    /// An app installed.
    AppInstall,
    /// An install moved to another version.
    AppUpgrade,
    /// An install removed.
    AppUninstall,
}

/// A storefront order.
pub struct Order(pub order::Model);

#[Object]
impl Order {
    /// Global id.
    pub async fn id(&self) -> ID {
        global_id("Order", self.0.id)
    }
    /// The buying customer.
    async fn customer_id(&self) -> ID {
        global_id("Customer", self.0.customer_id)
    }
    /// The selling reseller.
    async fn reseller_id(&self) -> ID {
        global_id("Reseller", self.0.reseller_id)
    }
    /// Progress.
    async fn state(&self) -> OrderState {
        self.0.state.into()
    }
    /// Why it failed.
    async fn failure_reason(&self) -> Option<&str> {
        self.0.failure_reason.as_deref()
    }
    /// The storefront's idempotency key.
    async fn idempotency_key(&self) -> Option<&str> {
        self.0.idempotency_key.as_deref()
    }
    /// Who placed it.
    async fn placed_by(&self) -> &str {
        &self.0.placed_by
    }
    /// Its lines, in order.
    #[graphql(complexity = "50 * child_complexity")]
    async fn lines(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<OrderLine>> {
        Ok(children_of::<LinesOf>(ctx, self.0.id)
            .await?
            .iter()
            .cloned()
            .map(OrderLine)
            .collect())
    }
    /// Placed.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// One line of an order.
pub struct OrderLine(pub order_line::Model);

#[Object]
impl OrderLine {
    /// 0-based place in the order.
    async fn position(&self) -> i32 {
        self.0.position
    }
    /// What it does.
    async fn kind(&self) -> OrderLineKind {
        self.0.kind.into()
    }
    /// Progress.
    async fn state(&self) -> OrderState {
        self.0.state.into()
    }
    /// Why it failed.
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    /// The tenant it concerns.
    async fn tenant_id(&self) -> Option<ID> {
        self.0.tenant_id.map(|t| global_id("Tenant", t))
    }
    /// The plan it sets.
    async fn plan_id(&self) -> Option<ID> {
        self.0.plan_id.map(|p| global_id("Plan", p))
    }
    /// The version it installs or upgrades to.
    async fn app_version_id(&self) -> Option<ID> {
        self.0.app_version_id.map(|v| global_id("AppVersion", v))
    }
    /// The install it concerns.
    async fn app_install_id(&self) -> Option<ID> {
        self.0.app_install_id.map(|i| global_id("AppInstall", i))
    }
}

crate::common::payload! {
    /// An order mutation's result.
    OrderPayload {
        /// The order, unless there were user errors.
        order: Order,
        /// What was wrong; nothing was changed.
        user_errors,
    }
}

/// `cancelOrder` and `retryOrder` input.
#[derive(InputObject)]
pub struct OrderIdInput {
    /// The order.
    pub order_id: ID,
}

children! {
    /// Orders' lines, in order.
    LinesOf: OrderId => order_line::Model, by order_id, |db, _, ids| orders::lines_of(db, ids)
}
