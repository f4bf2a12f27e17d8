//! Bad input gets a clear error with a code, never a 500, and changes nothing.

use serde_json::{Value, json};

use super::fixture::{Fixture, count, global_id, quota};
use crate::table::Table;
use crate::{TestApp, test_both_dbs};

async fn snapshot(app: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for t in [
        "members",
        "resellers",
        "customers",
        "tenants",
        "audit_events",
        "idempotency_keys",
        "api_tokens",
    ] {
        counts.push(count(app, t).await);
    }
    counts
}

/// The first user error of `mutation`'s payload, as the rows expect it:
/// `[code, field]` (`null` where absent).
fn user_error(body: &Value, mutation: &str) -> Value {
    let e = &body["data"][mutation]["userErrors"][0];
    json!([e["code"], e["field"]])
}

/// A refusal row's expectation: `code` on `input.FIELD`.
fn refused(code: &str, field: &str) -> Value {
    json!([code, ["input", field]])
}

test_both_dbs!(
    bad_tenant_input_gets_user_errors_and_changes_nothing,
    |app| {
        let fx = Fixture::new(&app).await;
        let before = snapshot(&app).await;
        let m = "mutation($input: CreateTenantInput!) { createTenant(input: $input) { tenant { id } userErrors { field message code } } }";
        let unknown_customer = global_id("Customer", uuid::Uuid::now_v7());
        let a_customer = &fx.a.customer_id;
        let one = quota(1, 1, 1, 1, 0);
        let rows = [
            (
                "a slug with capitals and an underscore",
                json!({ "customerId": a_customer, "slug": "Bad_Slug", "quota": one }),
                refused("INVALID_SLUG", "slug"),
            ),
            (
                "a reserved slug",
                json!({ "customerId": a_customer, "slug": "kube-system", "quota": one }),
                refused("INVALID_SLUG", "slug"),
            ),
            (
                "a slug of 60 characters",
                json!({ "customerId": a_customer, "slug": "x".repeat(60), "quota": one }),
                refused("INVALID_SLUG", "slug"),
            ),
            (
                "a slug already taken",
                json!({ "customerId": a_customer, "slug": "alpha-shop", "quota": one }),
                refused("SLUG_TAKEN", "slug"),
            ),
            (
                "a cluster name that is not a name",
                json!({ "customerId": a_customer, "slug": "ok", "cluster": "Not A Cluster", "quota": one }),
                refused("INVALID_CLUSTER", "cluster"),
            ),
            (
                "a negative quota",
                json!({ "customerId": a_customer, "slug": "ok", "quota": quota(-1, 1, 1, 1, 0) }),
                refused("INVALID_QUOTA", "quota"),
            ),
            (
                "a quota past 64 bits",
                json!({ "customerId": a_customer, "slug": "ok", "quota": { "cpuMillis": "1", "memoryBytes": "9223372036854775808", "storageBytes": "1", "pods": "1", "appInstalls": "0" } }),
                refused("INVALID_QUOTA", "quota"),
            ),
            (
                "a fractional quota",
                json!({ "customerId": a_customer, "slug": "ok", "quota": { "cpuMillis": "0.5", "memoryBytes": "1", "storageBytes": "1", "pods": "1", "appInstalls": "0" } }),
                refused("INVALID_QUOTA", "quota"),
            ),
            (
                "an unknown customer",
                json!({ "customerId": unknown_customer, "slug": "ok", "quota": one }),
                refused("NOT_FOUND", "customerId"),
            ),
            (
                "a customer id that is not an id",
                json!({ "customerId": "garbage", "slug": "ok", "quota": one }),
                refused("NOT_FOUND", "customerId"),
            ),
            (
                "an unknown plan",
                json!({ "customerId": a_customer, "slug": "ok", "planId": global_id("Plan", uuid::Uuid::now_v7()), "quota": one }),
                refused("NOT_FOUND", "planId"),
            ),
        ];
        let mut table = Table::new("createTenant refusals");
        for (name, input, expected) in rows {
            // The refusal, and no tenant.
            table
                .row(name, (expected, Value::Null), async {
                    let body = app
                        .graphql_vars(m, json!({ "input": input }), Some(&fx.a.reseller_token))
                        .await;
                    let tenant = body["data"]["createTenant"]["tenant"].clone();
                    ((user_error(&body, "createTenant"), tenant), body)
                })
                .await;
        }
        table.finish();
        // A quantity that is not a number is a GraphQL error (the Decimal scalar), not a 500.
        let body = app
        .graphql_vars(
            m,
            json!({ "input": { "customerId": fx.a.customer_id, "slug": "ok", "quota": { "cpuMillis": "lots", "memoryBytes": "1", "storageBytes": "1", "pods": "1", "appInstalls": "0" } } }),
            Some(&fx.a.reseller_token),
        )
        .await;
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("Decimal"),
            "{body}"
        );
        assert_eq!(snapshot(&app).await, before, "nothing changed");
        // Tenant changes enqueue their sync; run it as a worker would.
        app.run_pending_jobs().await;
    }
);

