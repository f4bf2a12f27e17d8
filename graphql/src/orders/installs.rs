//! App installs.

use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use coplane_domain::entity::app_install;
use coplane_domain::ids::TenantId;
use coplane_domain::orders::installs;

use crate::catalog::AppVersion;
use crate::common::global_id;
use crate::context::db;
use crate::error::to_gql;
use crate::loaders::{children, children_of};
use crate::scalars::{Json, JsonValue};
use crate::tenancy::TenantOrderFields;

/// An install's lifecycle.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(rename_items = "snake_case", remote = "installs::InstallState")]
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
        version(ctx, Some(self.0.app_version_id.into())).await
    }
    /// The version before the last upgrade or rollback (`rollbackAppInstall` returns to it).
    async fn previous_version(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<AppVersion>> {
        version(ctx, self.0.previous_version_id.map(Into::into)).await
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
    async fn values(&self) -> Option<JsonValue> {
        serde_json::from_str(&self.0.values_json).ok().map(Json)
    }
    /// Lifecycle state.
    async fn state(&self) -> AppInstallState {
        self.0.state.into()
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
    let found = installs::load_version(db(ctx)?, id.into())
        .await
        .map_err(to_gql)?;
    Ok(found.map(|(v, _, _)| AppVersion(v)))
}

#[Object]
impl TenantOrderFields {
    /// Its app installs (removed ones too), oldest first.
    #[graphql(complexity = "50 * child_complexity")]
    async fn app_installs(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<AppInstall>> {
        Ok(children_of::<InstallsOf>(ctx, self.id.into())
            .await?
            .iter()
            .cloned()
            .map(AppInstall)
            .collect())
    }
}

children! {
    /// Tenants' installs, oldest first.
    InstallsOf: TenantId => app_install::Model, by tenant_id, |db, actor, ids| installs::of_tenants(db, actor, ids)
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
    pub values: JsonValue,
}

crate::common::payload! {
    /// An install mutation's result.
    AppInstallPayload {
        /// The install, unless there were user errors.
        app_install: AppInstall,
        /// What was wrong; nothing was changed.
        user_errors,
    }
}
