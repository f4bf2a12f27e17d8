//! Retail prices: what a reseller charges over the co-op's wholesale price.

use rust_decimal::Decimal;

/// What a reseller pays the co-op for something listed at `list`: the list
/// price less its wholesale discount (a fraction: 0.2 for 20 %), exact.
pub fn wholesale_price(list: Decimal, discount: Decimal) -> Decimal {
    list * (Decimal::ONE - discount)
}

/// The retail price of something whose wholesale price is `wholesale`: an
/// explicit price if the reseller set one, else the wholesale price with the
/// markup (a fraction: 0.25 for 25 %), else the wholesale price.
pub fn retail_price(
    wholesale: Decimal,
    markup: Option<Decimal>,
    explicit: Option<Decimal>,
    minor_digits: u32,
) -> Decimal {
    let price = match (explicit, markup) {
        (Some(p), _) => p,
        (None, Some(m)) => wholesale * (Decimal::ONE + m),
        (None, None) => wholesale,
    };
    crate::decimal::round_money(price, minor_digits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal::dec;

    #[test]
    fn explicit_beats_markup_beats_wholesale() {
        assert_eq!(
            retail_price(dec!(10), Some(dec!(0.25)), Some(dec!(11.5)), 2).to_string(),
            "11.50"
        );
        assert_eq!(
            retail_price(dec!(10), Some(dec!(0.25)), None, 2).to_string(),
            "12.50"
        );
        assert_eq!(retail_price(dec!(9.9), None, None, 2).to_string(), "9.90");
        assert_eq!(
            retail_price(dec!(10.01), Some(dec!(0.05)), None, 2).to_string(),
            "10.51",
            "10.5105 rounds to 10.51"
        );
        assert_eq!(
            retail_price(dec!(1000), Some(dec!(0.10)), None, 0).to_string(),
            "1100",
            "JPY has no minor unit"
        );
    }

    #[test]
    fn midpoints_round_away_from_zero() {
        assert_eq!(
            retail_price(dec!(10.005), None, None, 2).to_string(),
            "10.01"
        );
        assert_eq!(retail_price(dec!(0.125), None, None, 2).to_string(), "0.13");
    }

    proptest! {
        #[test]
        fn a_markup_never_sells_below_wholesale(cents in 0i64..10_000_000, pct in 0i64..500) {
            let wholesale = Decimal::new(cents, 2);
            let price = retail_price(wholesale, Some(Decimal::new(pct, 2)), None, 2);
            prop_assert!(price >= wholesale);
            prop_assert_eq!(price.scale(), 2);
        }
    }
}
