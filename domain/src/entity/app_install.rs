//! `app_installs`.

use sea_orm::entity::prelude::*;

use crate::ids::{AppId, AppInstallId, AppVersionId, ResellerId, TenantId};

/// An app installed in a tenant.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "app_installs")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: AppInstallId,
    /// The tenant.
    pub tenant_id: TenantId,
    /// Whose world it is in.
    pub reseller_id: Option<ResellerId>,
    /// The app.
    pub app_id: AppId,
    /// The installed version.
    pub app_version_id: AppVersionId,
    /// The version before the last upgrade (for rollback).
    pub previous_version_id: Option<AppVersionId>,
    /// JSON values.
    pub values_json: String,
    pub state: InstallState,
    /// Why, when failed.
    pub status_message: Option<String>,
    /// Whether uninstalling deletes its volumes and generated secrets.
    pub delete_data: bool,
    /// The host it is reached at (explicit or derived), unique among live
    /// installs; `None` for an app not reachable from outside.
    pub ingress_host: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

super::stored_enum!(
    /// An install's lifecycle.
    InstallState {
        /// Ordered; the worker has not started it.
        Pending = "pending",
        /// Being rolled out (first install, upgrade, rollback, new values).
        Installing = "installing",
        /// Its workload is available.
        Ready = "ready",
        /// The cluster refused or never made it ready; see its message.
        Failed = "failed",
        /// Being removed.
        Uninstalling = "uninstalling",
        /// Removed.
        Uninstalled = "uninstalled",
    }
);
