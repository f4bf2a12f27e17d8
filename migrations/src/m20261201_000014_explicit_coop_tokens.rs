//! Whether an API token reaches every reseller's world is recorded, never
//! read from a missing reseller. Tokens a steward made without a reseller
//! before this (when that meant co-op wide) are recorded as co-op wide, so
//! they keep the reach they were made with; revoke one to end it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("api_tokens")
                .add_column(boolean("coop_wide").default(false))
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared("UPDATE api_tokens SET coop_wide = TRUE WHERE reseller_id IS NULL")
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("api_tokens")
                .drop_column("coop_wide")
                .to_owned(),
        )
        .await
    }
}
