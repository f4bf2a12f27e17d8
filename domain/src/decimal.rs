//! Exact decimals in the database, the same way on PostgreSQL and SQLite.
//!
//! SQLite has no exact decimal type (sea-orm's decimal column becomes `real`
//! there), so every amount and quantity is stored as two `BIGINT` columns,
//! `<name>_units` and `<name>_nanos`, with
//!
//! ```text
//! value = units + nanos × 10⁻⁹,   units = ⌊value⌋,   0 ≤ nanos < 10⁹
//! ```
//!
//! Both columns are integers on both backends, so `SUM(x_units)` and
//! `SUM(x_nanos)` are exact in SQL (they overflow loudly, never round), and
//! ordering by `(x_units, x_nanos)` orders by value, negatives included.
//! A stored value has at most [`SCALE`] fractional digits; anything more
//! precise is refused, never silently rounded.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// Fractional digits a stored decimal keeps.
pub const SCALE: u32 = 9;
const NANOS_PER_UNIT: i64 = 1_000_000_000;

/// Why a decimal cannot be stored exactly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    /// More fractional digits than [`SCALE`].
    #[error("{0} has more than {SCALE} decimal places")]
    TooPrecise(Decimal),
    /// The integer part does not fit a signed 64-bit integer.
    #[error("{0} is out of range")]
    OutOfRange(Decimal),
    /// Stored parts that no [`Fixed`] produces (nanos outside 0..10⁹).
    #[error("stored decimal parts ({units}, {nanos}) are invalid")]
    InvalidParts {
        /// The stored integer part.
        units: i64,
        /// The stored fractional part, in 10⁻⁹.
        nanos: i64,
    },
}

/// An exact decimal in its stored form. See the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Fixed {
    units: i64,
    nanos: i64,
}

impl Fixed {
    /// Zero.
    pub const ZERO: Fixed = Fixed { units: 0, nanos: 0 };

    /// The stored form of `value`, refusing values that would lose digits.
    pub fn from_decimal(value: Decimal) -> Result<Self, DecimalError> {
        let normalized = value.normalize();
        if normalized.scale() > SCALE {
            return Err(DecimalError::TooPrecise(value));
        }
        let floor = normalized.floor();
        let units = floor.to_i64().ok_or(DecimalError::OutOfRange(value))?;
        // `frac` is in [0, 1) with at most SCALE digits, so this is exact.
        let frac = normalized - floor;
        let nanos = (frac * Decimal::from(NANOS_PER_UNIT))
            .to_i64()
            .ok_or(DecimalError::OutOfRange(value))?;
        Ok(Self { units, nanos })
    }

    /// Rebuilds a value from its two stored columns.
    pub fn from_parts(units: i64, nanos: i64) -> Result<Self, DecimalError> {
        if !(0..NANOS_PER_UNIT).contains(&nanos) {
            return Err(DecimalError::InvalidParts { units, nanos });
        }
        Ok(Self { units, nanos })
    }

    /// The exact value, normalized (`0.10` reads back as `0.1`).
    pub fn to_decimal(self) -> Decimal {
        (Decimal::from(self.units) + Decimal::new(self.nanos, SCALE)).normalize()
    }

    /// The `<name>_units` column.
    pub fn units(self) -> i64 {
        self.units
    }

    /// The `<name>_nanos` column.
    pub fn nanos(self) -> i64 {
        self.nanos
    }

    /// The exact total of a column from `SUM(x_units)` and `SUM(x_nanos)`,
    /// which need not be in canonical form (the nanos sum can exceed 10⁹).
    pub fn sum_of_parts(sum_units: i64, sum_nanos: i64) -> Decimal {
        (Decimal::from(sum_units) + Decimal::new(sum_nanos, SCALE)).normalize()
    }
}

/// A stored pair read back. The writers only produce canonical pairs; one
/// that is not is corruption, logged as an error and read as the exact sum
/// of its parts (never as zero).
pub fn stored(units: i64, nanos: i64) -> Decimal {
    match Fixed::from_parts(units, nanos) {
        Ok(f) => f.to_decimal(),
        Err(e) => {
            tracing::error!(error.message = %e, "a stored decimal is not canonical");
            Fixed::sum_of_parts(units, nanos)
        }
    }
}

/// `d` rounded to the stored precision (10⁻⁹), for storing; a value whose
/// integer part does not fit is an error, never a default.
pub fn to_stored(d: Decimal) -> Result<Fixed, DecimalError> {
    Fixed::from_decimal(d.round_dp_with_strategy(SCALE, MONEY_ROUNDING))
}

