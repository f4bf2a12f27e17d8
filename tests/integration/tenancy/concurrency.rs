//! Concurrent requests keep the pool within bounds and create duplicates once.

use futures::future::join_all;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use super::fixture::{count, customer, jwt, quota, reseller, tenant, uuid_of};
use crate::test_both_dbs;

const CREATE: &str = "mutation($input: CreateTenantInput!) { createTenant(input: $input) { tenant { id } userErrors { code } } }";
const UPDATE: &str = "mutation($input: UpdateTenantQuotaInput!) { updateTenantQuota(input: $input) { tenant { id } userErrors { code } } }";

fn outcomes(bodies: &[Value], field: &str) -> (usize, usize) {
    let ok = bodies
        .iter()
        .filter(|b| b["data"][field]["tenant"].is_object())
        .count();
    let refused = bodies
        .iter()
        .filter(|b| b["data"][field]["userErrors"][0]["code"] == "QUOTA_EXCEEDED")
        .count();
    (ok, refused)
}

test_both_dbs!(
    concurrent_tenant_creation_never_overruns_the_allotment,
    |app| {
        let steward = app.token(&["steward"], "steward");
        let (_, reseller_id) = reseller(
            &app,
            &steward,
            "Pool",
            quota(4000, 1 << 34, 1 << 40, 100, 10),
        )
        .await;
        let token = jwt(&app, &["reseller"], "pool", Some(&reseller_id), None, &[]);
        let customer_id = customer(&app, &token, None, "C").await;

        let requests = (0..12).map(|i| {
        let input = json!({ "customerId": customer_id, "slug": format!("t{i}"), "quota": quota(1000, 1, 1, 1, 0) });
        app.graphql_vars(CREATE, json!({ "input": input }), Some(&token))
    });
        let bodies = join_all(requests).await;
        assert_eq!(
            outcomes(&bodies, "createTenant"),
            (4, 8),
            "exactly the tenants that fit: {bodies:?}"
        );
        let usage = app
            .graphql(
                "{ resellers { edges { node { allotmentInUse { cpuMillis } } } } }",
                Some(&token),
            )
            .await;
        assert_eq!(
            usage["data"]["resellers"]["edges"][0]["node"]["allotmentInUse"]["cpuMillis"],
            "4000"
        );
        // Tenant changes enqueue their sync; run it as a worker would.
        app.run_pending_jobs().await;
    }
);

test_both_dbs!(
    concurrent_quota_increases_never_overrun_the_allotment,
    |app| {
        let steward = app.token(&["steward"], "steward");
        let (_, reseller_id) = reseller(
            &app,
            &steward,
            "Pool",
            quota(4000, 1 << 34, 1 << 40, 100, 10),
        )
        .await;
        let token = jwt(&app, &["reseller"], "pool", Some(&reseller_id), None, &[]);
        let customer_id = customer(&app, &token, None, "C").await;
        let mut tenants = Vec::new();
        for i in 0..4 {
            tenants.push(
                tenant(
                    &app,
                    &token,
                    &customer_id,
                    &format!("t{i}"),
                    quota(500, 1, 1, 1, 0),
                )
                .await,
            );
        }
        // 2000 in use; each raise adds 1000: exactly two fit.
        let requests = tenants.iter().map(|id| {
            app.graphql_vars(
                UPDATE,
                json!({ "input": { "tenantId": id, "quota": quota(1500, 1, 1, 1, 0) } }),
                Some(&token),
            )
        });
        let bodies = join_all(requests).await;
        assert_eq!(outcomes(&bodies, "updateTenantQuota"), (2, 2), "{bodies:?}");
        let rows = app
            .db
            .query_one_raw(sea_orm::Statement::from_sql_and_values(
                app.db.get_database_backend(),
                "SELECT CAST(SUM(quota_cpu_millis) AS BIGINT) FROM tenants WHERE reseller_id = $1",
                [uuid_of(&reseller_id).into()],
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(rows.try_get_by_index::<i64>(0).unwrap(), 4000);
        // Tenant changes enqueue their sync; run it as a worker would.
        app.run_pending_jobs().await;
    }
);

test_both_dbs!(
    concurrent_duplicates_with_one_key_create_exactly_one_object,
    |app| {
        let steward = app.token(&["steward"], "steward");
        let (_, reseller_id) = reseller(
            &app,
            &steward,
            "Idem",
            quota(4000, 1 << 34, 1 << 40, 100, 10),
        )
        .await;
        let token = jwt(&app, &["reseller"], "idem", Some(&reseller_id), None, &[]);
        let customers_before = count(&app, "customers").await;
        let m = "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } userErrors { code } } }";
        let input = json!({ "name": "Dup", "billingEmail": "d@example.org", "country": "NL", "currency": "EUR", "taxRate": "0.21", "idempotencyKey": "signup-1" });
        let bodies =
            join_all((0..12).map(|_| app.graphql_vars(m, json!({ "input": input }), Some(&token))))
                .await;
        let ids: Vec<&Value> = bodies
            .iter()
            .map(|b| &b["data"]["createCustomer"]["customer"]["id"])
            .collect();
        assert!(
            ids.iter().all(|id| id.is_string() && *id == ids[0]),
            "every duplicate gets the first result: {bodies:?}"
        );
        assert_eq!(count(&app, "customers").await, customers_before + 1);

        let customer_id = ids[0].as_str().unwrap().to_owned();
        let t = json!({ "customerId": customer_id, "slug": "dup", "quota": quota(1, 1, 1, 1, 0), "idempotencyKey": "tenant-1" });
        let bodies = join_all(
            (0..12).map(|_| app.graphql_vars(CREATE, json!({ "input": t }), Some(&token))),
        )
        .await;
        assert!(
            bodies
                .iter()
                .all(|b| b["data"]["createTenant"]["tenant"]["id"]
                    == bodies[0]["data"]["createTenant"]["tenant"]["id"]),
            "{bodies:?}"
        );
        assert_eq!(count(&app, "tenants").await, 1);
        // Tenant changes enqueue their sync; run it as a worker would.
        app.run_pending_jobs().await;
    }
);
