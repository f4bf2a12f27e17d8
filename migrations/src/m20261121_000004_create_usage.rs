//! Usage events, the input of metering.

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
            Table::new("usage_events")
                .fk("tenant_id", "tenants")
                .fk_null("reseller_id", "resellers")
                .col(string("metric_code"))
                .fixed("quantity")
                .ts("occurred_at")
                .col(string("idempotency_key"))
                .col(text_null("properties")) // JSON
                .ts("received_at"),
        )
        .await?;
        // The same key is counted once per tenant, however often it arrives.
        index(m, "usage_events", &["tenant_id", "idempotency_key"], true).await?;
        index(
            m,
            "usage_events",
            &["tenant_id", "metric_code", "occurred_at"],
            false,
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop_all(m, &["usage_events"]).await
    }
}
