//! coplane's HTTP side and its command line: GraphQL over actix-web,
//! authentication, health, metrics; and [`startup::Application`], which runs
//! the API, the worker, or both.

pub mod auth;
pub mod cli;
pub mod db;
pub mod http;
pub mod settings;
pub mod startup;
pub mod telemetry;

pub use settings::Settings;
pub use startup::{Application, Components};
