//! Billing periods, invoices and their lines, gapless numbering, payments and credit notes.

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
            Table::new("billing_periods")
                .ts("starts_at") // half-open: [starts_at, ends_at)
                .ts("ends_at")
                .col(string("state")) // open | closing | closed
                .ts_null("closed_at")
                .timestamps(),
        )
        .await?;
        index(m, "billing_periods", &["starts_at", "ends_at"], true).await?;

        // One row per issuer and year; the number is taken by incrementing it in
        // the transaction that finalizes the invoice, so numbers have no gaps.
        create(
            m,
            Table::keyed("invoice_number_sequences", &["issuer", "year"])
                .col(string("issuer")) // "coop" or a reseller id
                .col(integer("year"))
                .col(big_integer("last_number")),
        )
        .await?;

        create(
            m,
            Table::new("invoices")
                .fk_null("billing_period_id", "billing_periods")
                // Whose world the invoice is in (who may read it): the
                // recipient of a wholesale invoice, the issuer of a retail
                // one; null for the co-op's direct customers.
                .fk_null("reseller_id", "resellers")
                .fk_null("issuer_reseller_id", "resellers") // null: issued by the co-op
                .fk_null("recipient_reseller_id", "resellers")
                .fk_null("recipient_customer_id", "customers")
                .col(string("layer")) // wholesale | retail
                .col(string_null("number"))
                .ts("period_start")
                .ts("period_end")
                .col(string("currency"))
                .fixed("subtotal")
                .fixed("tax")
                .fixed("total")
                .col(big_integer("total_cents"))
                .fixed("amount_paid")
                // draft | open | paid | void | uncollectible
                .col(string("status"))
                .ts_null("finalized_at")
                .ts_null("due_at")
                .ts_null("paid_at")
                .ts_null("voided_at")
                .col(string_null("stripe_payment_intent_id"))
                .timestamps(),
        )
        .await?;
        index(m, "invoices", &["issuer_reseller_id", "number"], true).await?;
        index(m, "invoices", &["recipient_customer_id", "status"], false).await?;
        index(m, "invoices", &["recipient_reseller_id", "status"], false).await?;
        index(m, "invoices", &["updated_at"], false).await?;

        create(
            m,
            Table::new("invoice_lines")
                .fk("invoice_id", "invoices")
                .fk_null("reseller_id", "resellers")
                .col(integer("position"))
                .fk_null("tenant_id", "tenants")
                .col(string("description"))
                .col(string_null("metric_code"))
                .fixed("quantity")
                .fixed("unit_price")
                .fixed("precise_amount") // before rounding
                .col(big_integer("amount_cents")) // rounded once, per line
                .col(string("price_version"))
                .ts("created_at"),
        )
        .await?;
        index(m, "invoice_lines", &["invoice_id", "position"], true).await?;

        create(
            m,
            Table::new("payments")
                .fk("invoice_id", "invoices")
                .fk_null("reseller_id", "resellers")
                .fixed("amount")
                .col(string("currency"))
                .col(string("method")) // stripe | bank_transfer | erp | …
                .col(string_null("external_ref"))
                .col(string_null("idempotency_key"))
                .col(string("recorded_by"))
                .ts("received_at")
                .timestamps(),
        )
        .await?;
        index(m, "payments", &["invoice_id"], false).await?;
        index(m, "payments", &["method", "external_ref"], true).await?;

        create(
            m,
            Table::new("credit_notes")
                .fk("invoice_id", "invoices")
                .fk_null("reseller_id", "resellers")
                .col(string("number"))
                .fixed("amount")
                .col(big_integer("amount_cents"))
                .col(text("reason"))
                .ts("issued_at")
                .timestamps(),
        )
        .await?;
        index(m, "credit_notes", &["invoice_id"], false).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop_all(
            m,
            &[
                "credit_notes",
                "payments",
                "invoice_lines",
                "invoices",
                "invoice_number_sequences",
                "billing_periods",
            ],
        )
        .await
    }
}
