//! Policies, proposals and votes, recorded costs, revenue-share runs.

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
            Table::new("proposals")
                .col(string("title"))
                .col(text("body"))
                .col(boolean("binding"))
                .col(text_null("policy_change")) // JSON
                .col(text("eligible_classes")) // JSON array
                .fixed("quorum") // share of eligible members that must vote
                .fixed("threshold") // share of votes cast the winner needs
                .col(boolean("secret"))
                .ts("opens_at")
                .ts("closes_at")
                .col(string("state")) // draft | open | passed | rejected | no_quorum
                .col(text_null("tally")) // JSON, once closed
                .col(string("created_by"))
                .timestamps(),
        )
        .await?;
        create(
            m,
            Table::new("proposal_options")
                .fk("proposal_id", "proposals")
                .col(integer("position"))
                .col(string("label")),
        )
        .await?;
        index(m, "proposal_options", &["proposal_id", "position"], true).await?;
        create(
            m,
            Table::new("votes")
                .fk("proposal_id", "proposals")
                .fk("member_id", "members")
                .fk("option_id", "proposal_options")
                .timestamps(),
        )
        .await?;
        index(m, "votes", &["proposal_id", "member_id"], true).await?;

        create(
            m,
            Table::new("policies")
                .col(string("kind")) // revenue_share | wholesale_price | reseller_terms
                .col(integer("version"))
                .col(text("body")) // JSON
                .fk_null("proposal_id", "proposals")
                .ts("effective_at")
                .ts("created_at"),
        )
        .await?;
        index(m, "policies", &["kind", "version"], true).await?;

        create(
            m,
            Table::new("costs")
                .ts("period_start")
                .ts("period_end")
                .col(string("description"))
                .fixed("amount")
                .col(string("currency"))
                .col(string("recorded_by"))
                .timestamps(),
        )
        .await?;
        index(m, "costs", &["period_start"], false).await?;

        create(
            m,
            Table::new("revenue_share_runs")
                .ts("period_start")
                .ts("period_end")
                .col(string("currency"))
                .fk("policy_id", "policies")
                .fixed("revenue")
                .fixed("costs")
                .fixed("reserve")
                .fixed("pool")
                .col(string("state"))
                .timestamps(),
        )
        .await?;
        index(
            m,
            "revenue_share_runs",
            &["period_start", "period_end", "currency"],
            true,
        )
        .await?;
        create(
            m,
            Table::new("revenue_share_allocations")
                .fk("run_id", "revenue_share_runs")
                .fk("member_id", "members")
                .fixed("amount")
                .col(text("breakdown")) // JSON: the trace back to the ledger
                .ts("created_at"),
        )
        .await?;
        index(
            m,
            "revenue_share_allocations",
            &["run_id", "member_id"],
            true,
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        drop_all(
            m,
            &[
                "revenue_share_allocations",
                "revenue_share_runs",
                "costs",
                "policies",
                "votes",
                "proposal_options",
                "proposals",
            ],
        )
        .await
    }
}
