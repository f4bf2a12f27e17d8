//! The authorization matrix: every query and mutation, as each role,
//! against its own (reseller A's) and another party's (reseller B's) objects.

mod matrix;
mod operations;
mod shop;

use std::collections::BTreeSet;

use super::fixture::Fixture;
use crate::test_both_dbs;

use matrix::MATRIX;
use operations::run;
use shop::Shop;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Allowed,
    NotFound,
    Forbidden,
    Unauthenticated,
}
use Outcome::{Allowed as A, Forbidden as F, NotFound as N, Unauthenticated as U};

#[derive(Clone, Copy, Debug)]
enum Caller {
    Steward,
    Reseller,
    TenantAdmin,
    Member,
    Integration,
    Anonymous,
}

const CALLERS: [Caller; 6] = [
    Caller::Steward,
    Caller::Reseller,
    Caller::TenantAdmin,
    Caller::Member,
    Caller::Integration,
    Caller::Anonymous,
];

test_both_dbs!(every_operation_reaches_exactly_what_each_role_may, |app| {
    // Completeness: every query and mutation of the schema has a row.
    let schema = app
        .graphql(
            "{ __schema { queryType { fields { name } } mutationType { fields { name } } } }",
            Some(&app.token(&["steward"], "schema-reader")),
        )
        .await;
    let names: BTreeSet<String> = ["queryType", "mutationType"]
        .iter()
        .flat_map(|t| {
            schema["data"]["__schema"][t]["fields"]
                .as_array()
                .unwrap()
                .clone()
        })
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect();
    let covered: BTreeSet<String> = MATRIX.iter().map(|(op, _)| (*op).to_owned()).collect();
    assert_eq!(
        names, covered,
        "the authorization matrix must cover every query and mutation"
    );

    let fx = Fixture::new(&app).await;
    let shop = Shop::new(&app, &fx).await;
    let mut failures = Vec::new();
    for (op, expected) in MATRIX {
        for (caller, (own, other)) in CALLERS.iter().zip(expected) {
            let got_own = run(&app, &fx, &shop, op, *caller, &fx.a).await;
            let got_other = run(&app, &fx, &shop, op, *caller, &fx.b).await;
            if (got_own, got_other) != (*own, *other) {
                failures.push(format!(
                    "{op} as {caller:?}: expected {:?}, got {:?}",
                    (own, other),
                    (got_own, got_other)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "authorization matrix mismatches:\n{}",
        failures.join("\n")
    );
    // Tenant changes enqueue their sync; run it as a worker would.
    app.run_pending_jobs().await;
});
