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

/// The `coplane` binary's allocator, and the benchmarks' that serve
/// coplane in process: mimalloc, which keeps the many small, short-lived
/// allocations of a GraphQL response (one map per object, one string per
/// value) in per-thread pages instead of glibc's shared arenas.
pub type Allocator = mimalloc::MiMalloc;

/// The value of [`Allocator`] for `#[global_allocator]`.
pub const ALLOCATOR: Allocator = mimalloc::MiMalloc;
