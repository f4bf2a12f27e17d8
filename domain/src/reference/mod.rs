//! Reference data: ISO 4217 currencies and ISO 3166-1 countries.

mod country;
mod currency;

pub use country::Country;
pub use currency::Currency;
