//! Quotas: five exact, non-negative integer dimensions. A reseller's
//! allotment is a quota too: the pool its live tenants' quotas share.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

/// Resources a tenant may use, or a reseller's tenants together.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Quota {
    /// CPU in millicores.
    pub cpu_millis: i64,
    /// Memory in bytes.
    pub memory_bytes: i64,
    /// Persistent storage in bytes.
    pub storage_bytes: i64,
    pub pods: i64,
    pub app_installs: i64,
}

/// The dimensions, as clients name them.
pub const DIMENSIONS: [&str; 5] = [
    "cpuMillis",
    "memoryBytes",
    "storageBytes",
    "pods",
    "appInstalls",
];

impl Quota {
    /// The dimensions in [`DIMENSIONS`] order.
    pub fn values(&self) -> [i64; 5] {
        [
            self.cpu_millis,
            self.memory_bytes,
            self.storage_bytes,
            self.pods,
            self.app_installs,
        ]
    }

    fn from_values(v: [i64; 5]) -> Self {
        Self {
            cpu_millis: v[0],
            memory_bytes: v[1],
            storage_bytes: v[2],
            pods: v[3],
            app_installs: v[4],
        }
    }

    /// Parses the five decimals of an input: each a whole number from 0 to 2⁶³−1.
    /// Errors name the dimension.
    pub fn from_decimals(values: [Decimal; 5]) -> Result<Self, (&'static str, String)> {
        let mut out = [0i64; 5];
        for (i, (d, name)) in values.iter().zip(DIMENSIONS).enumerate() {
            if d.is_sign_negative() && !d.is_zero() {
                return Err((name, format!("{name} cannot be negative ({d})")));
            }
            if d.normalize().scale() > 0 {
                return Err((name, format!("{name} must be a whole number ({d})")));
            }
            out[i] = d.to_i64().ok_or_else(|| {
                (
                    name,
                    format!("{name} is too large ({d}; at most {})", i64::MAX),
                )
            })?;
        }
        Ok(Self::from_values(out))
    }

    /// The sum, or `None` on overflow.
    pub fn checked_add(&self, other: &Quota) -> Option<Quota> {
        let (a, b) = (self.values(), other.values());
        let mut out = [0i64; 5];
        for i in 0..5 {
            out[i] = a[i].checked_add(b[i])?;
        }
        Some(Self::from_values(out))
    }

    /// The dimensions where `self` exceeds `limit`: (name, value, limit).
    pub fn excess_over(&self, limit: &Quota) -> Vec<(&'static str, i64, i64)> {
        DIMENSIONS
            .iter()
            .zip(self.values().into_iter().zip(limit.values()))
            .filter(|(_, (v, l))| v > l)
            .map(|(n, (v, l))| (*n, v, l))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal::dec;

    #[test]
    fn parses_whole_non_negative_numbers_only() {
        let q = Quota::from_decimals([dec!(1000), dec!(2147483648), dec!(0), dec!(10), dec!(3)])
            .unwrap();
        assert_eq!(q.memory_bytes, 2_147_483_648);
        assert_eq!(
            Quota::from_decimals([dec!(-1), dec!(0), dec!(0), dec!(0), dec!(0)])
                .unwrap_err()
                .0,
            "cpuMillis"
        );
        assert_eq!(
            Quota::from_decimals([dec!(0), dec!(1.5), dec!(0), dec!(0), dec!(0)])
                .unwrap_err()
                .0,
            "memoryBytes"
        );
        let huge = Decimal::from(i64::MAX) + Decimal::ONE;
        assert_eq!(
            Quota::from_decimals([dec!(0), dec!(0), huge, dec!(0), dec!(0)])
                .unwrap_err()
                .0,
            "storageBytes"
        );
        assert!(Quota::from_decimals([dec!(1.0), dec!(0), dec!(0), dec!(0), dec!(0)]).is_ok());
    }

    #[test]
    fn reports_each_exceeded_dimension() {
        let used = Quota {
            cpu_millis: 1500,
            pods: 3,
            ..Quota::default()
        };
        let limit = Quota {
            cpu_millis: 1000,
            pods: 3,
            ..Quota::default()
        };
        assert_eq!(used.excess_over(&limit), vec![("cpuMillis", 1500, 1000)]);
    }

    proptest! {
        #[test]
        fn a_sum_never_exceeds_a_limit_both_parts_fit_in(a in 0i64..1_000_000, b in 0i64..1_000_000, l in 0i64..2_000_000) {
            let qa = Quota { pods: a, ..Quota::default() };
            let qb = Quota { pods: b, ..Quota::default() };
            let limit = Quota { pods: l, ..Quota::default() };
            let sum = qa.checked_add(&qb).unwrap();
            prop_assert_eq!(sum.excess_over(&limit).is_empty(), a + b <= l);
        }
    }
}
