//! `order_lines`.

use sea_orm::entity::prelude::*;

/// One line of an order.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_lines")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The order.
    pub order_id: Uuid,
    /// The order's reseller.
    pub reseller_id: Uuid,
    /// 0-based place in the order.
    pub position: i32,
    /// `new_tenant` | `plan_change` | `app_install` | `app_upgrade` | `app_uninstall`.
    pub kind: String,
    /// The tenant it concerns.
    pub tenant_id: Option<Uuid>,
    /// The plan it sets.
    pub plan_id: Option<Uuid>,
    /// The version it installs or upgrades to.
    pub app_version_id: Option<Uuid>,
    /// The install it concerns.
    pub app_install_id: Option<Uuid>,
    /// JSON: the line as ordered, and what it replaced (for cancelling).
    pub request: String,
    /// `pending` | `provisioning` | `fulfilled` | `failed` | `cancelled`.
    pub state: String,
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
