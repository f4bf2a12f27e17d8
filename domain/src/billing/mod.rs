//! Billing: metering, rating, invoicing and payments.
//!
//! - [`usage`]: ingestion (each key once) and aggregation per tenant, metric and window;
//! - [`metering`]: the worker's hourly allocation events;
//! - [`metrics`] and [`charges`]: how events become quantities, and quantities money (pure);
//! - [`catalog`]: plans' charges and resellers' billing terms;
//! - [`rating`]: a tenant's plan spans priced for a layer (pure);
//! - [`close`]: billing periods and the invoices they make;
//! - [`invoices`]: numbering, payments, credit notes;
//! - [`rail`]: the payment rail (Stripe) behind a trait.
//!
//! An account's standing and the overdue ladder are [`crate::dunning`]'s.

pub mod catalog;
pub mod charges;
pub mod close;
pub mod invoices;
pub mod jobs;
pub mod metering;
pub mod metrics;
pub mod rail;
pub mod rating;
pub mod usage;

pub use charges::{Charge, ChargeModel, Tier, prorate};
