//! Rating: a tenant's plan spans and usage in a period, priced for one
//! layer (list, wholesale or retail), as invoice lines. Pure functions.
//!
//! Prices: the co-op's plans carry list prices. A reseller pays wholesale,
//! the list price less its discount. Its customers pay retail: the plan's
//! base fee as the reseller's storefront shows it (an explicit price, or
//! the reseller's wholesale price with its markup), metered charges at the
//! wholesale price with the markup. The co-op's direct customers pay list
//! prices. Each line's amount is rounded once, by the money rule.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::charges::Charge;
use crate::catalog::pricing::{retail_price, wholesale_price};
use crate::ids::PlanId;

/// A plan's terms as rated.
#[derive(Clone, Debug)]
pub struct PlanTerms {
    /// Its id.
    pub id: PlanId,
    /// Its code.
    pub code: String,
    /// Name shown.
    pub name: String,
    /// Its currency.
    pub currency: String,
    /// List base fee per interval.
    pub base_fee: Decimal,
    /// `month` | `year`: a yearly fee is billed a twelfth per monthly period.
    pub interval: String,
    /// Its metered charges, by metric.
    pub charges: Vec<MeteredCharge>,
    /// The version of its charges.
    pub version: i32,
}

/// A plan's charge on one metric.
#[derive(Clone, Debug)]
pub struct MeteredCharge {
    /// The metric's code.
    pub metric: String,
    /// Its name, for the line.
    pub metric_name: String,
    /// The charge at list price.
    pub charge: Charge,
}

/// A time a tenant held a plan within the period, and its usage then.
#[derive(Clone, Debug)]
pub struct Span {
    /// The plan.
    pub plan: PlanTerms,
    /// From (within the period).
    pub from: DateTime<Utc>,
    /// To (exclusive).
    pub to: DateTime<Utc>,
    /// Aggregated usage per metric code in `[from, to)`.
    pub usage: std::collections::HashMap<String, Decimal>,
}

/// Whose prices.
#[derive(Clone, Debug)]
pub enum Layer {
    /// The co-op's list prices (direct customers).
    List,
    /// The co-op to a reseller: list less `discount` (a fraction).
    Wholesale {
        /// The reseller's discount.
        discount: Decimal,
    },
    /// A reseller to its customer: the reseller's wholesale price (list
    /// less `discount`) with its markup, or its explicit base fee.
    Retail {
        /// The reseller's wholesale discount (a fraction).
        discount: Decimal,
        /// The reseller's markup over its wholesale price (a fraction).
        markup: Option<Decimal>,
        /// Explicit base fees per plan id.
        explicit: std::collections::HashMap<PlanId, Decimal>,
        /// The reseller's price list version.
        version: i32,
    },
}

impl Layer {
    fn factor(&self) -> Decimal {
        match self {
            Layer::List => Decimal::ONE,
            Layer::Wholesale { discount } => Decimal::ONE - discount,
            Layer::Retail {
                discount, markup, ..
            } => (Decimal::ONE - discount) * (Decimal::ONE + markup.unwrap_or_default()),
        }
    }

    /// What a line was priced from: the plan's version, and for retail the
    /// price list, the wholesale discount and the markup (or `explicit` for
    /// a base fee the reseller set).
    fn version(&self, plan: &PlanTerms, base_fee: bool) -> String {
        match self {
            Layer::List => format!("plan:{}@{}", plan.code, plan.version),
            Layer::Wholesale { discount } => {
                format!(
                    "plan:{}@{};wholesale-{}",
                    plan.code,
                    plan.version,
                    discount.normalize()
                )
            }
            Layer::Retail {
                discount,
                markup,
                explicit,
                version,
            } => {
                let basis = if base_fee && explicit.contains_key(&plan.id) {
                    "explicit".to_owned()
                } else {
                    format!(
                        "wholesale-{};markup-{}",
                        discount.normalize(),
                        markup.unwrap_or_default().normalize()
                    )
                };
                format!(
                    "plan:{}@{};pricelist@{};{basis}",
                    plan.code, plan.version, version
                )
            }
        }
    }
}

/// One rated line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RatedLine {
    /// What it is.
    pub description: String,
    /// The metric, for metered lines.
    pub metric: Option<String>,
    /// Quantity: the share of the period for a base fee, billable units
    /// (after free units) for a metered charge.
    pub quantity: Decimal,
    /// Price per unit (for tiered models, the average).
    pub unit_price: Decimal,
    /// The exact amount, before rounding.
    pub precise: Decimal,
    /// Rounded once to the currency's minor unit.
    pub amount: Decimal,
    /// The price version used.
    pub price_version: String,
}

fn round(d: Decimal, minor: u32) -> Decimal {
    crate::decimal::round_money(d, minor)
}

