//! Placing orders: fulfilment, idempotency under concurrency, quota, and
//! orders that do not fit or are not the caller's.

use serde_json::{Value, json};

use super::{PLACE, catalog, footprint, order, place, place_ok};
use crate::table::Table;
use crate::tenancy::fixture::{Fixture, count, quota, tenant, uuid_of};
use crate::test_both_dbs;

test_both_dbs!(an_order_for_a_new_tenant_and_an_app_is_fulfilled, |app| {
    let f = Fixture::new(&app).await;
    let c = catalog(&app, &f.steward).await;
    let lines = json!([
        { "newTenant": { "slug": "alpha-blog", "planId": c.plan } },
        { "appInstall": { "newTenantSlug": "alpha-blog", "appVersionId": c.site_v1, "values": { "host": "blog.example.org" } } },
    ]);
    let placed = place_ok(
        &app,
        &f.a.reseller_token,
        &f.a.customer_id,
        "order-1",
        lines.clone(),
    )
    .await;
    assert_eq!(placed["state"], "pending");
    assert_eq!(placed["lines"][0]["kind"], "new_tenant");
    assert_eq!(placed["lines"][1]["kind"], "app_install");
    assert_eq!(
        placed["lines"][0]["tenantId"],
        placed["lines"][1]["tenantId"]
    );

    // The same key and order: the same order, nothing new.
    let rows = footprint(&app).await;
    let again = place_ok(
        &app,
        &f.a.reseller_token,
        &f.a.customer_id,
        "order-1",
        lines,
    )
    .await;
    assert_eq!(again["id"], placed["id"]);
    assert_eq!(footprint(&app).await, rows);
    // The same key, another order: refused.
    let other = place(
        &app,
        &f.a.reseller_token,
        &f.a.customer_id,
        "order-1",
        json!([{ "newTenant": { "slug": "alpha-other", "planId": c.plan } }]),
    )
    .await;
    assert_eq!(
        other["userErrors"][0]["code"], "IDEMPOTENCY_KEY_REUSED",
        "{other}"
    );

    app.run_pending_jobs().await;
    let done = order(&app, &f.a.reseller_token, placed["id"].as_str().unwrap()).await;
    assert_eq!(done["state"], "fulfilled", "{done}");
    assert!(
        done["lines"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["state"] == "fulfilled")
    );
    let tenant_id = done["lines"][0]["tenantId"].as_str().unwrap();
    let tenant = app
        .graphql_vars(
            "query($id: ID!) { node(id: $id) { ... on Tenant { slug state planId quota { appInstalls } appInstalls { id state version { version } values } } } }",
            json!({ "id": tenant_id }),
            Some(&f.a.reseller_token),
        )
        .await["data"]["node"]
        .clone();
    assert_eq!(tenant["state"], "active");
    assert_eq!(tenant["planId"], c.plan.as_str());
    assert_eq!(
        tenant["quota"]["appInstalls"], "3",
        "the plan's included quota"
    );
    assert_eq!(tenant["appInstalls"][0]["state"], "ready");
    assert_eq!(tenant["appInstalls"][0]["version"]["version"], "1.0.0+1.25");
    assert_eq!(
        tenant["appInstalls"][0]["values"],
        json!({ "host": "blog.example.org" })
    );
    // The manifests target holds the AppInstall with its values.
    let install_id = uuid_of(tenant["appInstalls"][0]["id"].as_str().unwrap());
    let dir = app
        .manifests_dir()
        .join("alpha-blog/apps")
        .join(install_id.to_string());
    let written: String = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(
        written.contains("kind: AppInstall") && written.contains("blog.example.org"),
        "{written}"
    );

    // The orders list: the reseller's own, filterable.
    let list = app
        .graphql(
            "{ orders(state: fulfilled) { totalCount edges { node { id customerId } } } }",
            Some(&f.a.reseller_token),
        )
        .await;
    assert_eq!(list["data"]["orders"]["totalCount"], 1, "{list}");
    assert_eq!(
        list["data"]["orders"]["edges"][0]["node"]["customerId"],
        f.a.customer_id.as_str()
    );
    let theirs = app
        .graphql("{ orders { totalCount } }", Some(&f.b.reseller_token))
        .await;
    assert_eq!(theirs["data"]["orders"]["totalCount"], 0);
    assert_eq!(
        order(&app, &f.b.reseller_token, placed["id"].as_str().unwrap()).await,
        Value::Null
    );
});

