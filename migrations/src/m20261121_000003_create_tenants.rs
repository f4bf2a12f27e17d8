//! Tenants, storefront orders and app installs.

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
            Table::new("tenants")
                .fk("customer_id", "customers")
                .fk_null("reseller_id", "resellers")
                .fk_null("plan_id", "plans")
                .col(string("slug"))
                .col(string("cluster"))
                .col(string("namespace"))
                .quota("quota")
                // pending | active | suspended | terminated
                .col(string("state"))
                .col(string_null("suspension_reason")) // overdue | manual
                .col(text_null("suspension_note"))
                .ts_null("suspended_at")
                .ts_null("terminated_at")
                .ts_null("prepaid_until")
                .timestamps(),
        )
        .await?;
        index(m, "tenants", &["cluster", "slug"], true).await?;
        index(m, "tenants", &["reseller_id", "updated_at"], false).await?;
        index(m, "tenants", &["customer_id"], false).await?;

        create(
            m,
            Table::new("orders")
                .fk("reseller_id", "resellers")
                .fk("customer_id", "customers")
                // pending | provisioning | fulfilled | failed | cancelled
                .col(string("state"))
                .col(string_null("idempotency_key"))
                .col(string("request_hash"))
                .col(string("placed_by"))
                .col(text_null("failure_reason"))
                .timestamps(),
        )
        .await?;
        index(m, "orders", &["reseller_id", "idempotency_key"], true).await?;
        index(m, "orders", &["reseller_id", "updated_at"], false).await?;

        create(
            m,
            Table::new("app_installs")
                .fk("tenant_id", "tenants")
                .fk_null("reseller_id", "resellers")
                .fk("app_id", "apps")
                .fk("app_version_id", "app_versions")
                .fk_null("previous_version_id", "app_versions")
                .col(text("values_json")) // JSON: per-install values
                // pending | installing | ready | failed | uninstalling | uninstalled
                .col(string("state"))
                .col(text_null("status_message"))
                .timestamps(),
        )
        .await?;
        index(m, "app_installs", &["tenant_id"], false).await?;

        create(
            m,
            Table::new("order_lines")
                .fk("order_id", "orders")
                .fk("reseller_id", "resellers")
                .col(integer("position"))
                // new_tenant | plan_change | app_install | app_upgrade | app_uninstall
                .col(string("kind"))
                .fk_null("tenant_id", "tenants")
                .fk_null("plan_id", "plans")
                .fk_null("app_version_id", "app_versions")
                .fk_null("app_install_id", "app_installs")
                .col(text("request")) // JSON: the line as ordered
                .col(string("state"))
                .col(text_null("reason"))
                .timestamps(),
        )
        .await?;
        index(m, "order_lines", &["order_id", "position"], true).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop_all(m, &["order_lines", "app_installs", "orders", "tenants"]).await
    }
}
