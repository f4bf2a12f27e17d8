//! Charge models: what a quantity of usage costs. Pure functions over exact
//! decimals; a line's amount is rounded once, at the end, to the currency's
//! minor unit.

use chrono::{DateTime, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// How amounts are rounded: once per line, by the money rule
/// ([`crate::decimal::MONEY_ROUNDING`]).
pub const LINE_ROUNDING: RoundingStrategy = crate::decimal::MONEY_ROUNDING;

/// One tier of a tiered model: units up to `up_to` (inclusive; `None`: no
/// end), each at `unit_price`, plus `flat_fee` once the tier is entered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tier {
    /// The tier's last unit; `None` for the last tier.
    pub up_to: Option<Decimal>,
    /// Price of each unit in the tier.
    pub unit_price: Decimal,
    /// Charged once when any unit falls in the tier.
    #[serde(default)]
    pub flat_fee: Decimal,
}

/// A charge model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "model"
)]
pub enum ChargeModel {
    /// Every unit at one price.
    Standard {
        /// Price per unit.
        unit_price: Decimal,
    },
    /// Each unit at the price of the tier it falls in.
    Graduated {
        /// Ascending tiers.
        tiers: Vec<Tier>,
    },
    /// Every unit at the price of the tier the total falls in.
    Volume {
        /// Ascending tiers.
        tiers: Vec<Tier>,
    },
    /// Whole packages of `size` units, each at `price`; a started package counts.
    Package {
        /// Units per package.
        size: Decimal,
        /// Price per package.
        price: Decimal,
    },
    /// A share of the quantity (itself an amount of money).
    Percentage {
        /// The share (`0.02` for 2 %).
        rate: Decimal,
    },
}

/// A charge: a model after some free units.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Charge {
    /// The model.
    #[serde(flatten)]
    pub model: ChargeModel,
    /// Units included for free, taken off before pricing.
    #[serde(default)]
    pub free_units: Decimal,
}

/// What is wrong with a charge.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ChargeError(pub String);

impl Charge {
    /// Checks the charge: non-negative prices and free units, tiers
    /// ascending with only the last one open, a positive package size, and
    /// every price and quantity within what the ledger computes exactly
    /// ([`crate::decimal::MAX_AMOUNT`], [`crate::decimal::MAX_QUANTITY`]).
    pub fn validate(&self) -> Result<(), ChargeError> {
        let bad = |m: &str| Err(ChargeError(m.to_owned()));
        if self.free_units.is_sign_negative() && !self.free_units.is_zero() {
            return bad("freeUnits cannot be negative");
        }
        let (prices, quantities) = self.figures();
        if prices.iter().any(|p| *p > crate::decimal::MAX_AMOUNT) {
            return Err(ChargeError(format!(
                "a price is at most {}",
                crate::decimal::MAX_AMOUNT
            )));
        }
        if quantities.iter().any(|q| *q > crate::decimal::MAX_QUANTITY) {
            return Err(ChargeError(format!(
                "a quantity is at most {}",
                crate::decimal::MAX_QUANTITY
            )));
        }
        match &self.model {
            ChargeModel::Standard { unit_price } if unit_price.is_sign_negative() => {
                bad("unitPrice cannot be negative")
            }
            ChargeModel::Graduated { tiers } | ChargeModel::Volume { tiers } => {
                if tiers.is_empty() {
                    return bad("a tiered charge has at least one tier");
                }
                let mut last = Decimal::ZERO;
                for (i, t) in tiers.iter().enumerate() {
                    if t.unit_price.is_sign_negative() || t.flat_fee.is_sign_negative() {
                        return bad("tier prices cannot be negative");
                    }
                    match t.up_to {
                        Some(up) if up <= last => {
                            return bad("tiers ascend: each upTo is above the one before");
                        }
                        Some(up) => last = up,
                        None if i + 1 != tiers.len() => {
                            return bad("only the last tier is open-ended");
                        }
                        None => {}
                    }
                }
                if tiers.last().is_some_and(|t| t.up_to.is_some()) {
                    return bad("the last tier is open-ended (no upTo)");
                }
                Ok(())
            }
            ChargeModel::Package { size, price } => {
                if *size <= Decimal::ZERO {
                    bad("a package has a positive size")
                } else if price.is_sign_negative() {
                    bad("price cannot be negative")
                } else {
                    Ok(())
                }
            }
            ChargeModel::Percentage { rate } if rate.is_sign_negative() => {
                bad("rate cannot be negative")
            }
            _ => Ok(()),
        }
    }

    /// Every price and every quantity the charge names.
    fn figures(&self) -> (Vec<Decimal>, Vec<Decimal>) {
        let mut quantities = vec![self.free_units];
        let prices = match &self.model {
            ChargeModel::Standard { unit_price } => vec![*unit_price],
            ChargeModel::Graduated { tiers } | ChargeModel::Volume { tiers } => {
                quantities.extend(tiers.iter().filter_map(|t| t.up_to));
                tiers
                    .iter()
                    .flat_map(|t| [t.unit_price, t.flat_fee])
                    .collect()
            }
            ChargeModel::Package { size, price } => {
                quantities.push(*size);
                vec![*price]
            }
            ChargeModel::Percentage { rate } => vec![*rate],
        };
        (prices, quantities)
    }

