//! `orders`.

use sea_orm::entity::prelude::*;

use crate::ids::{CustomerId, OrderId, ResellerId};

/// A storefront order by a reseller for one of its customers.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: OrderId,
    /// The selling reseller.
    pub reseller_id: ResellerId,
    /// The buying customer.
    pub customer_id: CustomerId,
    pub state: OrderState,
    /// The storefront's idempotency key.
    pub idempotency_key: Option<String>,
    /// SHA-256 of the order as placed.
    pub request_hash: String,
    /// The subject that placed it.
    pub placed_by: String,
    /// Why, when failed.
    pub failure_reason: Option<String>,
    /// Placed.
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

super::stored_enum!(
    /// An order's (and each line's) progress.
    OrderState {
        /// Placed; the worker has not started it.
        Pending = "pending",
        /// The worker is making it so.
        Provisioning = "provisioning",
        /// Done.
        Fulfilled = "fulfilled",
        /// A line failed; it can be retried.
        Failed = "failed",
        /// Cancelled while pending; its changes were undone.
        Cancelled = "cancelled",
    }
);
