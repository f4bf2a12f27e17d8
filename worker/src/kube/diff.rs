//! "Nothing to change": whether everything a desired object sets is already
//! so in the live one. Quantities compare by value, because an API server
//! stores `1000m` as `1` and `1073741824` as `1Gi`.

use rust_decimal::Decimal;
use serde_json::Value;

/// Whether `live` already has every field `desired` sets, with the same value.
pub fn is_subset(desired: &Value, live: &Value) -> bool {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => d.iter().all(|(k, dv)| match l.get(k) {
            Some(lv) => is_subset(dv, lv),
            None => {
                dv.is_null()
                    || dv.as_array().is_some_and(Vec::is_empty)
                    || dv.as_object().is_some_and(|o| o.is_empty())
            }
        }),
        (Value::Array(d), Value::Array(l)) => {
            d.len() == l.len() && d.iter().zip(l).all(|(a, b)| is_subset(a, b))
        }
        (Value::String(a), Value::String(b)) => {
            a == b || quantity(a).is_some_and(|qa| quantity(b) == Some(qa))
        }
        (Value::Number(a), Value::String(b)) | (Value::String(b), Value::Number(a)) => {
            quantity(&a.to_string()).is_some_and(|qa| quantity(b) == Some(qa))
        }
        (d, l) => d == l,
    }
}

/// A Kubernetes quantity (`500m`, `2`, `1Gi`, `1e3`, `128M`) as an exact number.
pub fn quantity(s: &str) -> Option<Decimal> {
    let split = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    let number: Decimal = number.parse().ok()?;
    let pow = |base: i64, exp: u32| Decimal::from(base.checked_pow(exp)?).into();
    let factor: Option<Decimal> = match suffix {
        "" => Some(Decimal::ONE),
        "m" => Some(Decimal::new(1, 3)),
        "k" => pow(1000, 1),
        "M" => pow(1000, 2),
        "G" => pow(1000, 3),
        "T" => pow(1000, 4),
        "P" => pow(1000, 5),
        "Ki" => pow(1024, 1),
        "Mi" => pow(1024, 2),
        "Gi" => pow(1024, 3),
        "Ti" => pow(1024, 4),
        "Pi" => pow(1024, 5),
        _ => None,
    };
    number.checked_mul(factor?).map(|d| d.normalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quantities_compare_by_value() {
        assert_eq!(quantity("1000m"), quantity("1"));
        assert_eq!(quantity("1073741824"), quantity("1Gi"));
        assert_ne!(quantity("1G"), quantity("1Gi"));
        assert_eq!(quantity("lots"), None);
    }

    #[test]
    fn a_subset_ignores_what_the_server_adds() {
        let desired = json!({ "spec": { "hard": { "requests.cpu": "1500m", "pods": "10" } }, "metadata": { "labels": { "a": "b" } } });
        let live = json!({ "spec": { "hard": { "requests.cpu": "1500m", "pods": "10" } }, "metadata": { "labels": { "a": "b" }, "uid": "x", "resourceVersion": "7" }, "status": {} });
        assert!(is_subset(&desired, &live));
        let edited = json!({ "spec": { "hard": { "requests.cpu": "9", "pods": "10" } }, "metadata": { "labels": { "a": "b" } } });
        assert!(!is_subset(&desired, &edited));
        assert!(is_subset(
            &json!({ "spec": { "hard": { "limits.memory": "1073741824" } } }),
            &json!({ "spec": { "hard": { "limits.memory": "1Gi" } } })
        ));
    }
}
