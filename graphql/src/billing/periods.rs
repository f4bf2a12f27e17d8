//! Billing periods and closing them.

use async_graphql::{ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use coplane_domain::entity::billing_period;

use crate::common::global_id;
use crate::error::UserError;

/// A billing period (a calendar month, UTC).
pub struct BillingPeriod(pub billing_period::Model);

#[Object]
impl BillingPeriod {
    /// Global id.
    async fn id(&self) -> ID {
        global_id("BillingPeriod", self.0.id)
    }
    /// First instant.
    async fn starts_at(&self) -> DateTime<Utc> {
        self.0.starts_at
    }
    /// First instant after.
    async fn ends_at(&self) -> DateTime<Utc> {
        self.0.ends_at
    }
    /// `open`, `closing` or `closed`.
    async fn state(&self) -> &str {
        &self.0.state
    }
    /// When closed.
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
}

/// The period to close.
#[derive(InputObject)]
pub struct CloseBillingPeriodInput {
    /// The period's first instant (the first of a month, 00:00 UTC).
    pub(super) period_start: DateTime<Utc>,
    /// Finalize (number) the invoices; false leaves drafts for review.
    #[graphql(default = true)]
    pub(super) finalize: bool,
}

/// `closeBillingPeriod`'s result.
#[derive(SimpleObject)]
pub struct CloseBillingPeriodPayload {
    /// The period.
    pub(super) billing_period: Option<BillingPeriod>,
    /// Invoices made by this call.
    pub(super) created: u32,
    /// Invoices that existed already.
    pub(super) existing: u32,
    /// Invoices that could not be made (see the log); the period stays
    /// `closing` and a later close retries them.
    pub(super) failed: u32,
    /// What was wrong.
    pub(super) user_errors: Vec<UserError>,
}
