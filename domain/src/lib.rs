//! coplane's business core: the model of a platform co-op that sells hosting
//! through resellers, its rules, and the use cases that change it.
//!
//! The crate knows nothing of HTTP, GraphQL or Kubernetes. A kernel that
//! depends on no feature (the use-case runner [`usecase`], `db`, `decimal`,
//! `money`, `input`, `idempotency`, `audit`, `auth`, `jobs`, `entity`,
//! [`account`] …) serves the features, which build on each other in one
//! order: tenancy ← catalog ← orders ← billing ← dunning (`layering.rs`
//! holds it). Use cases take a connection and `now`; each change is one
//! [`usecase::Mutation`] or [`usecase::SystemChange`], with the jobs it
//! causes enqueued in its transaction.

pub mod account;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod catalog;
pub mod clock;
pub mod db;
pub mod decimal;
pub mod dunning;
pub mod entity;
pub mod error;
pub mod idempotency;
pub mod ids;
pub(crate) mod input;
pub mod jobs;
#[cfg(test)]
mod layering;
pub mod money;
pub mod orders;
pub mod page;
pub mod quota;
pub mod reference;
pub mod tenancy;
pub mod usecase;

/// The co-op's name, as it signs its invoices and mail.
pub const COOP_NAME: &str = "coplane co-op";

pub use clock::{Clock, SystemClock};
pub use decimal::Fixed;
pub use error::{Error, Result};
