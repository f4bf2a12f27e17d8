//! What metering, rating and invoicing need beyond the first schema: the
//! history of a tenant's plans (for proration), an invoice's snapshot of
//! tax and parties and its place in a period's close, resellers' tax
//! details, credit balances from overpayments, and the Stripe events seen.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::dsl::{create, drop_all, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// One column per statement: SQLite alters one thing at a time.
async fn add(m: &SchemaManager<'_>, table: &'static str, col: &mut ColumnDef) -> Result<(), DbErr> {
    m.alter_table(Table::alter().table(table).add_column(col).to_owned())
        .await
}

async fn drop(m: &SchemaManager<'_>, table: &'static str, col: &'static str) -> Result<(), DbErr> {
    m.alter_table(Table::alter().table(table).drop_column(col).to_owned())
        .await
}

const INVOICE_COLUMNS: &[&str] = &[
    "close_key",
    "amount_credited_units",
    "amount_credited_nanos",
    "tax_rate_units",
    "tax_rate_nanos",
    "reverse_charge",
    "issuer_name",
    "recipient_name",
    "recipient_email",
    "payment_client_secret",
    "payment_error",
];

const RESELLER_COLUMNS: &[&str] = &[
    "tax_rate_units",
    "tax_rate_nanos",
    "reverse_charge",
    "billing_email",
    "stripe_customer_id",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        create(
            m,
            crate::dsl::Table::new("tenant_plans")
                .fk("tenant_id", "tenants")
                .fk_null("reseller_id", "resellers")
                .fk("plan_id", "plans")
                .ts("starts_at")
                .ts("created_at"),
        )
        .await?;
        index(m, "tenant_plans", &["tenant_id", "starts_at"], false).await?;

        // A period's close creates each invoice once: `period:<id>:<layer>:<recipient>`.
        add(m, "invoices", &mut string_null("close_key")).await?;
        add(
            m,
            "invoices",
            big_integer("amount_credited_units").default(0),
        )
        .await?;
        add(
            m,
            "invoices",
            big_integer("amount_credited_nanos").default(0),
        )
        .await?;
        add(m, "invoices", big_integer("tax_rate_units").default(0)).await?;
        add(m, "invoices", big_integer("tax_rate_nanos").default(0)).await?;
        add(m, "invoices", boolean("reverse_charge").default(false)).await?;
        add(m, "invoices", &mut string_null("issuer_name")).await?;
        add(m, "invoices", &mut string_null("recipient_name")).await?;
        add(m, "invoices", &mut string_null("recipient_email")).await?;
        add(m, "invoices", &mut string_null("payment_client_secret")).await?;
        add(m, "invoices", &mut text_null("payment_error")).await?;
        index(m, "invoices", &["close_key"], true).await?;
        index(m, "invoices", &["stripe_payment_intent_id"], false).await?;

        add(m, "resellers", big_integer("tax_rate_units").default(0)).await?;
        add(m, "resellers", big_integer("tax_rate_nanos").default(0)).await?;
        add(m, "resellers", boolean("reverse_charge").default(false)).await?;
        add(m, "resellers", &mut string_null("billing_email")).await?;
        add(m, "resellers", &mut string_null("stripe_customer_id")).await?;

        index(m, "payments", &["idempotency_key"], true).await?;
        index(m, "payments", &["updated_at"], false).await?;
        index(m, "credit_notes", &["number"], false).await?;

        // Money an account paid beyond what it owed, and its later use:
        // the balance is the sum of the entries.
        create(
            m,
            crate::dsl::Table::new("account_credits")
                .col(string("account_kind")) // reseller | customer
                .col(uuid("account_id"))
                .fk_null("reseller_id", "resellers")
                .col(string("currency"))
                .fixed("amount")
                .fk_null("payment_id", "payments")
                .fk_null("invoice_id", "invoices")
                .col(text("reason"))
                .ts("created_at"),
        )
        .await?;
        index(m, "account_credits", &["account_kind", "account_id"], false).await?;

        // Each Stripe event id is handled once.
        create(
            m,
            crate::dsl::Table::keyed("stripe_events", &["id"])
                .col(string("id"))
                .col(string("event_type"))
                .ts("received_at"),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop_all(m, &["stripe_events", "account_credits"]).await?;
        for (table, name) in [
            ("credit_notes", "ix_credit_notes_number"),
            ("payments", "ix_payments_updated_at"),
            ("payments", "uq_payments_idempotency_key"),
            ("invoices", "ix_invoices_stripe_payment_intent_id"),
            ("invoices", "uq_invoices_close_key"),
        ] {
            m.drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        for col in RESELLER_COLUMNS {
            drop(m, "resellers", col).await?;
        }
        for col in INVOICE_COLUMNS {
            drop(m, "invoices", col).await?;
        }
        drop_all(m, &["tenant_plans"]).await
    }
}
