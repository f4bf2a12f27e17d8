//! The app catalog, billable metrics, plans and their charges, reseller price lists.

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
            Table::new("apps")
                .col(string_uniq("slug"))
                .col(string("name"))
                .col(text("description"))
                .timestamps(),
        )
        .await?;
        create(
            m,
            Table::new("app_versions")
                .fk("app_id", "apps")
                // recipeVersion+upstreamVersion, immutable once published.
                .col(string("version"))
                .col(text("recipe")) // JSON
                .ts("published_at")
                .ts("created_at"),
        )
        .await?;
        index(m, "app_versions", &["app_id", "version"], true).await?;

        create(
            m,
            Table::new("billable_metrics")
                .col(string_uniq("code"))
                .col(string("name"))
                // count | sum | max | latest | unique_count | weighted_sum
                .col(string("aggregation"))
                .col(string_null("field_name"))
                .col(string("unit"))
                .timestamps(),
        )
        .await?;

        create(
            m,
            Table::new("plans")
                .col(string_uniq("code"))
                .col(string("name"))
                .col(string("currency"))
                .fixed("base_fee")
                .col(string("billing_interval")) // month | year
                .quota("included")
                .col(text("allowed_apps")) // JSON array of app slugs; empty = all
                .col(boolean("active"))
                .timestamps(),
        )
        .await?;
        create(
            m,
            Table::new("plan_charges")
                .fk("plan_id", "plans")
                .fk("metric_id", "billable_metrics")
                // standard | graduated | volume | package | percentage
                .col(string("charge_model"))
                .col(text("properties")) // JSON, exact decimals as strings
                .fixed("free_units")
                .col(integer("price_version"))
                .timestamps(),
        )
        .await?;
        index(m, "plan_charges", &["plan_id"], false).await?;

        create(
            m,
            Table::new("price_lists")
                .fk("reseller_id", "resellers")
                .fixed_null("markup") // a fraction: 0.25 = 25 % over wholesale
                .col(integer("version"))
                .timestamps(),
        )
        .await?;
        index(m, "price_lists", &["reseller_id"], true).await?;
        create(
            m,
            Table::new("price_list_items")
                .fk("price_list_id", "price_lists")
                .fk("reseller_id", "resellers")
                .fk_null("plan_id", "plans")
                .fk_null("app_id", "apps")
                .fixed("retail_price")
                .timestamps(),
        )
        .await?;
        index(m, "price_list_items", &["price_list_id"], false).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop_all(
            m,
            &[
                "price_list_items",
                "price_lists",
                "plan_charges",
                "plans",
                "billable_metrics",
                "app_versions",
                "apps",
            ],
        )
        .await
    }
}
