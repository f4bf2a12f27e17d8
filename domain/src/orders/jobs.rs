//! Jobs the orders cause.

use serde::{Deserialize, Serialize};

use crate::ids::OrderId;
use crate::jobs::Job;

/// Moves an order along: starts its lines, marks each fulfilled or failed
/// as its objects become ready, and the order with them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulfilOrder {
    /// The order.
    pub order_id: OrderId,
}

impl Job for FulfilOrder {
    const NAME: &'static str = "orders.fulfil_order";
    const DEDUPLICATED: bool = true;
}
