//! Billable metrics: how a period's usage events of one code become one
//! quantity. The aggregations are pure functions over exact decimals.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::Serialize;
use uuid::Uuid;

use crate::audit::Change;
use crate::auth::{Actor, Permission};
use crate::entity::billable_metric;
use crate::error::{Error, Result};
use crate::input::non_empty;
use crate::usecase::Mutation;

/// How a metric's events in a window become one quantity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    /// The number of events.
    Count,
    /// The sum of their quantities.
    Sum,
    /// The largest quantity.
    Max,
    /// The quantity of the last event.
    Latest,
    /// The number of distinct values of the metric's field.
    UniqueCount,
    /// Each event sets a level; the level integrated over time, in hours
    /// (a level of 2 GiB for 90 minutes is 3 GiB-hours).
    WeightedSum,
}

impl Aggregation {
    /// All, in their stored spelling.
    pub const ALL: [Aggregation; 6] = [
        Self::Count,
        Self::Sum,
        Self::Max,
        Self::Latest,
        Self::UniqueCount,
        Self::WeightedSum,
    ];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Count => "count",
            Self::Sum => "sum",
            Self::Max => "max",
            Self::Latest => "latest",
            Self::UniqueCount => "unique_count",
            Self::WeightedSum => "weighted_sum",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// One usage event, as aggregation sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Its quantity.
    pub quantity: Decimal,
    /// The value of the metric's field, for `unique_count`.
    pub value: Option<String>,
}

const SECONDS_PER_HOUR: i64 = 3600;

/// Aggregates `events` (those in `[start, end)`, in time order) with
/// `aggregation`. `level_before` is the last level set before `start`, for
/// `weighted_sum`; without one the level starts at zero.
pub fn aggregate(
    aggregation: Aggregation,
    events: &[Event],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    level_before: Option<Decimal>,
) -> Decimal {
    match aggregation {
        Aggregation::Count => Decimal::from(events.len()),
        Aggregation::Sum => events.iter().map(|e| e.quantity).sum(),
        Aggregation::Max => events
            .iter()
            .map(|e| e.quantity)
            .max()
            .unwrap_or(Decimal::ZERO),
        Aggregation::Latest => events.last().map_or(Decimal::ZERO, |e| e.quantity),
        Aggregation::UniqueCount => {
            let mut values: Vec<&str> = events.iter().filter_map(|e| e.value.as_deref()).collect();
            values.sort_unstable();
            values.dedup();
            Decimal::from(values.len())
        }
        Aggregation::WeightedSum => {
            // Σ level × seconds, divided once at the end.
            let mut level = level_before.unwrap_or(Decimal::ZERO);
            let mut since = start;
            let mut level_seconds = Decimal::ZERO;
            for e in events {
                let at = e.at.clamp(start, end);
                level_seconds += level * Decimal::from((at - since).num_seconds());
                level = e.quantity;
                since = at;
            }
            level_seconds += level * Decimal::from((end - since).num_seconds().max(0));
            level_hours(level_seconds)
        }
    }
}

/// Level × seconds as level-hours: divided once, from the normalized sum,
/// so every way of summing the same level-seconds (here, or in the
/// database) gives the same digits.
pub fn level_hours(level_seconds: Decimal) -> Decimal {
    level_seconds.normalize() / Decimal::from(SECONDS_PER_HOUR)
}

/// The metrics the worker meters from allocations, created at startup:
/// `(code, name, unit)`, each a `sum`.
pub const ALLOCATION_METRICS: [(&str, &str, &str); 4] = [
    ("cpu_core_hours", "CPU core-hours allocated", "core-hour"),
    ("memory_gib_hours", "Memory GiB-hours allocated", "GiB-hour"),
    (
        "storage_gib_hours",
        "Storage GiB-hours allocated",
        "GiB-hour",
    ),
    ("app_instance_hours", "App instance-hours", "instance-hour"),
];