/// Rates one tenant's spans in `period` for `layer`.
pub fn rate(
    tenant: &str,
    period: (DateTime<Utc>, DateTime<Utc>),
    spans: &[Span],
    layer: &Layer,
    minor: u32,
) -> Vec<RatedLine> {
    let whole = Decimal::from((period.1 - period.0).num_seconds().max(1));
    let factor = layer.factor();
    let mut lines = Vec::new();
    for span in spans {
        let secs = Decimal::from((span.to - span.from).num_seconds().max(0));
        let share = secs / whole;
        let full = span.from <= period.0 && span.to >= period.1;
        let plan = &span.plan;
        let per_period = |fee: Decimal| {
            if plan.interval == "year" {
                fee / Decimal::from(12)
            } else {
                fee
            }
        };
        let base = match layer {
            Layer::Retail {
                discount,
                markup,
                explicit,
                ..
            } => per_period(retail_price(
                wholesale_price(plan.base_fee, *discount),
                *markup,
                explicit.get(&plan.id).copied(),
                minor,
            )),
            _ => per_period(plan.base_fee) * factor,
        };
        let when = if full {
            String::new()
        } else {
            format!(
                ", {} – {}",
                span.from.format("%Y-%m-%d %H:%M"),
                span.to.format("%Y-%m-%d %H:%M")
            )
        };
        if !base.is_zero() {
            let precise = base * share;
            lines.push(RatedLine {
                description: format!("{tenant}: plan {} base fee{when}", plan.name),
                metric: None,
                quantity: share
                    .round_dp_with_strategy(9, crate::decimal::MONEY_ROUNDING)
                    .normalize(),
                unit_price: base
                    .round_dp_with_strategy(9, crate::decimal::MONEY_ROUNDING)
                    .normalize(),
                precise,
                amount: round(precise, minor),
                price_version: layer.version(plan, true),
            });
        }
        for mc in &plan.charges {
            let used = span.usage.get(&mc.metric).copied().unwrap_or_default();
            let charge = Charge {
                model: mc.charge.model.clone(),
                free_units: if full {
                    mc.charge.free_units
                } else {
                    mc.charge.free_units * share
                },
            };
            let billable = charge.billable(used);
            let precise = charge.exact(used) * factor;
            if billable.is_zero() && precise.is_zero() {
                continue;
            }
            let unit_price = match &charge.model {
                super::ChargeModel::Standard { unit_price } => *unit_price * factor,
                _ if billable.is_zero() => Decimal::ZERO,
                _ => precise / billable,
            };
            let free = if charge.free_units.is_zero() {
                String::new()
            } else {
                format!(
                    " ({} free)",
                    charge
                        .free_units
                        .round_dp_with_strategy(9, crate::decimal::MONEY_ROUNDING)
                        .normalize()
                )
            };
            lines.push(RatedLine {
                description: format!("{tenant}: {}{free}{when}", mc.metric_name),
                metric: Some(mc.metric.clone()),
                quantity: billable
                    .round_dp_with_strategy(9, crate::decimal::MONEY_ROUNDING)
                    .normalize(),
                unit_price: unit_price
                    .round_dp_with_strategy(9, crate::decimal::MONEY_ROUNDING)
                    .normalize(),
                precise,
                amount: round(precise, minor),
                price_version: layer.version(plan, false),
            });
        }
    }
    lines
}

/// Tax on a subtotal: `rate` of it rounded once, or nothing under reverse charge.
pub fn tax(subtotal: Decimal, rate: Decimal, reverse_charge: bool, minor: u32) -> Decimal {
    if reverse_charge {
        round(Decimal::ZERO, minor)
    } else {
        round(subtotal * rate, minor)
    }
}

#[cfg(test)]
mod tests {
    use super::super::ChargeModel;
    use super::*;
    use chrono::TimeZone;
    use rust_decimal::dec;

    fn plan() -> PlanTerms {
        PlanTerms {
            id: PlanId::from(uuid::Uuid::nil()),
            code: "pro".into(),
            name: "Pro".into(),
            currency: "EUR".into(),
            base_fee: dec!(30),
            interval: "month".into(),
            charges: vec![MeteredCharge {
                metric: "cpu".into(),
                metric_name: "CPU".into(),
                charge: Charge {
                    model: ChargeModel::Standard {
                        unit_price: dec!(0.02),
                    },
                    free_units: dec!(100),
                },
            }],
            version: 1,
        }
    }

    #[test]
    fn a_half_period_span_pays_half_the_fee_and_half_the_free_units() {
        let start = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        let mid = Utc.with_ymd_and_hms(2026, 11, 16, 0, 0, 0).unwrap();
        let end = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let span = Span {
            plan: plan(),
            from: mid,
            to: end,
            usage: [("cpu".to_owned(), dec!(250))].into(),
        };
        let lines = rate(
            "t",
            (start, end),
            &[span],
            &Layer::Wholesale {
                discount: dec!(0.2),
            },
            2,
        );
        assert_eq!(lines.len(), 2);
        // 30 × 0.8 × ½ = 12.00; (250 − 50) × 0.02 × 0.8 = 3.20.
        assert_eq!(lines[0].amount.to_string(), "12.00");
        assert_eq!(lines[1].quantity, dec!(200));
        assert_eq!(lines[1].unit_price, dec!(0.016));
        assert_eq!(lines[1].amount.to_string(), "3.20");
        assert_eq!(tax(dec!(15.20), dec!(0.21), false, 2).to_string(), "3.19");
        assert_eq!(tax(dec!(15.20), dec!(0.21), true, 2).to_string(), "0.00");
    }
}
