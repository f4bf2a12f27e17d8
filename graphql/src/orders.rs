//! Storefront orders and the app installs they make.

use std::sync::Arc;

use coplane_domain::Clock;

use async_graphql::{
    Context, Enum, ID, InputObject, Object, OneofObject, SimpleObject, Subscription,
};
use chrono::{DateTime, Utc};
use coplane_domain::entity::{app_install, order, order_line};
use coplane_domain::orders::{self, installs};
use coplane_domain::tenancy::Platform;
use futures::Stream;
use rust_decimal::Decimal;

use crate::catalog::AppVersion;
use crate::context::{actor, db, now, record_tenant};
use crate::error::{UserError, payload, to_gql, user_error};
use crate::node::{Conn, connection, decode_as, global_id, page_request};
use crate::scalars::Json;
use crate::tenancy::{QuotaInput, Tenant, page_cost};
use crate::watch::{Look, watch};

/// An order's (or a line's) progress.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(rename_items = "snake_case")]
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
    fn parse(s: &str) -> Self {
        match orders::OrderState::parse(s) {
            Some(orders::OrderState::Pending) | None => Self::Pending,
            Some(orders::OrderState::Provisioning) => Self::Provisioning,
            Some(orders::OrderState::Fulfilled) => Self::Fulfilled,
            Some(orders::OrderState::Failed) => Self::Failed,
            Some(orders::OrderState::Cancelled) => Self::Cancelled,
        }
    }

    fn to_domain(self) -> orders::OrderState {
        match self {
            Self::Pending => orders::OrderState::Pending,
            Self::Provisioning => orders::OrderState::Provisioning,
            Self::Fulfilled => orders::OrderState::Fulfilled,
            Self::Failed => orders::OrderState::Failed,
            Self::Cancelled => orders::OrderState::Cancelled,
        }
    }

    fn is_settled(self) -> bool {
        matches!(self, Self::Fulfilled | Self::Failed | Self::Cancelled)
    }
}

/// What a line does.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(rename_items = "snake_case")]
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

