//! Money and quantities are exact on both backends.

use coplane_domain::Fixed;
use coplane_domain::decimal::{read_sum, sum_select};
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, Statement};

use crate::test_both_dbs;

test_both_dbs!(amounts_keep_every_digit_and_sum_exactly_in_sql, |app| {
    let inputs = [
        "0.1",
        "0.2",
        "0.3",
        "12345678901234.123456789",
        "-0.000000001",
        "-42.5",
    ];
    let now = app.now();
    for s in inputs {
        let f = Fixed::from_decimal(s.parse().unwrap()).unwrap();
        app.execute(
            "INSERT INTO costs (id, period_start, period_end, description, amount_units, amount_nanos, \
             currency, recorded_by, created_at, updated_at) VALUES ($1, $2, $2, $3, $4, $5, 'EUR', 'test', $2, $2)",
            vec![uuid::Uuid::now_v7().into(), now.into(), s.into(), f.units().into(), f.nanos().into()],
        )
        .await;
    }
    let db = &app.db;
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT description, amount_units, amount_nanos FROM costs ORDER BY amount_units, amount_nanos",
        ))
        .await
        .unwrap();
    let read: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            let f = Fixed::from_parts(
                r.try_get("", "amount_units").unwrap(),
                r.try_get("", "amount_nanos").unwrap(),
            );
            (
                r.try_get("", "description").unwrap(),
                f.unwrap().to_decimal().to_string(),
            )
        })
        .collect();
    // Every digit comes back, and SQL orders the pairs by value.
    let mut expected: Vec<&str> = inputs.to_vec();
    expected.sort_by_key(|s| s.parse::<Decimal>().unwrap());
    assert_eq!(
        read.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>(),
        expected
    );
    assert!(read.iter().all(|(d, v)| d == v));

    let sum = |filter: &str| {
        let sql = format!("SELECT {} FROM costs {filter}", sum_select(db, "amount"));
        async move {
            let row = db
                .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
                .await
                .unwrap()
                .unwrap();
            read_sum(&row, "amount").unwrap().to_string()
        }
    };
    assert_eq!(sum("").await, "12345678901192.223456788");
    assert_eq!(sum("WHERE description IN ('0.1', '0.2')").await, "0.3");
    assert_eq!(sum("WHERE description = 'nothing'").await, "0");
});
