//! Usage events by metric and time: a close integrates each level metric
//! (and reads each `max`, `latest` and `unique_count` metric) over the
//! period from its own events only, instead of scanning every event of the
//! period once per such metric.

use sea_orm_migration::prelude::*;

use crate::dsl::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        index(m, "usage_events", &["metric_code", "occurred_at"], false).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ix_usage_events_metric_code_occurred_at")
                .table("usage_events")
                .to_owned(),
        )
        .await
    }
}
