//! A tenant's slug names its namespace, its `Tenant` object and its
//! manifests: unique across the platform, whatever cluster it runs on, so
//! no name derived from one tenant can ever be another's.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};

use crate::dsl::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let backend = m.get_database_backend();
        let dup = db
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT slug FROM tenants GROUP BY slug HAVING COUNT(*) > 1 LIMIT 1",
            ))
            .await?;
        if let Some(row) = dup {
            let slug: String = row.try_get("", "slug")?;
            return Err(DbErr::Migration(format!(
                "tenants on different clusters share the slug `{slug}`; \
                 a slug must be unique across the platform: rename one before upgrading"
            )));
        }
        index(m, "tenants", &["slug"], true).await?;
        index(m, "tenants", &["namespace"], true).await?;
        m.drop_index(
            Index::drop()
                .name("uq_tenants_cluster_slug")
                .table("tenants")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        index(m, "tenants", &["cluster", "slug"], true).await?;
        for name in ["uq_tenants_slug", "uq_tenants_namespace"] {
            m.drop_index(Index::drop().name(name).table("tenants").to_owned())
                .await?;
        }
        Ok(())
    }
}
