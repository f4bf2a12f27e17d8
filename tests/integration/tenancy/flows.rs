//! What resellers, ERPs and stewards do with the tenancy API.

use serde_json::{Value, json};

use super::fixture::{Fixture, allotment, count, customer, jwt, quota, reseller, tenant, uuid_of};
use crate::test_both_dbs;

test_both_dbs!(a_reseller_signs_up_a_customer_and_creates_a_tenant, |app| {
    let steward = app.token(&["steward"], "steward");
    let (_, reseller_id) = reseller(&app, &steward, "Alpha", allotment()).await;
    let token = jwt(
        &app,
        &["reseller"],
        "alpha-owner",
        Some(&reseller_id),
        None,
        &[],
    );

    let customer_id = customer(&app, &token, None, "Bäckerei Müller").await;
    let res = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&token)
        .header("x-request-id", "storefront-42")
        .json(&json!({
            "query": "mutation($input: CreateTenantInput!) { createTenant(input: $input) { tenant { id slug namespace cluster state \
                      quota { cpuMillis memoryBytes pods } customer { name currency taxRate } reseller { brandName } } userErrors { code } } }",
            "variables": { "input": { "customerId": customer_id, "slug": "mueller-shop", "quota": quota(500, 1 << 31, 5 << 30, 5, 1) } },
        }))
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    let tenant = &body["data"]["createTenant"]["tenant"];
    assert_eq!(
        *tenant,
        json!({
            "id": tenant["id"],
            "slug": "mueller-shop",
            "namespace": "coplane-mueller-shop",
            "cluster": "default",
            "state": "pending",
            "quota": { "cpuMillis": "500", "memoryBytes": "2147483648", "pods": "5" },
            "customer": { "name": "Bäckerei Müller", "currency": "EUR", "taxRate": "0.19" },
            "reseller": { "brandName": "Alpha Cloud" },
        }),
        "{body}"
    );

    // The mutation is in the audit trail, with who, which role and the request id.
    let audit = app
        .graphql_vars(
            "query($id: ID!) { auditEvents(objectId: $id) { edges { node { action actor actorRole objectType requestId } } } }",
            json!({ "id": tenant["id"] }),
            Some(&steward),
        )
        .await;
    assert_eq!(
        audit["data"]["auditEvents"]["edges"][0]["node"],
        json!({ "action": "createTenant", "actor": "alpha-owner", "actorRole": "reseller", "objectType": "Tenant", "requestId": "storefront-42" })
    );
    // Tenant changes enqueue their sync; run it as a worker would.
    app.run_pending_jobs().await;
});