/// Creates the allocation metrics that do not exist yet.
pub async fn ensure_builtin(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<()> {
    for (code, name, unit) in ALLOCATION_METRICS {
        let exists = billable_metric::Entity::find()
            .filter(billable_metric::Column::Code.eq(code))
            .one(db)
            .await?
            .is_some();
        if !exists {
            let inserted = billable_metric::ActiveModel {
                id: Set(Uuid::now_v7().into()),
                code: Set(code.into()),
                name: Set(name.into()),
                aggregation: Set("sum".into()),
                field_name: Set(None),
                unit: Set(unit.into()),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(db)
            .await;
            // Another process may have created it meanwhile.
            if let Err(e) = inserted
                && !matches!(
                    e.sql_err(),
                    Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                )
            {
                return Err(e.into());
            }
        }
    }
    Ok(())
}

/// A new billable metric.
#[derive(Clone, Debug, Serialize)]
pub struct NewMetric {
    /// Code events carry (`api_calls`).
    pub code: String,
    /// Name shown.
    pub name: String,
    /// One of [`Aggregation`]'s spellings.
    pub aggregation: String,
    /// The event property `unique_count` counts distinct values of.
    pub field_name: Option<String>,
    /// Unit shown.
    pub unit: String,
}

/// Creates a billable metric (stewards).
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    input: NewMetric,
    key: Option<&str>,
    now: DateTime<Utc>,
) -> Result<billable_metric::Model> {
    let grant = actor.principal.authorize(Permission::WriteCatalog)?;
    let code_ok = !input.code.is_empty()
        && input.code.len() <= 64
        && input
            .code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && input.code.starts_with(|c: char| c.is_ascii_lowercase());
    if !code_ok {
        return Err(Error::invalid(
            "code",
            "INVALID_CODE",
            format!(
                "`{}` is not a metric code (lowercase letters, digits and _, up to 64)",
                input.code
            ),
        ));
    }
    let name = non_empty("name", &input.name, 200)?;
    let unit = non_empty("unit", &input.unit, 40)?;
    let aggregation = Aggregation::parse(&input.aggregation).ok_or_else(|| {
        Error::invalid(
            "aggregation",
            "INVALID_AGGREGATION",
            "aggregation is count, sum, max, latest, unique_count or weighted_sum",
        )
    })?;
    let field_name = input
        .field_name
        .as_deref()
        .map(|f| non_empty("fieldName", f, 64))
        .transpose()?;
    if aggregation == Aggregation::UniqueCount && field_name.is_none() {
        return Err(Error::invalid(
            "fieldName",
            "FIELD_REQUIRED",
            "unique_count counts distinct values of a property: name it in fieldName",
        ));
    }
    let mut txn = Mutation::begin(db, actor, &grant, "createBillableMetric", now).await?;
    if let Some(id) = txn.claim(key, &input).await? {
        return txn
            .replay::<billable_metric::Entity>(id, |_| true, "billable metric")
            .await;
    }
    let model = billable_metric::ActiveModel {
        id: Set(Uuid::now_v7().into()),
        code: Set(input.code.clone()),
        name: Set(name),
        aggregation: Set(aggregation.as_str().into()),
        field_name: Set(field_name),
        unit: Set(unit),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(Error::conflict_on_unique(
        "code",
        "CODE_TAKEN",
        format!("a metric `{}` exists", input.code),
    ))?;
    let change = Change {
        object_type: "BillableMetric",
        object_id: model.id.into(),
        reseller_id: None,
        details: serde_json::json!({ "code": model.code, "aggregation": model.aggregation }),
    };
    txn.commit(change).await?;
    Ok(model)
}

/// Every metric, by code (any authenticated caller: it is part of the catalog).
pub async fn list(db: &impl ConnectionTrait, actor: &Actor) -> Result<Vec<billable_metric::Model>> {
    actor.principal.authorize(Permission::ReadCatalog)?;
    Ok(billable_metric::Entity::find()
        .order_by_asc(billable_metric::Column::Code)
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;
    use rust_decimal::dec;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, h, m, 0).unwrap()
    }

    fn ev(h: u32, m: u32, q: Decimal, v: Option<&str>) -> Event {
        Event {
            at: at(h, m),
            quantity: q,
            value: v.map(str::to_owned),
        }
    }

    #[test]
    fn each_aggregation_on_one_sample() {
        let events = [
            ev(1, 0, dec!(2), Some("a")),
            ev(2, 30, dec!(5.5), Some("b")),
            ev(3, 0, dec!(1), Some("a")),
        ];
        let (s, e) = (at(0, 0), at(4, 0));
        let agg = |a| aggregate(a, &events, s, e, None);
        assert_eq!(agg(Aggregation::Count), dec!(3));
        assert_eq!(agg(Aggregation::Sum), dec!(8.5));
        assert_eq!(agg(Aggregation::Max), dec!(5.5));
        assert_eq!(agg(Aggregation::Latest), dec!(1));
        assert_eq!(agg(Aggregation::UniqueCount), dec!(2));
        // 0 for 1 h, 2 for 1.5 h, 5.5 for 0.5 h, 1 for 1 h: 3 + 2.75 + 1 = 6.75.
        assert_eq!(agg(Aggregation::WeightedSum), dec!(6.75));
    }

    #[test]
    fn weighted_sum_carries_the_level_from_before_the_window() {
        let (s, e) = (at(0, 0), at(10, 0));
        assert_eq!(
            aggregate(Aggregation::WeightedSum, &[], s, e, Some(dec!(3))),
            dec!(30)
        );
        let events = [ev(5, 0, dec!(0), None)];
        assert_eq!(
            aggregate(Aggregation::WeightedSum, &events, s, e, Some(dec!(3))),
            dec!(15)
        );
    }

    #[test]
    fn empty_windows_aggregate_to_zero() {
        for a in Aggregation::ALL {
            assert_eq!(aggregate(a, &[], at(0, 0), at(1, 0), None), Decimal::ZERO);
            assert_eq!(Aggregation::parse(a.as_str()), Some(a));
        }
    }

    proptest! {
        #[test]
        fn a_constant_level_integrates_to_level_times_hours(level in 0i64..1_000_000, hours in 1u32..23) {
            let level = Decimal::new(level, 3);
            let got = aggregate(Aggregation::WeightedSum, &[ev(0, 0, level, None)], at(0, 0), at(hours, 0), None);
            prop_assert_eq!(got, level * Decimal::from(hours));
        }

        #[test]
        fn sum_and_count_grow_with_every_event(qs in proptest::collection::vec(0i64..1_000_000, 0..40)) {
            let events: Vec<Event> = qs.iter().enumerate().map(|(i, q)| ev(0, u32::try_from(i).unwrap_or(0), Decimal::new(*q, 2), None)).collect();
            let mut last = (Decimal::ZERO, Decimal::ZERO);
            for n in 0..=events.len() {
                let sum = aggregate(Aggregation::Sum, &events[..n], at(0, 0), at(1, 0), None);
                let count = aggregate(Aggregation::Count, &events[..n], at(0, 0), at(1, 0), None);
                prop_assert!(sum >= last.0 && count >= last.1);
                last = (sum, count);
            }
        }
    }
}
