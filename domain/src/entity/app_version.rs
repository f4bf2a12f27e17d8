//! `app_versions`.

use sea_orm::entity::prelude::*;

use crate::ids::{AppId, AppVersionId};

/// A published, immutable version of an app's recipe.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "app_versions")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: AppVersionId,
    /// The app.
    pub app_id: AppId,
    /// `recipeVersion+upstreamVersion`.
    pub version: String,
    /// The recipe, JSON.
    pub recipe: String,
    pub published_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
