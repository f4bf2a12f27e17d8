//! App installs: their footprint in a tenant's quota, and their lifecycle
//! beyond an order (a rollback to the previous version, values changed).

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, Set, Statement,
};
use serde_json::json;

use super::{Target, ensure_no_order_in_progress};
use crate::audit::Change;
use crate::auth::{Actor, Grant, Permission};
use crate::catalog::{InstallValues, Recipe, RecipeError};
pub use crate::entity::app_install::InstallState;
use crate::entity::{app, app_install, app_version, tenant};
use crate::error::{Error, Result};
use crate::ids::{AppInstallId, AppVersionId, TenantId};
use crate::tenancy::jobs::SyncAppInstall;
use crate::tenancy::{DIMENSIONS, Platform, Quota, resellers};
use crate::usecase::Mutation;

impl InstallState {
    /// Whether an install in this state holds its share of the tenant's quota.
    pub fn is_live(self) -> bool {
        !matches!(self, InstallState::Uninstalling | InstallState::Uninstalled)
    }
}

/// A live install as the quota sees it.
#[derive(Clone, Debug)]
pub struct LiveInstall {
    /// The install.
    pub id: AppInstallId,
    /// Its app's slug.
    pub app_slug: String,
    /// What it takes from the quota.
    pub footprint: Quota,
}

fn recipe_of(version: &app_version::Model) -> Result<Recipe> {
    let value: serde_json::Value = serde_json::from_str(&version.recipe)
        .map_err(|e| Error::Db(sea_orm::DbErr::Custom(e.to_string())))?;
    Recipe::parse(&value).map_err(|e| Error::Db(sea_orm::DbErr::Custom(e.message)))
}

/// A version with its app and parsed recipe.
pub async fn load_version(
    db: &impl ConnectionTrait,
    id: AppVersionId,
) -> Result<Option<(app_version::Model, app::Model, Recipe)>> {
    let Some(version) = app_version::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    let app = app::Entity::find_by_id(version.app_id)
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("appVersionId", "app"))?;
    let recipe = recipe_of(&version)?;
    Ok(Some((version, app, recipe)))
}

/// A tenant's live installs with their footprints.
pub async fn live(db: &impl ConnectionTrait, tenant_id: TenantId) -> Result<Vec<LiveInstall>> {
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT i.id, a.slug, v.recipe FROM app_installs i \
             JOIN app_versions v ON v.id = i.app_version_id JOIN apps a ON a.id = i.app_id \
             WHERE i.tenant_id = $1 AND i.state NOT IN ('uninstalling', 'uninstalled')",
            [tenant_id.into()],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            let recipe: String = r.try_get("", "recipe")?;
            let value: serde_json::Value = serde_json::from_str(&recipe)
                .map_err(|e| Error::Db(sea_orm::DbErr::Custom(e.to_string())))?;
            let recipe =
                Recipe::parse(&value).map_err(|e| Error::Db(sea_orm::DbErr::Custom(e.message)))?;
            Ok(LiveInstall {
                id: r.try_get("", "id")?,
                app_slug: r.try_get("", "slug")?,
                footprint: recipe.footprint(),
            })
        })
        .collect()
}

/// The host an install of `app` in `tenant` would be reached at, checked:
/// a customer's own host may not be a name under the co-op's app domain
/// (`HOST_RESERVED`: those are the default hosts, given by the co-op), and
/// no live install of another tenant may serve it, whether its host was
/// typed or derived (`HOST_TAKEN`). A tenant's own installs may share a
/// host. `None` for an app not reachable from outside.
///
/// On PostgreSQL the check holds a transaction lock on the host, so two
/// tenants claiming one host at once are decided one after the other
/// (SQLite has one writer at a time anyway).
pub async fn claim_host(
    db: &impl ConnectionTrait,
    platform: &Platform,
    recipe: &Recipe,
    values: &InstallValues,
    (app, tenant_slug): (&str, &str),
    tenant_id: TenantId,
) -> Result<Option<String>> {
    if let Some(host) = &values.host {
        let domain = platform.app_domain.as_str();
        if crate::catalog::values::is_under(host, domain) {
            return Err(Error::invalid(
                "values",
                "HOST_RESERVED",
                format!(
                    "names under `{domain}` are the co-op's default hosts; use a domain of your own"
                ),
            ));
        }
    }
    let Some(host) = values.effective_host(recipe, app, tenant_slug, &platform.app_domain) else {
        return Ok(None);
    };
    crate::catalog::brand::lock_host(db, &host).await?;
    // A storefront's host serves that storefront, never an install.
    if crate::catalog::brand::reseller_by_host(db, &host)
        .await?
        .is_some()
    {
        return Err(host_taken(&host));
    }
    let taken = app_install::Entity::find()
        .filter(app_install::Column::IngressHost.eq(host.as_str()))
        .filter(app_install::Column::TenantId.ne(tenant_id))
        .filter(app_install::Column::State.is_not_in(["uninstalling", "uninstalled"]))
        .one(db)
        .await?
        .is_some();
    if taken {
        return Err(host_taken(&host));
    }
    Ok(Some(host))
}

