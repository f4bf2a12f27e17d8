//! The co-op's catalog: apps with versioned recipes, and plans.
//!
//! Stewards publish; every authenticated caller reads. A published version
//! is immutable: a change is a new version.

pub mod apps;
pub mod brand;
pub mod plans;
pub mod pricing;
pub mod recipe;
pub mod storefront;
pub mod values;

pub use recipe::{Recipe, RecipeError};
pub use values::InstallValues;
