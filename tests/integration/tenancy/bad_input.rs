//! Bad input gets a clear error with a code, never a 500, and changes nothing.

use serde_json::{Value, json};

use super::fixture::{Fixture, count, global_id, quota};
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

fn user_error(body: &Value, field: &str) -> (String, Vec<String>) {
    let e = &body["data"][field]["userErrors"][0];
    (
        e["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no user error: {body}"))
            .to_owned(),
        e["field"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap().to_owned())
            .collect(),
    )
}

test_both_dbs!(
    bad_tenant_input_gets_user_errors_and_changes_nothing,
    |app| {
        let fx = Fixture::new(&app).await;
        let before = snapshot(&app).await;
        let m = "mutation($input: CreateTenantInput!) { createTenant(input: $input) { tenant { id } userErrors { field message code } } }";
        let unknown_customer = global_id("Customer", uuid::Uuid::now_v7());
        let cases = [
            (
                json!({ "customerId": fx.a.customer_id, "slug": "Bad_Slug", "quota": quota(1, 1, 1, 1, 0) }),
                "INVALID_SLUG",
                "slug",
            ),
            (
                json!({ "customerId": fx.a.customer_id, "slug": "kube-system", "quota": quota(1, 1, 1, 1, 0) }),
                "INVALID_SLUG",
                "slug",
            ),
            (
                json!({ "customerId": fx.a.customer_id, "slug": "x".repeat(60), "quota": quota(1, 1, 1, 1, 0) }),
                "INVALID_SLUG",
                "slug",
            ),
            (
                json!({ "customerId": fx.a.customer_id, "slug": "alpha-shop", "quota": quota(1, 1, 1, 1, 0) }),
                "SLUG_TAKEN",
                "slug",
            ),
            (
                json!({ "customerId": fx.a.customer_id, "slug": "ok", "cluster": "Not A Cluster", "quota": quota(1, 1, 1, 1, 0) }),
                "INVALID_CLUSTER",
                "cluster",
            ),
            (
                json!({ "customerId": fx.a.customer_id, "slug": "ok", "quota": quota(-1, 1, 1, 1, 0) }),
                "INVALID_QUOTA",
                "quota",
            ),
            (
                json!({ "customerId": fx.a.customer_id, "slug": "ok", "quota": { "cpuMillis": "1", "memoryBytes": "9223372036854775808", "storageBytes": "1", "pods": "1", "appInstalls": "0" } }),
                "INVALID_QUOTA",
                "quota",
            ),
            (
                json!({ "customerId": fx.a.customer_id, "slug": "ok", "quota": { "cpuMillis": "0.5", "memoryBytes": "1", "storageBytes": "1", "pods": "1", "appInstalls": "0" } }),
                "INVALID_QUOTA",
                "quota",
            ),
            (
                json!({ "customerId": unknown_customer, "slug": "ok", "quota": quota(1, 1, 1, 1, 0) }),
                "NOT_FOUND",
                "customerId",
            ),
            (
                json!({ "customerId": "garbage", "slug": "ok", "quota": quota(1, 1, 1, 1, 0) }),
                "NOT_FOUND",
                "customerId",
            ),
            (
                json!({ "customerId": fx.a.customer_id, "slug": "ok", "planId": global_id("Plan", uuid::Uuid::now_v7()), "quota": quota(1, 1, 1, 1, 0) }),
                "NOT_FOUND",
                "planId",
            ),
        ];
        for (input, code, field) in cases {
            let body = app
                .graphql_vars(m, json!({ "input": input }), Some(&fx.a.reseller_token))
                .await;
            assert_eq!(
                user_error(&body, "createTenant"),
                (code.to_owned(), vec!["input".to_owned(), field.to_owned()]),
                "{input}: {body}"
            );
            assert!(body["data"]["createTenant"]["tenant"].is_null());
        }
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
        let cases = [
            (
                with("currency", json!("EURO")),
                "INVALID_CURRENCY",
                "currency",
            ),
            (
                with("currency", json!("XXX")),
                "INVALID_CURRENCY",
                "currency",
            ),
            (with("country", json!("UK")), "INVALID_COUNTRY", "country"),
            (
                with("billingEmail", json!("not an email")),
                "INVALID_EMAIL",
                "billingEmail",
            ),
            (with("taxRate", json!("1.5")), "INVALID_TAX_RATE", "taxRate"),
            (
                with("taxRate", json!("-0.1")),
                "INVALID_TAX_RATE",
                "taxRate",
            ),
            (with("name", json!("   ")), "INVALID_TEXT", "name"),
            (
                with(
                    "resellerId",
                    json!(global_id("Reseller", uuid::Uuid::now_v7())),
                ),
                "NOT_FOUND",
                "resellerId",
            ),
        ];
        for (input, code, field) in cases {
            let body = app
                .graphql_vars(m, json!({ "input": input }), Some(&fx.steward))
                .await;
            assert_eq!(
                user_error(&body, "createCustomer"),
                (code.to_owned(), vec!["input".to_owned(), field.to_owned()]),
                "{input}: {body}"
            );
        }
        let m = "mutation($input: CreateMemberInput!) { createMember(input: $input) { member { id } userErrors { field code } } }";
        let body = app
        .graphql_vars(m, json!({ "input": { "kind": "person", "class": "user", "displayName": "x", "sharesHeld": "-3", "joinedOn": "2026-01-01" } }), Some(&fx.steward))
        .await;
        assert_eq!(user_error(&body, "createMember").0, "INVALID_SHARES");
        let m = "mutation($input: CreateResellerInput!) { createReseller(input: $input) { reseller { id } userErrors { field code } } }";
        let body = app
        .graphql_vars(m, json!({ "input": { "memberId": fx.a.person_id, "brandName": "x", "allotment": quota(1, 1, 1, 1, 1) } }), Some(&fx.steward))
        .await;
        assert_eq!(
            user_error(&body, "createReseller").0,
            "NOT_A_RESELLER_MEMBER"
        );
        let body = app
        .graphql_vars(m, json!({ "input": { "memberId": fx.a.member_id, "brandName": "x", "allotment": quota(1, 1, 1, 1, 1) } }), Some(&fx.steward))
        .await;
        assert_eq!(user_error(&body, "createReseller").0, "ALREADY_A_RESELLER");
        assert_eq!(snapshot(&app).await, before, "nothing changed");
        // Tenant changes enqueue their sync; run it as a worker would.
        app.run_pending_jobs().await;
    }
);

test_both_dbs!(
    oversized_pages_bad_cursors_and_expensive_queries_are_refused,
    |app| {
        let fx = Fixture::new(&app).await;
        for q in [
            "{ tenants(first: 101) { totalCount } }",
            "{ tenants(first: -1) { totalCount } }",
            "{ tenants(after: \"nope\") { totalCount } }",
        ] {
            let body = app.graphql(q, Some(&fx.steward)).await;
            assert_eq!(
                body["errors"][0]["extensions"]["code"], "BAD_INPUT",
                "{q}: {body}"
            );
        }
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
