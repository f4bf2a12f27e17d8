//! Billing: what usage costs. So far the charge models (pure functions);
//! metering, rating and invoicing build on them.

pub mod charges;

pub use charges::{Charge, ChargeModel, Tier, prorate};