/// The one rule by which an exact amount is fixed to fewer digits (a line
/// to the currency's minor unit, a retail price, a mail's amount): half
/// away from zero, as invoices are read by people.
pub const MONEY_ROUNDING: rust_decimal::RoundingStrategy =
    rust_decimal::RoundingStrategy::MidpointAwayFromZero;

/// `amount` rounded by [`MONEY_ROUNDING`] to exactly `minor` digits.
pub fn round_money(amount: Decimal, minor: u32) -> Decimal {
    let mut a = amount.round_dp_with_strategy(minor, MONEY_ROUNDING);
    a.rescale(minor);
    a
}

/// The largest amount one payment, credit note, price or fee may carry
/// (10¹²). Nine million entries of it still sum within a signed 64-bit
/// integer of units, so no ledger sum can overflow.
pub const MAX_AMOUNT: Decimal = rust_decimal::dec!(1_000_000_000_000);

/// The largest quantity one usage event may carry (10¹⁵).
pub const MAX_QUANTITY: Decimal = rust_decimal::dec!(1_000_000_000_000_000);

/// Refuses an amount above [`MAX_AMOUNT`] in magnitude (`AMOUNT_TOO_LARGE`).
pub fn check_amount(field: &'static str, amount: Decimal) -> crate::Result<()> {
    if amount.abs() > MAX_AMOUNT {
        return Err(crate::Error::invalid(
            field,
            "AMOUNT_TOO_LARGE",
            format!("{amount} is larger than the largest amount accepted ({MAX_AMOUNT})"),
        ));
    }
    Ok(())
}

/// The select-list expression summing the decimal column pair `name` in SQL,
/// exactly on both backends: read the result with [`read_sum`].
/// PostgreSQL sums `bigint`s into `numeric`, exact at any count. SQLite sums
/// integers in 64 bits and fails past them, so there the units are summed
/// in two parts, whole billions and the rest, and no partial sum can pass 64
/// bits before about nine billion rows.
pub fn sum_select(db: &impl sea_orm::ConnectionTrait, name: &str) -> String {
    let nanos = format!("CAST(COALESCE(SUM({name}_nanos), 0) AS TEXT) AS {name}_nanos_sum");
    if crate::db::is_postgres(db) {
        return format!(
            "'0' AS {name}_hi_sum, CAST(COALESCE(SUM({name}_units), 0) AS TEXT) AS {name}_lo_sum, {nanos}"
        );
    }
    format!(
        "CAST(COALESCE(SUM({name}_units / 1000000000), 0) AS TEXT) AS {name}_hi_sum, \
         CAST(COALESCE(SUM({name}_units % 1000000000), 0) AS TEXT) AS {name}_lo_sum, {nanos}"
    )
}

/// Reads the sum that [`sum_select`]`(name)` selected.
pub fn read_sum(row: &sea_orm::QueryResult, name: &str) -> Result<Decimal, sea_orm::DbErr> {
    let part = |suffix: &str| -> Result<Decimal, sea_orm::DbErr> {
        let text: String = row.try_get("", &format!("{name}_{suffix}_sum"))?;
        text.parse::<Decimal>()
            .map_err(|e| sea_orm::DbErr::Custom(format!("the sum of {name} is out of range: {e}")))
    };
    let billion = Decimal::from(NANOS_PER_UNIT);
    let total = part("hi")?
        .checked_mul(billion)
        .and_then(|hi| hi.checked_add(part("lo").ok()?))
        .and_then(|units| units.checked_add(part("nanos").ok()? / billion))
        .ok_or_else(|| sea_orm::DbErr::Custom(format!("the sum of {name} is out of range")))?;
    Ok(total.normalize())
}

impl From<DecimalError> for crate::Error {
    fn from(e: DecimalError) -> Self {
        crate::Error::invalid("amount", "AMOUNT_OUT_OF_RANGE", e.to_string())
    }
}

impl TryFrom<Decimal> for Fixed {
    type Error = DecimalError;
    fn try_from(value: Decimal) -> Result<Self, Self::Error> {
        Self::from_decimal(value)
    }
}

