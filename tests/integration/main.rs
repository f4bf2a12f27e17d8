//! coplane's integration suite: one test binary, every test on SQLite and
//! (with `COPLANE_TEST_DATABASE_URL`) on PostgreSQL.

mod auth;
mod billing;
mod brand;
mod browser;
mod catalog;
mod decimals;
mod dunning;
mod hardening;
mod harness;
mod health;
mod hosts;
mod jobs;
mod kube;
mod orders;
mod schema;
mod startup;
mod subscriptions;
mod tenancy;

pub use coplane_tests::*;
