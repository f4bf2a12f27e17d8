//! The authorization matrix: every query and mutation, as each role,
//! against its own (reseller A's) and another party's (reseller B's) objects.

mod matrix;
mod operations;
mod shop;

use std::collections::BTreeSet;

use serde::Serialize;

use super::fixture::Fixture;
use crate::table::Table;
use crate::test_both_dbs;

use matrix::MATRIX;
use operations::run;
use shop::Shop;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
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
    // One row per operation and caller: its outcome against the caller's own
    // world (reseller A's) and another's (B's). Every row runs and reports;
    // the test fails at the end, listing each row that did not match.
    let mut table = Table::new("the authorization matrix");

    // Completeness: every query and mutation of the schema has a row, and
    // every row is an operation of the schema.
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
    table.check(
        "every query and mutation of the schema has a row (operations without one)",
        Vec::<&String>::new(),
        names.difference(&covered).collect(),
    );
    table.check(
        "every row is a query or mutation of the schema (rows without one)",
        Vec::<&String>::new(),
        covered.difference(&names).collect(),
    );

    let fx = Fixture::new(&app).await;
    let shop = Shop::new(&app, &fx).await;
    for (op, expected) in MATRIX {
        for (caller, (own, other)) in CALLERS.iter().zip(expected) {
            table
                .row(format!("{op} as {caller:?}"), (*own, *other), async {
                    let got_own = run(&app, &fx, &shop, op, *caller, &fx.a).await;
                    let got_other = run(&app, &fx, &shop, op, *caller, &fx.b).await;
                    ((got_own, got_other), "")
                })
                .await;
        }
    }
    table.finish();
    // Tenant changes enqueue their sync; run it as a worker would.
    app.run_pending_jobs().await;
});