/// An install's lifecycle.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(rename_items = "snake_case")]
pub enum AppInstallState {
    /// Ordered; not started.
    Pending,
    /// Being rolled out.
    Installing,
    /// Available.
    Ready,
    /// Not made ready; see `statusMessage`.
    Failed,
    /// Being removed.
    Uninstalling,
    /// Removed.
    Uninstalled,
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
        OrderState::parse(&self.0.state)
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
        let found = orders::lines(db(ctx)?, self.0.id).await.map_err(to_gql)?;
        Ok(found.into_iter().map(OrderLine).collect())
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
        match orders::LineKind::parse(&self.0.kind) {
            Some(orders::LineKind::NewTenant) | None => OrderLineKind::NewTenant,
            Some(orders::LineKind::PlanChange) => OrderLineKind::PlanChange,
            Some(orders::LineKind::AppInstall) => OrderLineKind::AppInstall,
            Some(orders::LineKind::AppUpgrade) => OrderLineKind::AppUpgrade,
            Some(orders::LineKind::AppUninstall) => OrderLineKind::AppUninstall,
        }
    }
    /// Progress.
    async fn state(&self) -> OrderState {
        OrderState::parse(&self.0.state)
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

/// An app installed in a tenant.
pub struct AppInstall(pub app_install::Model);

#[Object]
impl AppInstall {
    /// Global id.
    pub async fn id(&self) -> ID {
        global_id("AppInstall", self.0.id)
    }
    /// The tenant.
    async fn tenant_id(&self) -> ID {
        global_id("Tenant", self.0.tenant_id)
    }
    /// The installed version.
    async fn version(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<AppVersion>> {
        version(ctx, Some(self.0.app_version_id)).await
    }
    /// The version before the last upgrade or rollback (`rollbackAppInstall` returns to it).
    async fn previous_version(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<AppVersion>> {
        version(ctx, self.0.previous_version_id).await
    }
    /// Versions of the app published after the installed one.
    #[graphql(complexity = "20 * child_complexity")]
    async fn available_upgrades(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<AppVersion>> {
        let found = installs::available_upgrades(db(ctx)?, &self.0)
            .await
            .map_err(to_gql)?;
        Ok(found.into_iter().map(AppVersion).collect())
    }
    /// Its values (`host`, `env`).
    async fn values(&self) -> Option<Json<serde_json::Value>> {
        serde_json::from_str(&self.0.values_json).ok().map(Json)
    }
    /// Lifecycle state.
    async fn state(&self) -> AppInstallState {
        match installs::InstallState::parse(&self.0.state) {
            Some(installs::InstallState::Pending) | None => AppInstallState::Pending,
            Some(installs::InstallState::Installing) => AppInstallState::Installing,
            Some(installs::InstallState::Ready) => AppInstallState::Ready,
            Some(installs::InstallState::Failed) => AppInstallState::Failed,
            Some(installs::InstallState::Uninstalling) => AppInstallState::Uninstalling,
            Some(installs::InstallState::Uninstalled) => AppInstallState::Uninstalled,
        }
    }
    /// What the cluster last said.
    async fn status_message(&self) -> Option<&str> {
        self.0.status_message.as_deref()
    }
    /// Created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

async fn version(
    ctx: &Context<'_>,
    id: Option<uuid::Uuid>,
) -> async_graphql::Result<Option<AppVersion>> {
    let Some(id) = id else { return Ok(None) };
    let found = installs::load_version(db(ctx)?, id).await.map_err(to_gql)?;
    Ok(found.map(|(v, _, _)| AppVersion(v)))
}

/// A tenant's installs (shown on `Tenant.appInstalls`).
pub async fn tenant_installs(
    ctx: &Context<'_>,
    tenant: &Tenant,
) -> async_graphql::Result<Vec<AppInstall>> {
    let found = installs::of_tenant(db(ctx)?, actor(ctx)?, tenant.0.id)
        .await
        .map_err(to_gql)?;
    Ok(found.into_iter().map(AppInstall).collect())
}

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
        let page = page_request(first, after.clone())?;
        let customer_id = match customer_id {
            Some(id) => match decode_as(&id, "Customer") {
                Some(u) => Some(u),
                None => return Ok(connection(empty(), false, |m| m.id, Order)),
            },
            None => None,
        };
        let filter = orders::OrderFilter {
            state: state.map(OrderState::to_domain),
            customer_id,
            updated_since,
        };
        let found = orders::list(db(ctx)?, actor(ctx)?, filter, page)
            .await
            .map_err(to_gql)?;
        Ok(connection(found, after.is_some(), |m| m.id, Order))
    }

    /// One order; null outside the caller's reach.
    async fn order(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Order>> {
        let Some(id) = decode_as(&id, "Order") else {
            return Ok(None);
        };
        let found = orders::get(db(ctx)?, actor(ctx)?, id)
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

/// A new tenant on a plan.
#[derive(InputObject)]
pub struct NewTenantLineInput {
    /// Its slug.
    pub slug: String,
    /// Its cluster (the default one when omitted).
    pub cluster: Option<String>,
    /// Its plan.
    pub plan_id: ID,
    /// Its quota, when not the plan's included quota.
    pub quota: Option<QuotaInput>,
}

/// A tenant moved to another plan.
#[derive(InputObject)]
pub struct PlanChangeLineInput {
    /// The tenant.
    pub tenant_id: ID,
    /// The new plan.
    pub plan_id: ID,
    /// The new quota, when not the plan's included quota.
    pub quota: Option<QuotaInput>,
}

/// An app installed in a tenant: an existing one, or one a `newTenant`
/// line earlier in the same order creates.
#[derive(InputObject)]
pub struct AppInstallLineInput {
    /// An existing tenant of the customer.
    pub tenant_id: Option<ID>,
    /// The slug of a `newTenant` line earlier in this order.
    pub new_tenant_slug: Option<String>,
    /// The version.
    pub app_version_id: ID,
    /// Its values (`{ "host": "shop.example.org", "env": { "TITLE": "Shop" } }`).
    pub values: Option<Json<serde_json::Value>>,
}

/// An install moved to another version of its app.
#[derive(InputObject)]
pub struct AppUpgradeLineInput {
    /// The install.
    pub install_id: ID,
    /// The version.
    pub app_version_id: ID,
}

/// An install removed.
#[derive(InputObject)]
pub struct AppUninstallLineInput {
    /// The install.
    pub install_id: ID,
    /// Delete its volumes and generated secrets too (default: keep them).
    #[graphql(default)]
    pub delete_data: bool,
}

/// One line: exactly one of its fields.
#[derive(OneofObject)]
pub enum OrderLineInput {
    /// A new tenant.
    NewTenant(NewTenantLineInput),
    /// A plan change.
    PlanChange(PlanChangeLineInput),
    /// An app install.
    AppInstall(AppInstallLineInput),
    /// An app upgrade.
    AppUpgrade(AppUpgradeLineInput),
    /// An app uninstall.
    AppUninstall(AppUninstallLineInput),
}

/// `placeOrder` input.
#[derive(InputObject)]
pub struct PlaceOrderInput {
    /// The buying customer.
    pub customer_id: ID,
    /// Required: repeating an order with the same key returns the first.
    pub idempotency_key: String,
    /// What it buys.
    pub lines: Vec<OrderLineInput>,
}

/// An order mutation's result.
#[derive(SimpleObject)]
pub struct OrderPayload {
    /// The order, unless there were user errors.
    pub order: Option<Order>,
    /// What was wrong; nothing was changed.
    pub user_errors: Vec<UserError>,
}

/// `cancelOrder` and `retryOrder` input.
#[derive(InputObject)]
pub struct OrderIdInput {
    /// The order.
    pub order_id: ID,
}

/// `rollbackAppInstall` input.
#[derive(InputObject)]
pub struct RollbackAppInstallInput {
    /// The install.
    pub install_id: ID,
}

/// `setAppInstallValues` input.
#[derive(InputObject)]
pub struct SetAppInstallValuesInput {
    /// The install.
    pub install_id: ID,
    /// The new values, replacing the old.
    pub values: Json<serde_json::Value>,
}

/// An install mutation's result.
#[derive(SimpleObject)]
pub struct AppInstallPayload {
    /// The install, unless there were user errors.
    pub app_install: Option<AppInstall>,
    /// What was wrong; nothing was changed.
    pub user_errors: Vec<UserError>,
}

fn quota(q: Option<QuotaInput>) -> Option<[Decimal; 5]> {
    q.map(|q| {
        [
            q.cpu_millis,
            q.memory_bytes,
            q.storage_bytes,
            q.pods,
            q.app_installs,
        ]
    })
}

fn id_of(id: &ID, kind: &str, field: &'static str) -> coplane_domain::Result<uuid::Uuid> {
    decode_as(id, kind).ok_or(coplane_domain::Error::NotFound {
        field,
        entity: match kind {
            "Tenant" => "tenant",
            "Plan" => "plan",
            "AppVersion" => "app version",
            "AppInstall" => "app install",
            _ => "object",
        },
    })
}

fn line(input: OrderLineInput) -> coplane_domain::Result<orders::LineInput> {
    Ok(match input {
        OrderLineInput::NewTenant(l) => orders::LineInput::NewTenant {
            slug: l.slug,
            cluster: l.cluster,
            plan_id: id_of(&l.plan_id, "Plan", "planId")?,
            quota: quota(l.quota),
        },
        OrderLineInput::PlanChange(l) => orders::LineInput::PlanChange {
            tenant_id: id_of(&l.tenant_id, "Tenant", "tenantId")?,
            plan_id: id_of(&l.plan_id, "Plan", "planId")?,
            quota: quota(l.quota),
        },
        OrderLineInput::AppInstall(l) => orders::LineInput::AppInstall {
            tenant: match (l.tenant_id, l.new_tenant_slug) {
                (Some(id), None) => orders::TenantRef::Existing(id_of(&id, "Tenant", "tenantId")?),
                (None, Some(slug)) => orders::TenantRef::New(slug),
                _ => {
                    return Err(coplane_domain::Error::invalid(
                        "tenantId",
                        "INVALID_LINE",
                        "an install names tenantId or newTenantSlug, not both",
                    ));
                }
            },
            app_version_id: id_of(&l.app_version_id, "AppVersion", "appVersionId")?,
            values: l.values.map_or(serde_json::Value::Null, |v| v.0),
        },
        OrderLineInput::AppUpgrade(l) => orders::LineInput::AppUpgrade {
            install_id: id_of(&l.install_id, "AppInstall", "installId")?,
            app_version_id: id_of(&l.app_version_id, "AppVersion", "appVersionId")?,
        },
        OrderLineInput::AppUninstall(l) => orders::LineInput::AppUninstall {
            install_id: id_of(&l.install_id, "AppInstall", "installId")?,
            delete_data: l.delete_data,
        },
    })
}

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
        let db = db(ctx)?.clone();
        let actor = actor(ctx)?.clone();
        let clock = ctx.data::<Arc<dyn Clock>>()?.clone();
        let id = decode_as(&id, "Order");
        // Read once now, so a caller without the permission gets the error.
        if let Some(id) = id {
            orders::get(&db, &actor, id).await.map_err(to_gql)?;
        }
        Ok(watch(db, actor, clock, move |db, actor| async move {
            let o = orders::get(&db, &actor, id?).await.ok()??;
            // What a subscriber sees: the order's and its lines' states.
            let lines = orders::lines(&db, o.id).await.unwrap_or_default();
            if let Some(t) = lines.iter().find_map(|l| l.tenant_id) {
                record_tenant(t);
            }
            Some(Look {
                fingerprint: fingerprint(&o, &lines),
                last: OrderState::parse(&o.state).is_settled(),
                item: Order(o),
            })
        }))
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
        let db = db(ctx)?.clone();
        let actor = actor(ctx)?.clone();
        let clock = ctx.data::<Arc<dyn Clock>>()?.clone();
        let id = decode_as(&id, "Tenant");
        if let Some(id) = id {
            coplane_domain::tenancy::tenants::get(&db, &actor, id)
                .await
                .map_err(to_gql)?;
        }
        Ok(watch(db, actor, clock, move |db, actor| async move {
            let t = coplane_domain::tenancy::tenants::get(&db, &actor, id?)
                .await
                .ok()??;
            record_tenant(t.id);
            Some(Look {
                fingerprint: format!(
                    "{}|{}|{:?}|{:?}|{:?}",
                    t.state,
                    t.updated_at,
                    t.quota(),
                    t.plan_id,
                    t.suspension_reason
                ),
                last: t.state == "terminated",
                item: Tenant(t),
            })
        }))
    }
}

fn fingerprint(o: &order::Model, lines: &[order_line::Model]) -> String {
    let mut out = format!("{}|{}|{:?}", o.state, o.updated_at, o.failure_reason);
    for l in lines {
        out.push_str(&format!("|{}:{:?}", l.state, l.reason));
    }
    out
}

/// `AppInstall` and `Order` by global id, for `node(id:)`.
pub async fn node(
    ctx: &Context<'_>,
    kind: &str,
    id: uuid::Uuid,
) -> coplane_domain::Result<Option<crate::node::Node>> {
    let (db, actor) = (
        db(ctx).map_err(|_| coplane_domain::Error::Unauthenticated)?,
        actor(ctx).map_err(|_| coplane_domain::Error::Unauthenticated)?,
    );
    Ok(match kind {
        "Order" => orders::get(db, actor, id)
            .await?
            .map(|o| crate::node::Node::Order(Order(o))),
        "AppInstall" => installs::get(db, actor, id)
            .await?
            .map(|i| crate::node::Node::AppInstall(AppInstall(i))),
        _ => None,
    })
}