/// Refuses a version change that would move an install to another host:
/// the host it serves stays claimed while the change is pending and after
/// it is undone, so a version that derives another host is installed anew.
pub fn ensure_same_host(
    install: &app_install::Model,
    host: &Option<String>,
    field: &'static str,
) -> Result<()> {
    if *host != install.ingress_host {
        return Err(Error::invalid(
            field,
            "HOST_CHANGES",
            format!(
                "this version serves {} where the install serves {}; install it anew instead",
                host.as_deref().unwrap_or("no host"),
                install.ingress_host.as_deref().unwrap_or("no host")
            ),
        ));
    }
    Ok(())
}

/// The conflict of a host another tenant's live install serves.
pub fn host_taken(host: &str) -> Error {
    Error::Conflict {
        field: "values",
        code: "HOST_TAKEN",
        message: format!("the host `{host}` is served by another tenant's install"),
    }
}

/// Fills in the host of live installs that have none recorded (made before
/// hosts were recorded), under `platform`'s app domain. Run at start.
pub async fn record_missing_hosts(db: &DatabaseConnection, platform: &Platform) -> Result<usize> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT i.id, i.values_json, v.recipe, a.slug AS app, t.slug AS tenant \
             FROM app_installs i JOIN app_versions v ON v.id = i.app_version_id \
             JOIN apps a ON a.id = i.app_id JOIN tenants t ON t.id = i.tenant_id \
             WHERE i.ingress_host IS NULL AND i.state NOT IN ('uninstalling', 'uninstalled')",
        ))
        .await?;
    let mut recorded = 0;
    for r in rows {
        let id: AppInstallId = r.try_get("", "id")?;
        let recipe: Recipe = serde_json::from_str(&r.try_get::<String>("", "recipe")?)
            .map_err(|e| Error::Db(sea_orm::DbErr::Custom(e.to_string())))?;
        let values: InstallValues =
            serde_json::from_str(&r.try_get::<String>("", "values_json")?).unwrap_or_default();
        let app: String = r.try_get("", "app")?;
        let tenant: String = r.try_get("", "tenant")?;
        let Some(host) = values.effective_host(&recipe, &app, &tenant, &platform.app_domain) else {
            continue;
        };
        app_install::Entity::update_many()
            .col_expr(
                app_install::Column::IngressHost,
                sea_orm::sea_query::Expr::value(host),
            )
            .filter(app_install::Column::Id.eq(id))
            .exec(db)
            .await?;
        recorded += 1;
    }
    Ok(recorded)
}

/// Refuses, with the figures, installs that exceed a tenant's quota.
pub fn check_fits(slug: &str, quota: &Quota, installs: &[LiveInstall]) -> Result<()> {
    let mut used = [0i128; 5];
    for i in installs {
        for (u, f) in used.iter_mut().zip(i.footprint.values()) {
            *u += i128::from(f);
        }
    }
    let over: Vec<String> = DIMENSIONS
        .iter()
        .zip(used.iter().zip(quota.values()))
        .filter(|(_, (u, q))| **u > i128::from(*q))
        .map(|(name, (u, q))| format!("{name}: {u} needed > {q} quota"))
        .collect();
    Error::unless_within(
        "lines",
        &format!("tenant `{slug}`: its installs would exceed its quota"),
        &over,
    )
}

/// One install, if its tenant is reached.
pub async fn get(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: AppInstallId,
) -> Result<Option<app_install::Model>> {
    let grant = actor.principal.authorize(Permission::ReadTenants)?;
    Ok(app_install::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|i| grant.reach.tenant(i.tenant_id, i.reseller_id)))
}