test_both_dbs!(
    bad_customer_input_gets_user_errors_and_changes_nothing,
    |app| {
        let fx = Fixture::new(&app).await;
        let before = snapshot(&app).await;
        let m = "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } userErrors { field message code } } }";
        let base = json!({ "name": "n", "billingEmail": "b@example.org", "country": "DE", "currency": "EUR", "taxRate": "0.19" });
        let with = |k: &str, v: Value| {
            let mut i = base.clone();
            i[k] = v;
            i
        };
        let rows = [
            (
                "a currency of four letters",
                with("currency", json!("EURO")),
                refused("INVALID_CURRENCY", "currency"),
            ),
            (
                "a currency that is not one",
                with("currency", json!("XXX")),
                refused("INVALID_CURRENCY", "currency"),
            ),
            (
                "a country that is not one",
                with("country", json!("UK")),
                refused("INVALID_COUNTRY", "country"),
            ),
            (
                "a billing email that is not one",
                with("billingEmail", json!("not an email")),
                refused("INVALID_EMAIL", "billingEmail"),
            ),
            (
                "a tax rate above 1",
                with("taxRate", json!("1.5")),
                refused("INVALID_TAX_RATE", "taxRate"),
            ),
            (
                "a negative tax rate",
                with("taxRate", json!("-0.1")),
                refused("INVALID_TAX_RATE", "taxRate"),
            ),
            (
                "a blank name",
                with("name", json!("   ")),
                refused("INVALID_TEXT", "name"),
            ),
            (
                "an unknown reseller",
                with(
                    "resellerId",
                    json!(global_id("Reseller", uuid::Uuid::now_v7())),
                ),
                refused("NOT_FOUND", "resellerId"),
            ),
        ];
        let mut table = Table::new("createCustomer refusals");
        for (name, input, expected) in rows {
            table
                .row(name, expected, async {
                    let body = app
                        .graphql_vars(m, json!({ "input": input }), Some(&fx.steward))
                        .await;
                    (user_error(&body, "createCustomer"), body)
                })
                .await;
        }
        table.finish();

        // Members and resellers: the code only.
        let member = "mutation($input: CreateMemberInput!) { createMember(input: $input) { member { id } userErrors { field code } } }";
        let reseller = "mutation($input: CreateResellerInput!) { createReseller(input: $input) { reseller { id } userErrors { field code } } }";
        let rows = [
            (
                "a member with negative shares",
                member,
                "createMember",
                json!({ "kind": "person", "class": "user", "displayName": "x", "sharesHeld": "-3", "joinedOn": "2026-01-01" }),
                "INVALID_SHARES",
            ),
            (
                "a reseller on a person member",
                reseller,
                "createReseller",
                json!({ "memberId": fx.a.person_id, "brandName": "x", "allotment": quota(1, 1, 1, 1, 1) }),
                "NOT_A_RESELLER_MEMBER",
            ),
            (
                "a second reseller on one member",
                reseller,
                "createReseller",
                json!({ "memberId": fx.a.member_id, "brandName": "x", "allotment": quota(1, 1, 1, 1, 1) }),
                "ALREADY_A_RESELLER",
            ),
        ];
        let mut table = Table::new("createMember and createReseller refusals");
        for (name, m, mutation, input, code) in rows {
            table
                .row(name, json!(code), async {
                    let body = app
                        .graphql_vars(m, json!({ "input": input }), Some(&fx.steward))
                        .await;
                    (user_error(&body, mutation)[0].clone(), body)
                })
                .await;
        }
        table.finish();
        assert_eq!(snapshot(&app).await, before, "nothing changed");
        // Tenant changes enqueue their sync; run it as a worker would.
        app.run_pending_jobs().await;
    }
);

test_both_dbs!(
    oversized_pages_bad_cursors_and_expensive_queries_are_refused,
    |app| {
        let fx = Fixture::new(&app).await;
        let mut table = Table::new("page and cursor refusals");
        for (name, q) in [
            ("a page past 100", "{ tenants(first: 101) { totalCount } }"),
            ("a negative page", "{ tenants(first: -1) { totalCount } }"),
            (
                "a cursor that is not one",
                "{ tenants(after: \"nope\") { totalCount } }",
            ),
        ] {
            table
                .row(name, json!("BAD_INPUT"), async {
                    let body = app.graphql(q, Some(&fx.steward)).await;
                    (body["errors"][0]["extensions"]["code"].clone(), body)
                })
                .await;
        }
        table.finish();
        let many: String = (0..10)
            .map(|i| {
                format!("a{i}: tenants(first: 100) {{ edges {{ node {{ id slug namespace }} }} }} ")
            })
            .collect();
        let body = app
            .graphql(&format!("{{ {many} }}"), Some(&fx.steward))
            .await;
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("too complex"),
            "{body}"
        );
        // Tenant changes enqueue their sync; run it as a worker would.
        app.run_pending_jobs().await;
    }
);
