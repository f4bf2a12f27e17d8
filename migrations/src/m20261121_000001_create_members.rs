//! Members, resellers and customers.

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
            Table::new("members")
                .col(string("kind")) // person | organisation
                .col(string("class")) // worker | reseller | user
                .col(string("display_name"))
                .col(string_null("email"))
                .col(big_integer("shares_held"))
                .col(date("joined_on"))
                .col(date_null("left_on"))
                .timestamps(),
        )
        .await?;
        index(m, "members", &["updated_at"], false).await?;

        create(
            m,
            Table::new("resellers")
                .fk("member_id", "members")
                .col(string("brand_name"))
                .col(string_null("support_email"))
                .fixed("wholesale_discount")
                .quota("allotment")
                .timestamps(),
        )
        .await?;
        index(m, "resellers", &["member_id"], true).await?;
        index(m, "resellers", &["updated_at"], false).await?;

        create(
            m,
            Table::new("customers")
                // Null for the co-op's direct customers.
                .fk_null("reseller_id", "resellers")
                .col(string("name"))
                .col(string("billing_email"))
                .col(string_null("address_line1"))
                .col(string_null("address_line2"))
                .col(string_null("postal_code"))
                .col(string_null("city"))
                .col(string("country"))
                .col(string("currency"))
                .fixed("tax_rate")
                .col(boolean("reverse_charge"))
                .col(string_null("tax_id"))
                .col(string_null("payment_method_ref"))
                .col(string_null("stripe_customer_id"))
                .col(string_null("external_ref"))
                .timestamps(),
        )
        .await?;
        index(m, "customers", &["reseller_id", "updated_at"], false).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop_all(m, &["customers", "resellers", "members"]).await
    }
}
