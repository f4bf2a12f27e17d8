//! What the dunning ladder needs beyond the first schema: each step's mail
//! (what to send, and when it was sent) and the episode it belongs to.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

async fn add(m: &SchemaManager<'_>, col: &mut ColumnDef) -> Result<(), DbErr> {
    m.alter_table(
        Table::alter()
            .table("dunning_steps")
            .add_column(col)
            .to_owned(),
    )
    .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        add(m, &mut text_null("details")).await?; // JSON: the mail to send
        add(m, &mut timestamp_with_time_zone_null("sent_at")).await?;
        add(m, &mut string_null("episode")).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in ["episode", "sent_at", "details"] {
            m.alter_table(
                Table::alter()
                    .table("dunning_steps")
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
