//! A reseller's storefront brand (colours, terms) and the host names its
//! storefront answers on; a host belongs to one reseller.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::dsl::{Table, create, drop_all, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        create(
            m,
            Table::new("storefront_brands")
                .fk("reseller_id", "resellers")
                .col(string_null("primary_color"))
                .col(string_null("accent_color"))
                .col(string_null("terms_url"))
                .col(integer("version"))
                .timestamps(),
        )
        .await?;
        index(m, "storefront_brands", &["reseller_id"], true).await?;
        create(
            m,
            Table::new("storefront_domains")
                .fk("reseller_id", "resellers")
                .col(string("host"))
                .ts("created_at"),
        )
        .await?;
        index(m, "storefront_domains", &["host"], true).await?;
        index(m, "storefront_domains", &["reseller_id"], false).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop_all(m, &["storefront_domains", "storefront_brands"]).await
    }
}