/// The installs (uninstalled ones too) of the reached ones of `tenant_ids`,
/// oldest first, in one statement.
pub async fn of_tenants(
    db: &impl ConnectionTrait,
    actor: &Actor,
    tenant_ids: &[TenantId],
) -> Result<Vec<app_install::Model>> {
    let grant = actor.principal.authorize(Permission::ReadTenants)?;
    Ok(app_install::Entity::find()
        .filter(app_install::Column::TenantId.is_in(tenant_ids.iter().copied()))
        .order_by_asc(app_install::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .filter(|i| grant.reach.tenant(i.tenant_id, i.reseller_id))
        .collect())
}

/// The versions of the install's app published after the installed one.
pub async fn available_upgrades(
    db: &impl ConnectionTrait,
    install: &app_install::Model,
) -> Result<Vec<app_version::Model>> {
    let Some(current) = app_version::Entity::find_by_id(install.app_version_id)
        .one(db)
        .await?
    else {
        return Ok(Vec::new());
    };
    Ok(app_version::Entity::find()
        .filter(app_version::Column::AppId.eq(install.app_id))
        .filter(app_version::Column::Id.gt(current.id))
        .order_by_asc(app_version::Column::Id)
        .all(db)
        .await?)
}

/// Opens a transaction on an install the actor may manage, with the pool
/// of its tenant locked (its reseller's row, or the tenant's own).
async fn begin_managed<'a>(
    db: &DatabaseConnection,
    actor: &'a Actor,
    grant: &'a Grant,
    operation: &'static str,
    id: AppInstallId,
    now: DateTime<Utc>,
) -> Result<(Mutation<'a>, app_install::Model, tenant::Model)> {
    let txn = Mutation::begin(db, actor, grant, operation, now).await?;
    let found = app_install::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .filter(|i| grant.reach.tenant(i.tenant_id, i.reseller_id))
        .ok_or_else(|| Error::not_found("installId", "app install"))?;
    if let Some(r) = found.reseller_id {
        resellers::lock(&txn, r).await?;
    }
    let mut q = tenant::Entity::find_by_id(found.tenant_id);
    if crate::db::is_postgres(&txn) {
        q = sea_orm::QuerySelect::lock_exclusive(q);
    }
    let tenant = q
        .one(&txn)
        .await?
        .ok_or_else(|| Error::not_found("installId", "tenant"))?;
    // Read again under the lock.
    let install = app_install::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| Error::not_found("installId", "app install"))?;
    if !install.state.is_live() {
        return Err(Error::invalid(
            "installId",
            "NOT_INSTALLED",
            format!("the install is {}", install.state),
        ));
    }
    ensure_no_order_in_progress(&txn, Target::Install(id), "this install", "installId").await?;
    Ok((txn, install, tenant))
}