    /// The units priced: the quantity less the free units, at least zero.
    pub fn billable(&self, quantity: Decimal) -> Decimal {
        (quantity - self.free_units).max(Decimal::ZERO)
    }

    /// The exact amount for `quantity` (not rounded).
    pub fn exact(&self, quantity: Decimal) -> Decimal {
        let units = self.billable(quantity);
        match &self.model {
            ChargeModel::Standard { unit_price } => units * unit_price,
            ChargeModel::Graduated { tiers } => graduated(tiers, units)
                .into_iter()
                .map(|(t, n)| n * t.unit_price + t.flat_fee)
                .sum(),
            ChargeModel::Volume { tiers } => {
                if units.is_zero() {
                    return Decimal::ZERO;
                }
                let tier = tiers
                    .iter()
                    .find(|t| t.up_to.is_none_or(|up| units <= up))
                    .or(tiers.last());
                tier.map_or(Decimal::ZERO, |t| units * t.unit_price + t.flat_fee)
            }
            ChargeModel::Package { size, price } => (units / size).ceil() * price,
            ChargeModel::Percentage { rate } => units * rate,
        }
    }

    /// The line's amount: [`Charge::exact`] rounded once to `minor_digits`.
    pub fn amount(&self, quantity: Decimal, minor_digits: u32) -> Decimal {
        self.exact(quantity)
            .round_dp_with_strategy(minor_digits, LINE_ROUNDING)
    }
}

/// The share of `amount` (a fee for the whole period) for the part of
/// `period` that `part` covers, by the second, exact (rounded by the line).
/// Parts outside the period count for nothing.
pub fn prorate(
    amount: Decimal,
    period: (DateTime<Utc>, DateTime<Utc>),
    part: (DateTime<Utc>, DateTime<Utc>),
) -> Decimal {
    let whole = (period.1 - period.0).num_seconds();
    let from = part.0.max(period.0);
    let to = part.1.min(period.1);
    let covered = (to - from).num_seconds().max(0);
    if whole <= 0 {
        return Decimal::ZERO;
    }
    amount * Decimal::from(covered) / Decimal::from(whole)
}

