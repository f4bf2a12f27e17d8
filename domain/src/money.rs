//! Money in a currency: its minor unit, amounts in minor units, and how an
//! amount is written for people. Exact arithmetic and the one rounding rule
//! are in [`crate::decimal`].

use rust_decimal::Decimal;

use crate::error::Result;
use crate::reference::Currency;

/// Minor units as an amount with `minor` decimals.
pub fn cents(value: i64, minor: u32) -> Decimal {
    Decimal::new(value, minor)
}

/// An amount in minor units, rounded by the money rule; one that does not
/// fit 64 bits is an error, never a saturated or zero amount.
pub fn to_cents(amount: Decimal, minor: u32) -> Result<i64> {
    let a = crate::decimal::round_money(amount, minor);
    i64::try_from(a.mantissa()).map_err(|_| crate::decimal::DecimalError::OutOfRange(amount).into())
}

/// The minor-unit digits of a currency code (2 when unknown).
pub fn minor_digits(currency: &str) -> u32 {
    Currency::parse(currency).map_or(2, |c| c.minor_unit_digits())
}

/// `amount` as people read it on an invoice or in a mail: rounded by the
/// money rule to the currency's minor unit, then the code (`12.50 EUR`).
pub fn format(amount: Decimal, currency: &str) -> String {
    format!(
        "{} {currency}",
        crate::decimal::round_money(amount, minor_digits(currency))
    )
}

#[cfg(test)]
mod tests {
    use rust_decimal::dec;

    use super::*;

    #[test]
    fn amounts_are_written_to_the_minor_unit() {
        assert_eq!(format(dec!(12.5), "EUR"), "12.50 EUR");
        assert_eq!(format(dec!(1234.5), "JPY"), "1235 JPY");
        assert_eq!(to_cents(dec!(10.005), 2).unwrap(), 1001);
        assert!(to_cents(dec!(100000000000000000000), 2).is_err());
    }
}