fn values_error(problems: Vec<RecipeError>) -> Error {
    Error::Invalid {
        field: "values",
        code: problems[0].code,
        message: problems
            .iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// Rolls an install back to the version it had before its last upgrade (as
/// Helm and abra do); rolling back again returns to where it was.
pub async fn rollback(
    db: &DatabaseConnection,
    actor: &Actor,
    platform: &Platform,
    id: AppInstallId,
    now: DateTime<Utc>,
) -> Result<app_install::Model> {
    let grant = actor.principal.authorize(Permission::ManageInstalls)?;
    let (txn, install, tenant) =
        begin_managed(db, actor, &grant, "rollbackAppInstall", id, now).await?;
    let Some(previous) = install.previous_version_id else {
        return Err(Error::invalid(
            "installId",
            "NO_PREVIOUS_VERSION",
            "the install has not been upgraded, so there is nothing to roll back to",
        ));
    };
    let (version, app, recipe) = load_version(&txn, previous)
        .await?
        .ok_or_else(|| Error::not_found("installId", "previous version"))?;
    let values: serde_json::Value = serde_json::from_str(&install.values_json).unwrap_or_default();
    let checked = InstallValues::check(&values, &recipe).map_err(|p| {
        Error::invalid(
            "installId",
            "VALUES_DO_NOT_FIT",
            format!(
                "the install's values do not fit version {}: {}",
                version.version,
                values_error(p)
            ),
        )
    })?;
    let mut live = live(&txn, tenant.id).await?;
    if let Some(l) = live.iter_mut().find(|l| l.id == id) {
        l.footprint = recipe.footprint();
    }
    check_fits(&tenant.slug, &tenant.quota(), &live).map_err(|e| match e {
        Error::QuotaExceeded { message, .. } => Error::QuotaExceeded {
            field: "installId",
            message,
        },
        e => e,
    })?;
    let names = (app.slug.as_str(), tenant.slug.as_str());
    let host = claim_host(&txn, platform, &recipe, &checked, names, tenant.id).await?;
    ensure_same_host(&install, &host, "installId")?;
    let from = install.app_version_id;
    let mut active = install.into_active_model();
    active.app_version_id = Set(previous);
    active.previous_version_id = Set(Some(from));
    roll_out(txn, active, json!({ "from": from, "to": previous }), now).await
}

/// Ends a caller's change to an install: it rolls out again (its sync is
/// enqueued) and the change is committed with `details` in the audit.
async fn roll_out(
    txn: Mutation<'_>,
    mut active: app_install::ActiveModel,
    details: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<app_install::Model> {
    active.state = Set(InstallState::Installing);
    active.status_message = Set(None);
    active.updated_at = Set(now);
    let model = active.update(&txn).await?;
    txn.enqueue(&SyncAppInstall {
        install_id: model.id,
    })
    .await?;
    let change = Change {
        object_type: "AppInstall",
        object_id: model.id.into(),
        reseller_id: model.reseller_id,
        details,
    };
    txn.commit(change).await?;
    Ok(model)
}

/// Replaces an install's values, checked against its recipe.
pub async fn set_values(
    db: &DatabaseConnection,
    actor: &Actor,
    platform: &Platform,
    id: AppInstallId,
    values: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<app_install::Model> {
    let grant = actor.principal.authorize(Permission::ManageInstalls)?;
    let (txn, install, tenant) =
        begin_managed(db, actor, &grant, "setAppInstallValues", id, now).await?;
    let (_, app, recipe) = load_version(&txn, install.app_version_id)
        .await?
        .ok_or_else(|| Error::not_found("installId", "version"))?;
    let values = InstallValues::check(values, &recipe).map_err(values_error)?;
    let names = (app.slug.as_str(), tenant.slug.as_str());
    let host = claim_host(&txn, platform, &recipe, &values, names, tenant.id).await?;
    let json = serde_json::to_string(&values).unwrap_or_else(|_| "{}".into());
    if json == install.values_json {
        txn.unchanged().await?;
        return Ok(install);
    }
    let mut active = install.into_active_model();
    active.values_json = Set(json);
    active.ingress_host = Set(host);
    // Values are the customer's settings, not secrets (secrets are generated).
    roll_out(txn, active, json!({ "values": values }), now).await
}

/// What the cluster said about an install, as the sync job saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observed {
    /// The current spec is rolled out and available.
    Ready,
    /// Not (yet) ready, with the cluster's word.
    Progressing(String),
    /// It cannot become ready as it is (an invalid recipe).
    Broken(String),
    /// Its resource is gone.
    Removed,
}

/// What a sync applied: an observation counts only while the install is
/// still at this version with these values.
#[derive(Clone, Debug)]
pub struct Applied {
    /// The version applied.
    pub version_id: AppVersionId,
    /// The values applied.
    pub values_json: String,
}

/// Records what the cluster reported for an install, as applied; returns
/// whether its state changed (orders waiting on it are told).
pub async fn observe(
    db: &impl ConnectionTrait,
    id: AppInstallId,
    applied: &Applied,
    observed: Observed,
    now: DateTime<Utc>,
) -> Result<bool> {
    let (to, from, message): (InstallState, &[&str], Option<String>) = match observed {
        Observed::Ready => (InstallState::Ready, &["installing", "failed"], None),
        Observed::Progressing(m) => {
            // Only the message: a rollout in progress is not a change of state.
            app_install::Entity::update_many()
                .col_expr(
                    app_install::Column::StatusMessage,
                    sea_orm::sea_query::Expr::value(Some(m)),
                )
                .filter(app_install::Column::Id.eq(id))
                .filter(app_install::Column::State.is_in(["installing", "uninstalling"]))
                .exec(db)
                .await?;
            return Ok(false);
        }
        Observed::Broken(m) => (InstallState::Failed, &["installing"], Some(m)),
        Observed::Removed => (InstallState::Uninstalled, &["uninstalling"], None),
    };
    let r = app_install::Entity::update_many()
        .col_expr(
            app_install::Column::State,
            sea_orm::sea_query::Expr::value(to.as_str()),
        )
        .col_expr(
            app_install::Column::StatusMessage,
            sea_orm::sea_query::Expr::value(message.clone()),
        )
        .col_expr(
            app_install::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(app_install::Column::Id.eq(id))
        .filter(app_install::Column::State.is_in(from.iter().copied()))
        .filter(app_install::Column::AppVersionId.eq(applied.version_id))
        .filter(app_install::Column::ValuesJson.eq(applied.values_json.as_str()))
        .exec(db)
        .await?;
    let changed = r.rows_affected == 1;
    if changed {
        super::install_changed(db, id, now).await?;
    }
    Ok(changed)
}