test_both_dbs!(lists_paginate_filter_and_count, |app| {
    let fx = Fixture::new(&app).await;
    for i in 0..4 {
        tenant(
            &app,
            &fx.a.reseller_token,
            &fx.a.customer_id,
            &format!("page-{i}"),
            quota(10, 10, 10, 1, 0),
        )
        .await;
    }
    // A has 5 tenants now; walk them two at a time.
    let q = "query($after: String) { tenants(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { slug } } } }";
    let mut after = Value::Null;
    let mut slugs = Vec::new();
    loop {
        let body = app
            .graphql_vars(q, json!({ "after": after }), Some(&fx.a.reseller_token))
            .await;
        let conn = &body["data"]["tenants"];
        assert_eq!(conn["totalCount"], 5, "{body}");
        slugs.extend(
            conn["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["slug"].as_str().unwrap().to_owned()),
        );
        if conn["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(
        slugs,
        ["alpha-shop", "page-0", "page-1", "page-2", "page-3"]
    );

    // Filters: by customer, by state, by update time.
    let body = app
        .graphql_vars(
            "query($c: ID!) { tenants(customerId: $c, state: pending) { totalCount } }",
            json!({ "c": fx.b.customer_id }),
            Some(&fx.steward),
        )
        .await;
    assert_eq!(body["data"]["tenants"]["totalCount"], 1);
    let later = (app.now() + chrono::Duration::seconds(1)).to_rfc3339();
    let body = app
        .graphql_vars(
            "query($t: DateTime!) { tenants(updatedSince: $t) { totalCount } }",
            json!({ "t": later }),
            Some(&fx.steward),
        )
        .await;
    assert_eq!(body["data"]["tenants"]["totalCount"], 0);
    // Tenant changes enqueue their sync; run it as a worker would.
    app.run_pending_jobs().await;
});

test_both_dbs!(
    the_allotment_is_a_pool_and_refusals_carry_the_figures,
    |app| {
        let steward = app.token(&["steward"], "steward");
        let (_, reseller_id) = reseller(
            &app,
            &steward,
            "Small",
            quota(4000, 1 << 33, 1 << 40, 40, 4),
        )
        .await;
        let token = jwt(&app, &["reseller"], "small", Some(&reseller_id), None, &[]);
        let customer_id = customer(&app, &token, None, "C").await;
        let first = tenant(
            &app,
            &token,
            &customer_id,
            "one",
            quota(3000, 1 << 30, 1 << 30, 10, 1),
        )
        .await;
        let tenants_before = count(&app, "tenants").await;

        let create = "mutation($input: CreateTenantInput!) { createTenant(input: $input) { tenant { id } userErrors { field message code } } }";
        let body = app
        .graphql_vars(create, json!({ "input": { "customerId": customer_id, "slug": "two", "quota": quota(1500, 1, 1, 1, 0) } }), Some(&token))
        .await;
        let error = &body["data"]["createTenant"]["userErrors"][0];
        assert_eq!(error["code"], "QUOTA_EXCEEDED");
        assert_eq!(error["field"], json!(["input", "quota"]));
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("cpuMillis: 3000 in use + 1500 requested > 4000 allotted"),
            "{error}"
        );
        assert_eq!(
            count(&app, "tenants").await,
            tenants_before,
            "nothing was created"
        );

        let update = "mutation($input: UpdateTenantQuotaInput!) { updateTenantQuota(input: $input) { tenant { quota { cpuMillis } } userErrors { message code } } }";
        let body = app
            .graphql_vars(
                update,
                json!({ "input": { "tenantId": first, "quota": quota(4001, 1, 1, 1, 0) } }),
                Some(&token),
            )
            .await;
        assert_eq!(
            body["data"]["updateTenantQuota"]["userErrors"][0]["code"],
            "QUOTA_EXCEEDED"
        );
        let body = app
            .graphql_vars(
                update,
                json!({ "input": { "tenantId": first, "quota": quota(4000, 1, 1, 1, 0) } }),
                Some(&token),
            )
            .await;
        assert_eq!(
            body["data"]["updateTenantQuota"]["tenant"]["quota"]["cpuMillis"], "4000",
            "a tenant's own quota is not counted twice"
        );

        let allot = "mutation($input: SetResellerAllotmentInput!) { setResellerAllotment(input: $input) { reseller { allotment { cpuMillis } allotmentInUse { cpuMillis } } userErrors { message code } } }";
        let body = app.graphql_vars(allot, json!({ "input": { "resellerId": reseller_id, "allotment": quota(3999, 1 << 33, 1 << 40, 40, 4) } }), Some(&steward)).await;
        let error = &body["data"]["setResellerAllotment"]["userErrors"][0];
        assert_eq!(error["code"], "QUOTA_EXCEEDED");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("cpuMillis: 4000 in use > 3999 requested"),
            "{error}"
        );
        let body = app.graphql_vars("{ resellers { edges { node { allotment { cpuMillis } allotmentInUse { cpuMillis } } } } }", json!({}), Some(&steward)).await;
        assert_eq!(
            body["data"]["resellers"]["edges"][0]["node"],
            json!({ "allotment": { "cpuMillis": "4000" }, "allotmentInUse": { "cpuMillis": "4000" } })
        );

        // A terminated tenant's quota returns to the pool.
        app.execute(
            "UPDATE tenants SET state = 'terminated' WHERE id = $1",
            vec![uuid_of(&first).into()],
        )
        .await;
        tenant(&app, &token, &customer_id, "three", quota(4000, 1, 1, 1, 0)).await;
        // Tenant changes enqueue their sync; run it as a worker would.
        app.run_pending_jobs().await;
    }
);

