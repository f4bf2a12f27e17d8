//! API tokens, the audit trail, idempotency records and the job queue.

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
            Table::new("api_tokens")
                .col(string("name"))
                .col(string("token_hash")) // SHA-256 of the secret; the secret is shown once
                .col(text("roles")) // JSON array
                .col(text("scopes")) // JSON array
                .fk_null("reseller_id", "resellers")
                .fk_null("member_id", "members")
                .col(string("created_by"))
                .ts_null("expires_at")
                .ts_null("revoked_at")
                .ts_null("last_used_at")
                .timestamps(),
        )
        .await?;
        index(m, "api_tokens", &["token_hash"], true).await?;

        create(
            m,
            Table::new("audit_events")
                .ts("occurred_at")
                .col(string("actor"))
                .col(string("actor_role"))
                .col(string("action"))
                .col(string_null("object_type"))
                .col(uuid_null("object_id"))
                .col(uuid_null("reseller_id"))
                .col(string_null("request_id"))
                .col(text_null("details")), // JSON
        )
        .await?;
        index(m, "audit_events", &["occurred_at"], false).await?;

        create(
            m,
            Table::keyed("idempotency_keys", &["principal", "operation", "key"])
                .col(string("principal"))
                .col(string("operation"))
                .col(string("key"))
                .col(string("request_hash"))
                .col(uuid_null("object_id"))
                .ts("created_at"),
        )
        .await?;

        create(
            m,
            Table::new("jobs")
                .col(string("name"))
                .col(text("payload")) // JSON
                .col(text_null("dedup_key"))
                .col(string("state")) // pending | running | failed
                .col(integer("attempts"))
                .col(integer("max_attempts"))
                .ts("run_at")
                .col(string_null("locked_by"))
                .ts_null("locked_until")
                .col(text_null("last_error"))
                .timestamps(),
        )
        .await?;
        index(m, "jobs", &["state", "run_at"], false).await?;
        // At most one pending job per dedup key: enqueuing a duplicate is a
        // conflict that the queue turns into a no-op. Partial indexes exist on
        // both PostgreSQL and SQLite.
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX uq_jobs_pending_dedup_key ON jobs (dedup_key) \
                 WHERE state = 'pending'",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop_all(
            m,
            &["jobs", "idempotency_keys", "audit_events", "api_tokens"],
        )
        .await
    }
}
