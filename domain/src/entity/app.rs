//! `apps` and `app_versions`.

use sea_orm::entity::prelude::*;

use crate::ids::AppId;

/// An app of the catalog.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "apps")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: AppId,
    /// DNS label, unique.
    pub slug: String,
    /// Name shown.
    pub name: String,
    /// What it is.
    pub description: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
