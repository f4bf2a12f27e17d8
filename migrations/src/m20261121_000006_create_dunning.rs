//! Overdue policies, account standing and the dunning steps taken.

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
            Table::new("overdue_policies")
                // Null: the co-op's policy for resellers; set: a reseller's for its customers.
                .fk_null("reseller_id", "resellers")
                .col(text("steps")) // JSON: the ordered ladder
                .col(integer("version"))
                .timestamps(),
        )
        .await?;
        index(m, "overdue_policies", &["reseller_id"], true).await?;

        create(
            m,
            Table::new("account_standings")
                .col(string("account_kind")) // reseller | customer
                .col(uuid("account_id"))
                .fk_null("reseller_id", "resellers")
                // current | overdue | suspended | terminated
                .col(string("standing"))
                .col(integer_null("last_step"))
                .ts_null("next_step_at")
                .col(text_null("overrides")) // JSON: never auto-suspend, extra grace
                .timestamps(),
        )
        .await?;
        index(
            m,
            "account_standings",
            &["account_kind", "account_id"],
            true,
        )
        .await?;

        create(
            m,
            Table::new("dunning_steps")
                .col(string("account_kind"))
                .col(uuid("account_id"))
                .fk_null("reseller_id", "resellers")
                .fk_null("invoice_id", "invoices")
                .col(integer("step_index"))
                .col(string("action"))
                .col(string("dedup_key"))
                .ts("taken_at"),
        )
        .await?;
        index(m, "dunning_steps", &["dedup_key"], true).await?;
        index(m, "dunning_steps", &["account_kind", "account_id"], false).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop_all(
            m,
            &["dunning_steps", "account_standings", "overdue_policies"],
        )
        .await
    }
}
