//! Order jobs.

pub mod fulfil_order;
