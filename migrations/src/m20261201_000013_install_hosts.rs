//! The host each live install is reached at, explicit or derived, in one
//! column, so a host another tenant serves is found by one indexed lookup
//! whether either host was typed or derived.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::dsl::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("app_installs")
                .add_column(string_null("ingress_host"))
                .to_owned(),
        )
        .await?;
        index(m, "app_installs", &["ingress_host"], false).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ix_app_installs_ingress_host")
                .table("app_installs")
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("app_installs")
                .drop_column("ingress_host")
                .to_owned(),
        )
        .await
    }
}
