//! What every area shares: global ids, paging, the payload shape with
//! `userErrors`, money and quotas. It uses no area, so every area may use it.

mod ids;
mod money;
mod paging;
mod payload;
pub mod plain;
mod quota;

pub use ids::{decode, decode_as, global_id, input_id, optional_id, tenant_ref};
pub use money::{Money, decimal, exact_decimal};
pub use paging::{Conn, connection, page_cost, page_request};
pub(crate) use payload::payload;
pub use payload::{Payload, not_found};
pub use quota::{Quota, QuotaInput};
