//! Money and stored decimals.

use async_graphql::SimpleObject;
use coplane_domain::Fixed;
use rust_decimal::Decimal;

/// An exact amount of money.
#[derive(SimpleObject, Clone)]
pub struct Money {
    /// The amount, a decimal string (`"12.30"`).
    pub amount: Decimal,
    /// ISO 4217.
    pub currency: String,
}

impl Money {
    /// `amount` in `currency`, shown with the currency's minor digits (`9.90`).
    pub fn new(mut amount: Decimal, currency: &str) -> Self {
        let digits = coplane_domain::reference::Currency::parse(currency)
            .map_or(2, |c| c.minor_unit_digits());
        if amount.scale() < digits {
            amount.rescale(digits);
        }
        Self {
            amount,
            currency: currency.to_owned(),
        }
    }
}

impl super::plain::Plain for Money {
    fn field(&self, name: &str, _: &super::plain::At<'_, '_>) -> Option<async_graphql::Value> {
        Some(match name {
            "amount" => super::plain::scalar(&self.amount),
            "currency" => super::plain::text(&self.currency),
            _ => return None,
        })
    }
}

/// A stored `(units, nanos)` pair as a decimal without trailing zeros.
pub fn decimal(units: i64, nanos: i64) -> Decimal {
    coplane_domain::decimal::stored(units, nanos).normalize()
}

/// A stored `(units, nanos)` pair as it was written; a pair that is not
/// canonical is an `INTERNAL` error.
pub fn exact_decimal(units: i64, nanos: i64) -> async_graphql::Result<Decimal> {
    Fixed::from_parts(units, nanos)
        .map(Fixed::to_decimal)
        .map_err(|e| crate::error::internal(&e))
}