test_both_dbs!(
    listing_tenants_with_their_customer_and_reseller_costs_a_bounded_number_of_statements,
    |app| {
        let fx = Fixture::new(&app).await;
        // 100 more tenants across 10 customers of both resellers, written directly.
        let mut customers = Vec::new();
        for i in 0..10 {
            let (world, token) = if i % 2 == 0 {
                (&fx.a, &fx.a.reseller_token)
            } else {
                (&fx.b, &fx.b.reseller_token)
            };
            customers.push((
                uuid_of(&customer(&app, token, None, &format!("c{i}")).await),
                uuid_of(&world.reseller_id),
            ));
        }
        for i in 0..100 {
            let (customer, reseller) = customers[i % 10];
            app.execute(
            "INSERT INTO tenants (id, customer_id, reseller_id, slug, cluster, namespace, quota_cpu_millis, quota_memory_bytes, \
             quota_storage_bytes, quota_pods, quota_app_installs, state, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'default', $5, 0, 0, 0, 0, 0, 'active', $6, $6)",
            vec![
                uuid::Uuid::now_v7().into(),
                customer.into(),
                reseller.into(),
                format!("bulk-{i}").into(),
                format!("coplane-bulk-{i}").into(),
                app.now().into(),
            ],
        )
        .await;
        }
        let query = |n: u32, total: &str| {
            format!(
                "{{ tenants(first: {n}) {{ {total} edges {{ node {{ slug customer {{ name }} reseller {{ brandName }} appInstalls {{ id }} }} }} }} }}"
            )
        };
        let mut costs = Vec::new();
        // 30 at most: each tenant's `appInstalls` weighs 50 against the complexity limit.
        for (n, total) in [(10, ""), (30, ""), (10, "totalCount"), (30, "totalCount")] {
            let before = app.statements().await;
            let body = app.graphql(&query(n, total), Some(&fx.steward)).await;
            let edges = body["data"]["tenants"]["edges"].as_array().unwrap();
            assert_eq!(edges.len(), n as usize);
            assert!(
                edges
                    .iter()
                    .all(|e| e["node"]["customer"]["name"].is_string()
                        && e["node"]["reseller"]["brandName"].is_string()
                        && e["node"]["appInstalls"].is_array())
            );
            if total.is_empty() {
                assert!(body["data"]["tenants"].get("totalCount").is_none());
            } else {
                assert!(body["data"]["tenants"]["totalCount"].as_u64().unwrap() > 100);
            }
            // The difference includes the queue-depth read of the second scrape.
            costs.push(app.statements().await - before);
        }
        // The page with its customers, resellers and (when asked for) its
        // total in one statement, one batch of installs, and the second
        // scrape's queue read: 3. The installs' batch may split in two when
        // resolving the page outlasts the loader's window; N+1 would add a
        // statement per row.
        println!("statements for 10 and 30 tenants, then counted: {costs:?}");
        assert_eq!(costs[0], 3, "{costs:?}");
        assert_eq!(costs[2], 3, "{costs:?}");
        assert!(
            costs[1] <= 4 && costs[3] <= 4,
            "statements must not grow with the page: {costs:?}"
        );
        // Tenant changes enqueue their sync; run it as a worker would.
        app.run_pending_jobs().await;
    }
);

test_both_dbs!(node_resolves_every_kind_by_global_id, |app| {
    let fx = Fixture::new(&app).await;
    let q = "query($id: ID!) { node(id: $id) { __typename id } }";
    for (id, kind) in [
        (&fx.a.member_id, "Member"),
        (&fx.a.reseller_id, "Reseller"),
        (&fx.a.customer_id, "Customer"),
        (&fx.a.tenant_id, "Tenant"),
    ] {
        let body = app
            .graphql_vars(q, json!({ "id": id }), Some(&fx.steward))
            .await;
        assert_eq!(
            body["data"]["node"],
            json!({ "__typename": kind, "id": id })
        );
    }
    for garbage in ["", "not-base64!", "VGVuYW50Om5vdC1hLXV1aWQ"] {
        let body = app
            .graphql_vars(q, json!({ "id": garbage }), Some(&fx.steward))
            .await;
        assert_eq!(body["data"]["node"], Value::Null, "{garbage}");
    }
    // Tenant changes enqueue their sync; run it as a worker would.
    app.run_pending_jobs().await;
});

test_both_dbs!(
    creating_again_with_the_same_key_returns_the_first_result,
    |app| {
        let fx = Fixture::new(&app).await;
        let create = |slug: &str| json!({ "customerId": fx.a.customer_id, "slug": slug, "quota": quota(1, 1, 1, 1, 0), "idempotencyKey": "order-7" });
        let m = "mutation($input: CreateTenantInput!) { createTenant(input: $input) { tenant { id } userErrors { field code message } } }";
        let first = app
            .graphql_vars(
                m,
                json!({ "input": create("idem") }),
                Some(&fx.a.reseller_token),
            )
            .await;
        let again = app
            .graphql_vars(
                m,
                json!({ "input": create("idem") }),
                Some(&fx.a.reseller_token),
            )
            .await;
        assert_eq!(
            first["data"]["createTenant"]["tenant"]["id"],
            again["data"]["createTenant"]["tenant"]["id"]
        );
        let audits_before = count(&app, "audit_events").await;
        let other = app
            .graphql_vars(
                m,
                json!({ "input": create("idem-2") }),
                Some(&fx.a.reseller_token),
            )
            .await;
        assert_eq!(
            other["data"]["createTenant"]["userErrors"][0],
            json!({ "field": ["input", "idempotencyKey"], "code": "IDEMPOTENCY_KEY_REUSED", "message": "the idempotency key `order-7` was already used with a different input" })
        );
        assert_eq!(count(&app, "audit_events").await, audits_before);
        // Tenant changes enqueue their sync; run it as a worker would.
        app.run_pending_jobs().await;
    }
);