/// How many of `units` fall in each tier entered, in order.
pub fn graduated(tiers: &[Tier], units: Decimal) -> Vec<(&Tier, Decimal)> {
    let mut out = Vec::new();
    let mut below = Decimal::ZERO;
    for t in tiers {
        if units <= below {
            break;
        }
        let top = t.up_to.map_or(units, |up| up.min(units));
        out.push((t, top - below));
        match t.up_to {
            Some(up) => below = up,
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal::dec;

    fn tiers() -> Vec<Tier> {
        vec![
            Tier {
                up_to: Some(dec!(100)),
                unit_price: dec!(0.10),
                flat_fee: dec!(0),
            },
            Tier {
                up_to: Some(dec!(1000)),
                unit_price: dec!(0.08),
                flat_fee: dec!(1),
            },
            Tier {
                up_to: None,
                unit_price: dec!(0.05),
                flat_fee: dec!(0),
            },
        ]
    }

    #[test]
    fn prices_and_quantities_beyond_the_ledger_are_refused() {
        let huge = dec!(9000000000000000000);
        let standard = |unit_price, free_units| Charge {
            model: ChargeModel::Standard { unit_price },
            free_units,
        };
        assert!(standard(huge, dec!(0)).validate().is_err());
        assert!(standard(dec!(1), huge).validate().is_err());
        assert!(
            standard(crate::decimal::MAX_AMOUNT, dec!(0))
                .validate()
                .is_ok()
        );
        let package = Charge {
            model: ChargeModel::Package {
                size: huge,
                price: dec!(1),
            },
            free_units: dec!(0),
        };
        assert!(package.validate().is_err());
    }

    fn charge(model: ChargeModel, free: Decimal) -> Charge {
        let c = Charge {
            model,
            free_units: free,
        };
        c.validate().unwrap();
        c
    }

    #[test]
    fn each_model_prices_as_worked_out_by_hand() {
        let std = charge(
            ChargeModel::Standard {
                unit_price: dec!(0.015),
            },
            dec!(10),
        );
        // (1000.5 - 10) × 0.015 = 14.8575 → 14.86
        assert_eq!(std.exact(dec!(1000.5)), dec!(14.8575));
        assert_eq!(std.amount(dec!(1000.5), 2), dec!(14.86));
        assert_eq!(std.amount(dec!(3), 2), dec!(0.00), "within the free units");
        let grad = charge(ChargeModel::Graduated { tiers: tiers() }, dec!(0));
        // 100 × 0.10 + (900 × 0.08 + 1) + 500 × 0.05 = 10 + 73 + 25
        assert_eq!(grad.exact(dec!(1500)), dec!(108));
        assert_eq!(grad.exact(dec!(100)), dec!(10));
        assert_eq!(grad.exact(dec!(100.5)), dec!(11.04));
        let vol = charge(ChargeModel::Volume { tiers: tiers() }, dec!(0));
        assert_eq!(vol.exact(dec!(1500)), dec!(75));
        assert_eq!(vol.exact(dec!(500)), dec!(41));
        assert_eq!(vol.exact(dec!(0)), dec!(0));
        let pkg = charge(
            ChargeModel::Package {
                size: dec!(100),
                price: dec!(5),
            },
            dec!(50),
        );
        assert_eq!(pkg.exact(dec!(50)), dec!(0));
        assert_eq!(pkg.exact(dec!(51)), dec!(5), "a started package counts");
        assert_eq!(pkg.exact(dec!(250)), dec!(10));
        let pct = charge(ChargeModel::Percentage { rate: dec!(0.029) }, dec!(0));
        assert_eq!(
            pct.amount(dec!(123.45), 2),
            dec!(3.58),
            "3.58005 rounds once"
        );
    }

    #[test]
    fn bad_charges_are_refused() {
        let bad = |model, free| {
            Charge {
                model,
                free_units: free,
            }
            .validate()
            .is_err()
        };
        assert!(bad(
            ChargeModel::Standard {
                unit_price: dec!(-1)
            },
            dec!(0)
        ));
        assert!(bad(
            ChargeModel::Standard {
                unit_price: dec!(1)
            },
            dec!(-1)
        ));
        assert!(bad(ChargeModel::Graduated { tiers: vec![] }, dec!(0)));
        let mut unordered = tiers();
        unordered.swap(0, 1);
        assert!(bad(ChargeModel::Graduated { tiers: unordered }, dec!(0)));
        let mut closed = tiers();
        closed[2].up_to = Some(dec!(5000));
        assert!(bad(ChargeModel::Volume { tiers: closed }, dec!(0)));
        assert!(bad(
            ChargeModel::Package {
                size: dec!(0),
                price: dec!(1)
            },
            dec!(0)
        ));
    }

    #[test]
    fn a_plan_change_mid_month_splits_the_base_fee_by_the_second() {
        use chrono::TimeZone;
        let start = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        let end = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let change = Utc.with_ymd_and_hms(2026, 11, 16, 12, 0, 0).unwrap();
        // 15.5 of 30 days at 30.00, 14.5 days at 60.00.
        assert_eq!(prorate(dec!(30), (start, end), (start, change)), dec!(15.5));
        assert_eq!(prorate(dec!(60), (start, end), (change, end)), dec!(29));
        assert_eq!(
            prorate(
                dec!(60),
                (start, end),
                (end, end + chrono::Duration::days(3))
            ),
            dec!(0)
        );
    }

    fn units() -> impl Strategy<Value = Decimal> {
        (0i64..5_000_000, 0u32..4).prop_map(|(n, s)| Decimal::new(n, s))
    }

    proptest! {
        /// Graduated tiers never charge a unit twice, nor skip one.
        #[test]
        fn graduated_tiers_split_the_units_exactly(u in units()) {
            let t = tiers();
            let split = graduated(&t, u);
            let total: Decimal = split.iter().map(|(_, n)| *n).sum();
            prop_assert_eq!(total, u);
            prop_assert!(split.iter().all(|(_, n)| *n > Decimal::ZERO));
        }

        /// More usage never costs less (volume pricing excepted: crossing
        /// into a cheaper tier can lower a total, by design).
        #[test]
        fn totals_are_monotone_in_usage(a in units(), b in units(), free in 0i64..1000) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let free = Decimal::from(free);
            for model in [
                ChargeModel::Standard { unit_price: dec!(0.013) },
                ChargeModel::Graduated { tiers: tiers() },
                ChargeModel::Package { size: dec!(7), price: dec!(1.5) },
                ChargeModel::Percentage { rate: dec!(0.029) },
            ] {
                let c = Charge { model, free_units: free };
                prop_assert!(c.exact(lo) <= c.exact(hi));
                prop_assert!(c.amount(lo, 2) <= c.amount(hi, 2));
            }
        }

        /// Splitting a period anywhere loses and adds nothing.
        #[test]
        fn prorated_parts_add_up_to_the_whole(fee in 0i64..10_000_000, cut in 0i64..2_592_000) {
            use chrono::TimeZone;
            let start = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
            let end = start + chrono::Duration::days(30);
            let at = start + chrono::Duration::seconds(cut);
            let fee = Decimal::new(fee, 2);
            let parts = prorate(fee, (start, end), (start, at)) + prorate(fee, (start, end), (at, end));
            prop_assert!((parts - fee).abs() <= Decimal::new(1, 20), "{parts} vs {fee}");
        }

        /// A line is rounded once: its amount is the exact total rounded,
        /// never a sum of rounded parts.
        #[test]
        fn rounding_happens_once_per_line(u in units()) {
            let c = Charge { model: ChargeModel::Graduated { tiers: tiers() }, free_units: Decimal::ZERO };
            let exact = c.exact(u);
            let amount = c.amount(u, 2);
            prop_assert_eq!(amount, exact.round_dp_with_strategy(2, LINE_ROUNDING));
            prop_assert!((amount - exact).abs() <= dec!(0.005));
        }
    }
}