impl From<Fixed> for Decimal {
    fn from(value: Fixed) -> Self {
        value.to_decimal()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal::dec;

    #[test]
    fn an_amount_out_of_range_is_an_error_never_zero() {
        let huge: Decimal = "9223372036854775808".parse().unwrap();
        assert_eq!(to_stored(huge), Err(DecimalError::OutOfRange(huge)));
        assert!(check_amount("amount", huge).is_err());
        assert!(check_amount("amount", MAX_AMOUNT).is_ok());
        assert!(check_amount("amount", MAX_AMOUNT + Decimal::ONE).is_err());
        assert_eq!(MAX_AMOUNT, dec!(1000000000000));
        assert_eq!(MAX_QUANTITY, dec!(1000000000000000));
    }

    #[test]
    fn money_rounds_half_away_from_zero_everywhere() {
        assert_eq!(round_money(dec!(2.345), 2).to_string(), "2.35");
        assert_eq!(round_money(dec!(2.335), 2).to_string(), "2.34");
        assert_eq!(round_money(dec!(-2.345), 2).to_string(), "-2.35");
        assert_eq!(round_money(dec!(7), 2).to_string(), "7.00");
        // The rule's name is the one place it is set.
        assert_eq!(
            MONEY_ROUNDING,
            rust_decimal::RoundingStrategy::MidpointAwayFromZero
        );
    }

    #[test]
    fn keeps_every_digit_of_the_examples() {
        for s in [
            "0.1",
            "0.2",
            "0.3",
            "12345678901234.123456789",
            "-0.5",
            "-12.000000001",
            "0",
        ] {
            let d: Decimal = s.parse().unwrap();
            let f = Fixed::from_decimal(d).unwrap();
            assert_eq!(f.to_decimal().to_string(), s);
        }
    }

    #[test]
    fn negative_values_floor_their_units() {
        let f = Fixed::from_decimal(dec!(-0.25)).unwrap();
        assert_eq!((f.units(), f.nanos()), (-1, 750_000_000));
    }

    #[test]
    fn refuses_more_than_nine_places_and_huge_values() {
        assert_eq!(
            Fixed::from_decimal(dec!(0.0000000001)),
            Err(DecimalError::TooPrecise(dec!(0.0000000001)))
        );
        let huge = Decimal::from(i64::MAX) + Decimal::ONE;
        assert_eq!(
            Fixed::from_decimal(huge),
            Err(DecimalError::OutOfRange(huge))
        );
        // Trailing zeros beyond the scale are not extra precision.
        assert!(Fixed::from_decimal(dec!(1.50000000000)).is_ok());
    }

    #[test]
    fn refuses_parts_out_of_range() {
        assert!(Fixed::from_parts(1, 1_000_000_000).is_err());
        assert!(Fixed::from_parts(1, -1).is_err());
    }

    #[test]
    fn sums_of_parts_match_decimal_sums() {
        let values = [
            dec!(0.1),
            dec!(0.2),
            dec!(0.3),
            dec!(-0.7),
            dec!(12345678901234.123456789),
        ];
        let parts: Vec<Fixed> = values
            .iter()
            .map(|v| Fixed::from_decimal(*v).unwrap())
            .collect();
        let su: i64 = parts.iter().map(|f| f.units()).sum();
        let sn: i64 = parts.iter().map(|f| f.nanos()).sum();
        assert_eq!(
            Fixed::sum_of_parts(su, sn),
            values.iter().sum::<Decimal>().normalize()
        );
    }

    fn stored_decimal() -> impl Strategy<Value = Decimal> {
        (-1_000_000_000_000i64..1_000_000_000_000i64, 0u32..=SCALE)
            .prop_map(|(mantissa, scale)| Decimal::new(mantissa, scale))
    }

    proptest! {
        #[test]
        fn round_trips_exactly(d in stored_decimal()) {
            let f = Fixed::from_decimal(d).unwrap();
            prop_assert_eq!(f.to_decimal(), d.normalize());
            prop_assert_eq!(Fixed::from_parts(f.units(), f.nanos()).unwrap(), f);
        }

        #[test]
        fn orders_like_the_values(a in stored_decimal(), b in stored_decimal()) {
            let (fa, fb) = (Fixed::from_decimal(a).unwrap(), Fixed::from_decimal(b).unwrap());
            prop_assert_eq!(fa.cmp(&fb), a.cmp(&b));
        }

        #[test]
        fn sums_exactly(values in proptest::collection::vec(stored_decimal(), 0..50)) {
            let parts: Vec<Fixed> = values.iter().map(|v| Fixed::from_decimal(*v).unwrap()).collect();
            let su: i64 = parts.iter().map(|f| f.units()).sum();
            let sn: i64 = parts.iter().map(|f| f.nanos()).sum();
            prop_assert_eq!(Fixed::sum_of_parts(su, sn), values.iter().sum::<Decimal>().normalize());
        }
    }
}