test_both_dbs!(
    twenty_concurrent_orders_with_one_key_make_one_order_and_one_install,
    |app| {
        let f = Fixture::new(&app).await;
        let c = catalog(&app, &f.steward).await;
        let lines =
            json!([{ "appInstall": { "tenantId": f.a.tenant_id, "appVersionId": c.site_v1 } }]);
        let results = futures::future::join_all((0..20).map(|_| {
            place(
                &app,
                &f.a.reseller_token,
                &f.a.customer_id,
                "same-key",
                lines.clone(),
            )
        }))
        .await;
        let ids: std::collections::BTreeSet<String> = results
            .iter()
            .map(|r| {
                assert_eq!(r["userErrors"], json!([]), "{r}");
                r["order"]["id"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(ids.len(), 1, "one order: {ids:?}");
        assert_eq!(count(&app, "orders").await, 1);
        assert_eq!(count(&app, "app_installs").await, 1);
        app.run_pending_jobs().await;
        assert_eq!(
            order(&app, &f.a.reseller_token, ids.first().unwrap()).await["state"],
            "fulfilled"
        );
    }
);

test_both_dbs!(
    twenty_concurrent_orders_beyond_the_quota_fulfil_exactly_those_that_fit,
    |app| {
        let f = Fixture::new(&app).await;
        let c = catalog(&app, &f.steward).await;
        // 1000 millicores: five sites at 200 each, and not one more.
        let tenant_id = tenant(
            &app,
            &f.a.reseller_token,
            &f.a.customer_id,
            "alpha-sites",
            quota(1000, 4 << 30, 0, 50, 10),
        )
        .await;
        let lines = json!([{ "appInstall": { "tenantId": tenant_id, "appVersionId": c.site_v1 } }]);
        let keys: Vec<String> = (0..20).map(|i| format!("key-{i}")).collect();
        let results = futures::future::join_all(keys.iter().map(|key| {
            place(
                &app,
                &f.a.reseller_token,
                &f.a.customer_id,
                key,
                lines.clone(),
            )
        }))
        .await;
        let placed: Vec<&Value> = results
            .iter()
            .filter(|r| r["userErrors"] == json!([]))
            .collect();
        let refused: Vec<&Value> = results
            .iter()
            .filter(|r| r["userErrors"] != json!([]))
            .collect();
        assert_eq!(placed.len(), 5, "{results:?}");
        for r in &refused {
            assert_eq!(r["userErrors"][0]["code"], "QUOTA_EXCEEDED", "{r}");
            assert_eq!(r["userErrors"][0]["field"], json!(["input", "lines", "0"]));
            assert!(
                r["userErrors"][0]["message"]
                    .as_str()
                    .unwrap()
                    .contains("cpuMillis: 1200 needed > 1000 quota"),
                "{r}"
            );
            assert!(r["order"].is_null());
        }
        assert_eq!(count(&app, "orders").await, 5);
        assert_eq!(count(&app, "app_installs").await, 5);
        app.run_pending_jobs().await;
        for p in placed {
            assert_eq!(
                order(
                    &app,
                    &f.a.reseller_token,
                    p["order"]["id"].as_str().unwrap()
                )
                .await["state"],
                "fulfilled"
            );
        }
    }
);

test_both_dbs!(
    an_order_that_does_not_fit_or_is_not_ours_changes_nothing,
    |app| {
        let f = Fixture::new(&app).await;
        let c = catalog(&app, &f.steward).await;
        place_ok(
            &app,
            &f.b.reseller_token,
            &f.b.customer_id,
            "b-host",
            json!([{ "appInstall": { "tenantId": f.b.tenant_id, "appVersionId": c.site_v1, "values": { "host": "shop.example.org" } } }]),
        )
        .await;
        let before = footprint(&app).await;
        let r = &f.a.reseller_token;
        let site =
            json!({ "appInstall": { "tenantId": f.a.tenant_id, "appVersionId": c.site_v1 } });
        let (a, b) = (&f.a.customer_id, &f.b.customer_id);
        // (row, customer, idempotency key, lines, code, field, what the message says)
        let rows = [
            // The reseller's allotment (10 CPUs, one in use): a new tenant of 9.5 does not fit.
            (
                "a new tenant past the reseller's allotment",
                a,
                "k1",
                json!([{ "newTenant": { "slug": "alpha-big", "planId": c.plan, "quota": quota(9500, 1 << 30, 0, 1, 1) } }]),
                "QUOTA_EXCEEDED",
                json!(["input", "lines"]),
                Some("cpuMillis: 1000 in use + 9500 requested > 10000 allotted"),
            ),
            // A tenant (2 installs) gets three: the whole order is refused, the first two lines too.
            (
                "three installs on a tenant of two",
                a,
                "k2",
                json!([site, site, site]),
                "QUOTA_EXCEEDED",
                json!(["input", "lines", "2"]),
                Some("appInstalls: 3 needed > 2 quota"),
            ),
            // Another reseller's customer, or its tenant: not found.
            (
                "another reseller's customer",
                b,
                "k3",
                json!([site]),
                "NOT_FOUND",
                json!(["input", "customerId"]),
                None,
            ),
            (
                "another reseller's tenant",
                a,
                "k4",
                json!([{ "appInstall": { "tenantId": f.b.tenant_id, "appVersionId": c.site_v1 } }]),
                "NOT_FOUND",
                json!(["input", "lines", "0", "tenantId"]),
                None,
            ),
            // Bad lines, each with its place.
            (
                "a setting the recipe does not have",
                a,
                "k5",
                json!([site, { "appInstall": { "tenantId": f.a.tenant_id, "appVersionId": c.site_v1, "values": { "env": { "SECRET": "x" } } } }]),
                "UNKNOWN_SETTING",
                json!(["input", "lines", "1", "values"]),
                None,
            ),
            (
                "an app outside the new tenant's plan",
                a,
                "k6",
                json!([{ "newTenant": { "slug": "alpha-x", "planId": c.site_only_plan } }, { "appInstall": { "newTenantSlug": "alpha-x", "appVersionId": c.notes_v1 } }]),
                "APP_NOT_IN_PLAN",
                json!(["input", "lines", "1", "appVersionId"]),
                None,
            ),
            (
                "a plan in another currency",
                a,
                "k7",
                json!([{ "newTenant": { "slug": "alpha-y", "planId": c.usd_plan } }]),
                "CURRENCY_MISMATCH",
                json!(["input", "lines", "0", "planId"]),
                None,
            ),
            (
                "an install on a new tenant the order does not make",
                a,
                "k8",
                json!([{ "appInstall": { "newTenantSlug": "nowhere", "appVersionId": c.site_v1 } }]),
                "UNKNOWN_TENANT",
                json!(["input", "lines", "0", "newTenantSlug"]),
                None,
            ),
            (
                "a slug that is not one",
                a,
                "k9",
                json!([{ "newTenant": { "slug": "Not A Slug", "planId": c.plan } }]),
                "INVALID_SLUG",
                json!(["input", "lines", "0", "slug"]),
                None,
            ),
            // A host another reseller's install serves cannot be taken.
            (
                "a host another reseller's install serves",
                a,
                "k9b",
                json!([{ "appInstall": { "tenantId": f.a.tenant_id, "appVersionId": c.site_v1, "values": { "host": "shop.example.org" } } }]),
                "HOST_TAKEN",
                json!(["input", "lines", "0", "values"]),
                None,
            ),
            (
                "no lines",
                a,
                "k10",
                json!([]),
                "INVALID_ORDER",
                json!(["input", "lines"]),
                None,
            ),
            (
                "an upgrade of an install id that is not one",
                a,
                "k11",
                json!([{ "appUpgrade": { "installId": "nonsense", "appVersionId": c.site_v2 } }]),
                "NOT_FOUND",
                json!(["input", "lines", "0", "installId"]),
                None,
            ),
        ];
        let mut table = Table::new("orders refused");
        for (name, customer, key, lines, code, field, says) in rows {
            // No order; the first user error's code, field and message.
            let expected = (Value::Null, json!(code), field, says.map(str::to_owned));
            table
                .row(name, expected, async {
                    let p = place(&app, r, customer, key, lines).await;
                    let e = &p["userErrors"][0];
                    let message = e["message"].as_str().unwrap_or_default();
                    // What the row expects the message to say, or all it says.
                    let said = says.map(|s| {
                        let said = if message.contains(s) { s } else { message };
                        said.to_owned()
                    });
                    let got = (
                        p["order"].clone(),
                        e["code"].clone(),
                        e["field"].clone(),
                        said,
                    );
                    (got, p)
                })
                .await;
        }
        table.finish();
        // A line with two choices is not a line.
        let body = app
        .graphql_vars(PLACE, json!({ "input": { "customerId": f.a.customer_id, "idempotencyKey": "k12", "lines": [
            { "newTenant": { "slug": "alpha-z", "planId": c.plan }, "appInstall": { "tenantId": f.a.tenant_id, "appVersionId": c.site_v1 } },
        ] } }), Some(r))
        .await;
        assert!(
            body["errors"].is_array() && body["data"].is_null(),
            "{body}"
        );
        // Members and tenant admins place no orders.
        let mut table = Table::new("callers who place no orders");
        for (name, token) in [
            ("a member", &f.a.member_token),
            ("a tenant admin", &f.a.tenant_admin_token),
        ] {
            table
                .row(name, json!("FORBIDDEN"), async {
                    let body = app
                    .graphql_vars(PLACE, json!({ "input": { "customerId": f.a.customer_id, "idempotencyKey": "k13", "lines": [site] } }), Some(token))
                    .await;
                    (body["errors"][0]["extensions"]["code"].clone(), body)
                })
                .await;
        }
        table.finish();
        assert_eq!(footprint(&app).await, before, "nothing was written");
        app.run_pending_jobs().await;
    }
);
