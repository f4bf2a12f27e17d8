//! Apps and their published versions.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set, Statement,
};
use serde::Serialize;
use uuid::Uuid;

use super::recipe::{Recipe, check_version};
use crate::audit::Change;
use crate::auth::{Actor, Permission};
use crate::entity::{app, app_version};
use crate::error::{Error, Result};
use crate::ids::AppId;
use crate::input::non_empty;
use crate::page::{self, Page, PageRequest};
use crate::usecase::Mutation;

/// A new app.
#[derive(Clone, Debug, Serialize)]
pub struct NewApp {
    /// DNS label, unique.
    pub slug: String,
    /// Name shown.
    pub name: String,
    /// What it is.
    pub description: String,
}

/// Creates an app (stewards).
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    input: NewApp,
    key: Option<&str>,
    now: DateTime<Utc>,
) -> Result<app::Model> {
    let grant = actor.principal.authorize(Permission::WriteCatalog)?;
    if crate::tenancy::parse_cluster(&input.slug).is_err() {
        return Err(Error::invalid(
            "slug",
            "INVALID_SLUG",
            format!("`{}` is not a DNS label", input.slug),
        ));
    }
    let name = non_empty("name", &input.name, 200)?;
    let mut txn = Mutation::begin(db, actor, &grant, "createApp", now).await?;
    if let Some(id) = txn.claim(key, &input).await? {
        return txn.replay::<app::Entity>(id, |_| true, "app").await;
    }
    let model = app::ActiveModel {
        id: Set(Uuid::now_v7().into()),
        slug: Set(input.slug.clone()),
        name: Set(name),
        description: Set(input.description.trim().to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(Error::conflict_on_unique(
        "slug",
        "SLUG_TAKEN",
        format!("an app `{}` exists", input.slug),
    ))?;
    let change = Change {
        object_type: "App",
        object_id: model.id.into(),
        reseller_id: None,
        details: serde_json::json!({ "slug": model.slug }),
    };
    txn.commit(change).await?;
    Ok(model)
}

/// Why a version was not published: every problem of its recipe at once.
#[derive(Debug)]
pub enum PublishError {
    /// The recipe's problems.
    Recipe(Vec<super::RecipeError>),
    /// Anything else.
    Other(Error),
}

impl From<Error> for PublishError {
    fn from(e: Error) -> Self {
        Self::Other(e)
    }
}

impl From<sea_orm::DbErr> for PublishError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Other(Error::Db(e))
    }
}

/// The largest storage any active plan includes, which bounds a recipe's volumes.
pub async fn max_plan_storage(db: &impl ConnectionTrait) -> Result<Option<i64>> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT CAST(MAX(included_storage_bytes) AS BIGINT) AS max FROM plans WHERE active = TRUE",
        ))
        .await?;
    Ok(match row {
        Some(r) => r.try_get::<Option<i64>>("", "max")?,
        None => None,
    })
}

/// Publishes a version of an app (stewards). The version is
/// `recipeVersion+upstreamVersion`, the recipe is validated whole, and a
/// published version never changes.
pub async fn publish_version(
    db: &DatabaseConnection,
    actor: &Actor,
    app_id: AppId,
    version: &str,
    recipe: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<app_version::Model, PublishError> {
    let grant = actor.principal.authorize(Permission::WriteCatalog)?;
    check_version(version).map_err(|e| PublishError::Recipe(vec![e]))?;
    let parsed = Recipe::parse(recipe).map_err(|e| PublishError::Recipe(vec![e]))?;
    let app = app::Entity::find_by_id(app_id)
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("appId", "app"))?;
    let problems = parsed.validate(max_plan_storage(db).await?);
    if !problems.is_empty() {
        return Err(PublishError::Recipe(problems));
    }
    let canonical = serde_json::to_string(&parsed)
        .map_err(|e| Error::invalid("recipe", "INVALID_RECIPE", e.to_string()))?;
    let txn = Mutation::begin(db, actor, &grant, "publishAppVersion", now).await?;
    let model = app_version::ActiveModel {
        id: Set(Uuid::now_v7().into()),
        app_id: Set(app.id),
        version: Set(version.to_owned()),
        recipe: Set(canonical),
        published_at: Set(now),
        created_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(Error::conflict_on_unique(
        "version",
        "VERSION_EXISTS",
        format!(
            "{} {version} is published already; publish a new version instead",
            app.slug
        ),
    ))?;
    let change = Change {
        object_type: "AppVersion",
        object_id: model.id.into(),
        reseller_id: None,
        details: serde_json::json!({ "app": app.slug, "version": version }),
    };
    txn.commit(change).await?;
    Ok(model)
}

/// Apps, for any authenticated caller.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    page: PageRequest,
) -> Result<Page<app::Model>> {
    actor.principal.authorize(Permission::ReadCatalog)?;
    page::fetch(db, app::Entity::find(), app::Column::Id, page).await
}

/// An app's versions, oldest first.
pub async fn versions(
    db: &impl ConnectionTrait,
    actor: &Actor,
    app_id: AppId,
) -> Result<Vec<app_version::Model>> {
    actor.principal.authorize(Permission::ReadCatalog)?;
    Ok(app_version::Entity::find()
        .filter(app_version::Column::AppId.eq(app_id))
        .order_by_asc(app_version::Column::PublishedAt)
        .order_by_asc(app_version::Column::Id)
        .all(db)
        .await?)
}
