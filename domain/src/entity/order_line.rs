//! `order_lines`.

use sea_orm::entity::prelude::*;

use crate::ids::{AppInstallId, AppVersionId, OrderId, OrderLineId, PlanId, ResellerId, TenantId};

/// One line of an order.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_lines")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: OrderLineId,
    /// The order.
    pub order_id: OrderId,
    /// The order's reseller.
    pub reseller_id: ResellerId,
    /// 0-based place in the order.
    pub position: i32,
    pub kind: LineKind,
    /// The tenant it concerns.
    pub tenant_id: Option<TenantId>,
    /// The plan it sets.
    pub plan_id: Option<PlanId>,
    /// The version it installs or upgrades to.
    pub app_version_id: Option<AppVersionId>,
    /// The install it concerns.
    pub app_install_id: Option<AppInstallId>,
    /// JSON: the line as ordered, and what it replaced (for cancelling).
    pub request: String,
    pub state: super::order::OrderState,
    /// Why, when failed.
    pub reason: Option<String>,
    /// Placed.
    pub created_at: DateTimeUtc,
    /// Last changed (a provisioning line's deadline runs from here).
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

super::stored_enum!(
    /// What an order line does.
    LineKind {
        /// A new tenant on a plan.
        NewTenant = "new_tenant",
        /// A tenant moves to another plan.
        PlanChange = "plan_change",
        /// An app installed in a tenant.
        AppInstall = "app_install",
        /// An install moves to another version.
        AppUpgrade = "app_upgrade",
        /// An install removed, with or without its data.
        AppUninstall = "app_uninstall",
    }
);
