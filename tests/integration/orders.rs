//! Storefront orders: placing, fulfilling, cancelling and retrying them, and
//! the installs they make, on the manifests target and against the fake
//! API server.

use std::sync::Arc;

use coplane_domain::clock::ManualClock;
use coplane_tests::fake_kube::FakeKube;
use serde_json::{Value, json};

use crate::kube::Operator;
use crate::tenancy::fixture::{Fixture, count, mutate, quota, tenant, uuid_of};
use crate::{TestApp, test_both_dbs};

const PLACE: &str = "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id state lines { position kind state reason tenantId appInstallId } } userErrors { field code message } } }";
const ORDER: &str = "query($id: ID!) { order(id: $id) { id state failureReason lines { kind state reason tenantId appInstallId } } }";
const INSTALL: &str = "query($id: ID!) { node(id: $id) { ... on AppInstall { state statusMessage values version { version } previousVersion { version } availableUpgrades { version } } } }";

/// The sample catalog: a static site (two versions), an app with a volume,
/// and a plan that includes the site only.
pub struct Catalog {
    pub site_v1: String,
    pub site_v2: String,
    pub notes_v1: String,
    pub plan: String,
    pub site_only_plan: String,
    pub usd_plan: String,
}

fn site(tag: &str) -> Value {
    json!({
        "image": "ghcr.io/coop/site", "tag": tag,
        "ports": [{ "name": "http", "port": 8080 }],
        "env": [{ "name": "TITLE", "value": "Welcome" }],
        "resources": { "requests": { "cpuMillis": 100, "memoryBytes": 67108864 }, "limits": { "cpuMillis": 200, "memoryBytes": 134217728 } },
        "ingress": { "port": "http" },
    })
}

async fn app_with_version(
    app: &TestApp,
    steward: &str,
    slug: &str,
    versions: &[(&str, Value)],
) -> Vec<String> {
    let app_id = mutate(
        app,
        steward,
        "createApp",
        "CreateAppInput",
        "app { id }",
        json!({ "slug": slug, "name": slug }),
    )
    .await["app"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut ids = Vec::new();
    for (version, recipe) in versions {
        let v = mutate(
            app,
            steward,
            "publishAppVersion",
            "PublishAppVersionInput",
            "appVersion { id }",
            json!({ "appId": app_id, "version": version, "recipe": recipe }),
        )
        .await;
        ids.push(v["appVersion"]["id"].as_str().unwrap().to_owned());
    }
    ids
}

async fn plan(
    app: &TestApp,
    steward: &str,
    code: &str,
    currency: &str,
    allowed: &[&str],
) -> String {
    mutate(
        app,
        steward,
        "createPlan",
        "CreatePlanInput",
        "plan { id }",
        json!({ "code": code, "name": code, "currency": currency, "baseFee": "10", "interval": "month",
                "includedQuota": quota(1000, 1 << 30, 10 << 30, 10, 3), "allowedApps": allowed }),
    )
    .await["plan"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub async fn catalog(app: &TestApp, steward: &str) -> Catalog {
    let site = app_with_version(
        app,
        steward,
        "site",
        &[("1.0.0+1.25", site("1.25")), ("1.1.0+1.27", site("1.27"))],
    )
    .await;
    let notes = app_with_version(
        app,
        steward,
        "notes",
        &[(
            "1.0.0+3.1.0",
            json!({
                "image": "ghcr.io/coop/notes", "tag": "3.1.0",
                "ports": [{ "name": "web", "port": 3000 }],
                "env": [{ "name": "SECRET_KEY_BASE", "generatedSecret": { "length": 64 } }],
                "volumes": [{ "name": "data", "mountPath": "/var/lib/notes", "sizeBytes": 1073741824 }],
                "resources": { "requests": { "cpuMillis": 100, "memoryBytes": 134217728 }, "limits": { "cpuMillis": 300, "memoryBytes": 268435456 } },
                "ingress": { "port": "web" },
            }),
        )],
    )
    .await;
    Catalog {
        site_v1: site[0].clone(),
        site_v2: site[1].clone(),
        notes_v1: notes[0].clone(),
        plan: plan(app, steward, "standard", "EUR", &[]).await,
        site_only_plan: plan(app, steward, "site-only", "EUR", &["site"]).await,
        usd_plan: plan(app, steward, "dollar", "USD", &[]).await,
    }
}

/// Places an order as `token`; the whole `placeOrder` payload.
pub async fn place(app: &TestApp, token: &str, customer: &str, key: &str, lines: Value) -> Value {
    let body = app
        .graphql_vars(
            PLACE,
            json!({ "input": { "customerId": customer, "idempotencyKey": key, "lines": lines } }),
            Some(token),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["placeOrder"].clone()
}

/// Places an order that must be accepted; returns the order.
async fn place_ok(app: &TestApp, token: &str, customer: &str, key: &str, lines: Value) -> Value {
    let payload = place(app, token, customer, key, lines).await;
    assert_eq!(payload["userErrors"], json!([]), "{payload}");
    payload["order"].clone()
}

async fn order(app: &TestApp, token: &str, id: &str) -> Value {
    app.graphql_vars(ORDER, json!({ "id": id }), Some(token))
        .await["data"]["order"]
        .clone()
}

async fn install(app: &TestApp, token: &str, id: &str) -> Value {
    app.graphql_vars(INSTALL, json!({ "id": id }), Some(token))
        .await["data"]["node"]
        .clone()
}

/// Every row an order could write.
async fn footprint(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for table in [
        "orders",
        "order_lines",
        "tenants",
        "app_installs",
        "jobs",
        "audit_events",
        "idempotency_keys",
    ] {
        out.push(count(app, table).await);
    }
    out
}

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
        let refused = |payload: &Value, code: &str, field: Value| {
            assert!(payload["order"].is_null(), "{payload}");
            assert_eq!(payload["userErrors"][0]["code"], code, "{payload}");
            assert_eq!(payload["userErrors"][0]["field"], field, "{payload}");
        };
        let r = &f.a.reseller_token;
        // The reseller's allotment (10 CPUs, one in use): a new tenant of 9.5 does not fit.
        let p = place(&app, r, &f.a.customer_id, "k1", json!([
        { "newTenant": { "slug": "alpha-big", "planId": c.plan, "quota": quota(9500, 1 << 30, 0, 1, 1) } },
    ])).await;
        refused(&p, "QUOTA_EXCEEDED", json!(["input", "lines"]));
        assert!(
            p["userErrors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("cpuMillis: 1000 in use + 9500 requested > 10000 allotted"),
            "{p}"
        );
        // A tenant (2 installs) gets three: the whole order is refused, the first two lines too.
        let site =
            json!({ "appInstall": { "tenantId": f.a.tenant_id, "appVersionId": c.site_v1 } });
        let p = place(&app, r, &f.a.customer_id, "k2", json!([site, site, site])).await;
        refused(&p, "QUOTA_EXCEEDED", json!(["input", "lines", "2"]));
        assert!(
            p["userErrors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("appInstalls: 3 needed > 2 quota"),
            "{p}"
        );
        // Another reseller's customer, or its tenant: not found.
        let p = place(&app, r, &f.b.customer_id, "k3", json!([site])).await;
        refused(&p, "NOT_FOUND", json!(["input", "customerId"]));
        let p = place(
            &app,
            r,
            &f.a.customer_id,
            "k4",
            json!([{ "appInstall": { "tenantId": f.b.tenant_id, "appVersionId": c.site_v1 } }]),
        )
        .await;
        refused(&p, "NOT_FOUND", json!(["input", "lines", "0", "tenantId"]));
        // Bad lines, each with its place.
        let p = place(&app, r, &f.a.customer_id, "k5", json!([site, { "appInstall": { "tenantId": f.a.tenant_id, "appVersionId": c.site_v1, "values": { "env": { "SECRET": "x" } } } }])).await;
        refused(
            &p,
            "UNKNOWN_SETTING",
            json!(["input", "lines", "1", "values"]),
        );
        let p = place(&app, r, &f.a.customer_id, "k6", json!([{ "newTenant": { "slug": "alpha-x", "planId": c.site_only_plan } }, { "appInstall": { "newTenantSlug": "alpha-x", "appVersionId": c.notes_v1 } }])).await;
        refused(
            &p,
            "APP_NOT_IN_PLAN",
            json!(["input", "lines", "1", "appVersionId"]),
        );
        let p = place(
            &app,
            r,
            &f.a.customer_id,
            "k7",
            json!([{ "newTenant": { "slug": "alpha-y", "planId": c.usd_plan } }]),
        )
        .await;
        refused(
            &p,
            "CURRENCY_MISMATCH",
            json!(["input", "lines", "0", "planId"]),
        );
        let p = place(
            &app,
            r,
            &f.a.customer_id,
            "k8",
            json!([{ "appInstall": { "newTenantSlug": "nowhere", "appVersionId": c.site_v1 } }]),
        )
        .await;
        refused(
            &p,
            "UNKNOWN_TENANT",
            json!(["input", "lines", "0", "newTenantSlug"]),
        );
        let p = place(
            &app,
            r,
            &f.a.customer_id,
            "k9",
            json!([{ "newTenant": { "slug": "Not A Slug", "planId": c.plan } }]),
        )
        .await;
        refused(&p, "INVALID_SLUG", json!(["input", "lines", "0", "slug"]));
        // A host another reseller's install serves cannot be taken.
        let p = place(&app, r, &f.a.customer_id, "k9b", json!([{ "appInstall": { "tenantId": f.a.tenant_id, "appVersionId": c.site_v1, "values": { "host": "shop.example.org" } } }])).await;
        refused(&p, "HOST_TAKEN", json!(["input", "lines", "0", "values"]));
        let p = place(&app, r, &f.a.customer_id, "k10", json!([])).await;
        refused(&p, "INVALID_ORDER", json!(["input", "lines"]));
        let p = place(
            &app,
            r,
            &f.a.customer_id,
            "k11",
            json!([{ "appUpgrade": { "installId": "nonsense", "appVersionId": c.site_v2 } }]),
        )
        .await;
        refused(&p, "NOT_FOUND", json!(["input", "lines", "0", "installId"]));
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
        for token in [&f.a.member_token, &f.a.tenant_admin_token] {
            let body = app
            .graphql_vars(PLACE, json!({ "input": { "customerId": f.a.customer_id, "idempotencyKey": "k13", "lines": [site] } }), Some(token))
            .await;
            assert_eq!(
                body["errors"][0]["extensions"]["code"], "FORBIDDEN",
                "{body}"
            );
        }
        assert_eq!(footprint(&app).await, before, "nothing was written");
        app.run_pending_jobs().await;
    }
);

test_both_dbs!(
    a_pending_order_can_be_cancelled_and_everything_it_did_is_undone,
    |app| {
        let f = Fixture::new(&app).await;
        let c = catalog(&app, &f.steward).await;
        let r = &f.a.reseller_token;
        let usage = "query($id: ID!) { node(id: $id) { ... on Reseller { allotmentInUse { cpuMillis } } } }";
        let in_use = app
            .graphql_vars(usage, json!({ "id": f.a.reseller_id }), Some(r))
            .await["data"]["node"]["allotmentInUse"]["cpuMillis"]
            .clone();
        let placed = place_ok(
            &app,
            r,
            &f.a.customer_id,
            "c1",
            json!([
                { "newTenant": { "slug": "alpha-gone", "planId": c.plan } },
                { "appInstall": { "newTenantSlug": "alpha-gone", "appVersionId": c.site_v1 } },
            ]),
        )
        .await;
        let id = placed["id"].as_str().unwrap();
        assert_ne!(
            app.graphql_vars(usage, json!({ "id": f.a.reseller_id }), Some(r))
                .await["data"]["node"]["allotmentInUse"]["cpuMillis"],
            in_use,
            "the order holds its quota"
        );
        // Another reseller cannot cancel it.
        let theirs = mutate_raw(
            &app,
            &f.b.reseller_token,
            "cancelOrder",
            json!({ "orderId": id }),
        )
        .await;
        assert_eq!(theirs["userErrors"][0]["code"], "NOT_FOUND");
        let cancelled = mutate_raw(&app, r, "cancelOrder", json!({ "orderId": id })).await;
        assert_eq!(cancelled["userErrors"], json!([]), "{cancelled}");
        assert_eq!(cancelled["order"]["state"], "cancelled");
        assert_eq!(
            app.graphql_vars(usage, json!({ "id": f.a.reseller_id }), Some(r))
                .await["data"]["node"]["allotmentInUse"]["cpuMillis"],
            in_use,
            "the quota is back"
        );
        let tenant = app.graphql_vars("query($id: ID!) { node(id: $id) { ... on Tenant { state appInstalls { state statusMessage } } } }", json!({ "id": placed["lines"][0]["tenantId"] }), Some(r)).await["data"]["node"].clone();
        assert_eq!(tenant["state"], "terminated");
        assert_eq!(tenant["appInstalls"][0]["state"], "uninstalled");
        app.run_pending_jobs().await;
        let after = order(&app, r, id).await;
        assert_eq!(
            after["state"], "cancelled",
            "the worker leaves a cancelled order alone"
        );
        assert!(
            after["lines"]
                .as_array()
                .unwrap()
                .iter()
                .all(|l| l["state"] == "cancelled")
        );
        let again = mutate_raw(&app, r, "cancelOrder", json!({ "orderId": id })).await;
        assert_eq!(again["userErrors"][0]["code"], "ORDER_NOT_PENDING");
        // A started order cannot be cancelled.
        let started = place_ok(
            &app,
            r,
            &f.a.customer_id,
            "c2",
            json!([{ "appInstall": { "tenantId": f.a.tenant_id, "appVersionId": c.site_v1 } }]),
        )
        .await;
        app.run_pending_jobs().await;
        let late = mutate_raw(&app, r, "cancelOrder", json!({ "orderId": started["id"] })).await;
        assert_eq!(late["userErrors"][0]["code"], "ORDER_NOT_PENDING", "{late}");
    }
);

test_both_dbs!(
    upgrades_rollbacks_values_and_uninstalls_run_through_the_install_lifecycle,
    |app| {
        let f = Fixture::new(&app).await;
        let c = catalog(&app, &f.steward).await;
        let r = &f.a.reseller_token;
        let placed = place_ok(
            &app,
            r,
            &f.a.customer_id,
            "l1",
            json!([{ "appInstall": { "tenantId": f.a.tenant_id, "appVersionId": c.site_v1 } }]),
        )
        .await;
        app.run_pending_jobs().await;
        let install_id = placed["lines"][0]["appInstallId"]
            .as_str()
            .unwrap()
            .to_owned();
        let i = install(&app, r, &install_id).await;
        assert_eq!(i["state"], "ready");
        assert_eq!(i["availableUpgrades"], json!([{ "version": "1.1.0+1.27" }]));
        assert_eq!(i["previousVersion"], Value::Null);
        // Nothing to roll back to yet.
        let none = mutate_raw(
            &app,
            r,
            "rollbackAppInstall",
            json!({ "installId": install_id }),
        )
        .await;
        assert_eq!(none["userErrors"][0]["code"], "NO_PREVIOUS_VERSION");
        // An upgrade, by order.
        let up = place_ok(
            &app,
            r,
            &f.a.customer_id,
            "l2",
            json!([{ "appUpgrade": { "installId": install_id, "appVersionId": c.site_v2 } }]),
        )
        .await;
        // While it is unfinished, the install takes no other change.
        let busy = place(
            &app,
            r,
            &f.a.customer_id,
            "l3",
            json!([{ "appUninstall": { "installId": install_id } }]),
        )
        .await;
        assert_eq!(busy["userErrors"][0]["code"], "ORDER_IN_PROGRESS", "{busy}");
        app.run_pending_jobs().await;
        assert_eq!(
            order(&app, r, up["id"].as_str().unwrap()).await["state"],
            "fulfilled"
        );
        let i = install(&app, r, &install_id).await;
        assert_eq!(i["version"]["version"], "1.1.0+1.27");
        assert_eq!(i["previousVersion"]["version"], "1.0.0+1.25");
        assert_eq!(i["availableUpgrades"], json!([]));
        // Rollback, and rollback of the rollback.
        let back = mutate_raw(
            &app,
            r,
            "rollbackAppInstall",
            json!({ "installId": install_id }),
        )
        .await;
        assert_eq!(back["userErrors"], json!([]), "{back}");
        let i = install(&app, r, &install_id).await;
        assert_eq!(
            (
                i["version"]["version"].clone(),
                i["previousVersion"]["version"].clone(),
                i["state"].clone()
            ),
            (
                json!("1.0.0+1.25"),
                json!("1.1.0+1.27"),
                json!("installing")
            )
        );
        app.run_pending_jobs().await;
        assert_eq!(install(&app, r, &install_id).await["state"], "ready");
        // Values: checked against the recipe, then set.
        let bad = mutate_raw(
            &app,
            r,
            "setAppInstallValues",
            json!({ "installId": install_id, "values": { "host": "not a host" } }),
        )
        .await;
        assert_eq!(bad["userErrors"][0]["code"], "INVALID_HOST", "{bad}");
        let set = mutate_raw(
            &app,
            r,
            "setAppInstallValues",
            json!({ "installId": install_id, "values": { "env": { "TITLE": "Hello" } } }),
        )
        .await;
        assert_eq!(set["userErrors"], json!([]), "{set}");
        assert_eq!(
            install(&app, r, &install_id).await["values"],
            json!({ "env": { "TITLE": "Hello" } })
        );
        // The tenant's admin manages its installs; another reseller does not reach them.
        let admin = mutate_raw(
            &app,
            &f.a.tenant_admin_token,
            "setAppInstallValues",
            json!({ "installId": install_id, "values": {} }),
        )
        .await;
        assert_eq!(admin["userErrors"], json!([]), "{admin}");
        let theirs = mutate_raw(
            &app,
            &f.b.reseller_token,
            "rollbackAppInstall",
            json!({ "installId": install_id }),
        )
        .await;
        assert_eq!(theirs["userErrors"][0]["code"], "NOT_FOUND");
        assert_eq!(
            install(&app, &f.b.reseller_token, &install_id).await,
            Value::Null
        );
        app.run_pending_jobs().await;
        // Uninstall by order.
        let gone = place_ok(
            &app,
            r,
            &f.a.customer_id,
            "l4",
            json!([{ "appUninstall": { "installId": install_id, "deleteData": false } }]),
        )
        .await;
        app.run_pending_jobs().await;
        assert_eq!(
            order(&app, r, gone["id"].as_str().unwrap()).await["state"],
            "fulfilled"
        );
        assert_eq!(install(&app, r, &install_id).await["state"], "uninstalled");
        let again = mutate_raw(
            &app,
            r,
            "rollbackAppInstall",
            json!({ "installId": install_id }),
        )
        .await;
        assert_eq!(again["userErrors"][0]["code"], "NOT_INSTALLED");
    }
);

test_both_dbs!(
    a_line_that_never_becomes_ready_fails_with_its_reason_and_can_be_retried,
    |app| {
        let fake = FakeKube::start().await;
        app.use_cluster(fake.client());
        let f = Fixture::new(&app).await;
        let c = catalog(&app, &f.steward).await;
        let r = &f.a.reseller_token;
        app.run_pending_jobs().await;
        let placed = place_ok(
            &app,
            r,
            &f.a.customer_id,
            "f1",
            json!([{ "appInstall": { "tenantId": f.a.tenant_id, "appVersionId": c.site_v1 } }]),
        )
        .await;
        let id = placed["id"].as_str().unwrap();
        app.run_pending_jobs().await;
        // No operator runs: the AppInstall is applied but nobody reports on it.
        assert_eq!(order(&app, r, id).await["state"], "provisioning");
        app.clock.advance(chrono::Duration::minutes(16));
        app.run_pending_jobs().await;
        let failed = order(&app, r, id).await;
        assert_eq!(failed["state"], "failed", "{failed}");
        assert_eq!(failed["failureReason"], "1 of 1 line(s) failed");
        let reason = failed["lines"][0]["reason"].as_str().unwrap();
        assert!(
            reason.starts_with("not done after 15 minutes: ") && reason.contains("operator"),
            "{reason}"
        );
        // The cluster comes back: a retry provisions the line again.
        let retried = mutate_raw(&app, r, "retryOrder", json!({ "orderId": id })).await;
        assert_eq!(retried["order"]["state"], "provisioning", "{retried}");
        let name = uuid_of(placed["lines"][0]["appInstallId"].as_str().unwrap()).to_string();
        let ns = "coplane-alpha-shop";
        let generation =
            fake.get("AppInstall", Some(ns), &name).unwrap()["metadata"]["generation"].clone();
        fake.set_status(
            "AppInstall",
            Some(ns),
            &name,
            json!({ "ready": true, "observedGeneration": generation, "conditions": [] }),
        );
        app.run_pending_jobs().await;
        assert_eq!(order(&app, r, id).await["state"], "fulfilled");
        let not_failed = mutate_raw(&app, r, "retryOrder", json!({ "orderId": id })).await;
        assert_eq!(not_failed["userErrors"][0]["code"], "ORDER_NOT_FAILED");
        fake.stop().await;
    }
);

/// A mutation's payload (`order` or `appInstall`, and `userErrors`).
async fn mutate_raw(app: &TestApp, token: &str, field: &str, input: Value) -> Value {
    let (input_type, selection) = match field {
        "cancelOrder" | "retryOrder" => ("OrderIdInput", "order { id state }"),
        "rollbackAppInstall" => ("RollbackAppInstallInput", "appInstall { id state }"),
        _ => ("SetAppInstallValuesInput", "appInstall { id state }"),
    };
    let query = format!(
        "mutation($input: {input_type}!) {{ {field}(input: $input) {{ {selection} userErrors {{ field code message }} }} }}"
    );
    let body = app
        .graphql_vars(&query, json!({ "input": input }), Some(token))
        .await;
    assert!(body.get("errors").is_none(), "{field}: {body}");
    body["data"][field].clone()
}

/// From the order to a running app, against the fake API server with the
/// operator: namespace, rendered install, readiness from the Deployment,
/// upgrade and rollback changing only the image, uninstall keeping or
/// deleting the data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_runs_end_to_end_against_the_fake_api_server() {
    let mut app = crate::spawn_app(crate::Backend::Sqlite).await;
    let fake = FakeKube::start().await;
    app.use_cluster(fake.client());
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let op = Operator::start(&fake, clock, chrono::Duration::days(30));
    let f = Fixture::new(&app).await;
    let c = catalog(&app, &f.steward).await;
    let r = &f.a.reseller_token;
    let placed = place_ok(
        &app,
        r,
        &f.a.customer_id,
        "e2e",
        json!([
            { "newTenant": { "slug": "alpha-notes", "planId": c.plan } },
            { "appInstall": { "newTenantSlug": "alpha-notes", "appVersionId": c.notes_v1 } },
            { "appInstall": { "newTenantSlug": "alpha-notes", "appVersionId": c.site_v1 } },
        ]),
    )
    .await;
    let id = placed["id"].as_str().unwrap().to_owned();
    let notes = uuid_of(placed["lines"][1]["appInstallId"].as_str().unwrap()).to_string();
    let site = uuid_of(placed["lines"][2]["appInstallId"].as_str().unwrap()).to_string();
    let ns = "coplane-alpha-notes";
    // Drive the worker until the cluster has what the order asks for.
    let mut settled = Value::Null;
    for _ in 0..200 {
        app.run_pending_jobs().await;
        for d in [&notes, &site] {
            fake.roll_out(ns, d, 1);
        }
        app.clock.advance(chrono::Duration::seconds(5));
        settled = order(&app, r, &id).await;
        if settled["state"] == "fulfilled" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(settled["state"], "fulfilled", "{settled}");
    assert!(fake.get("Namespace", None, ns).is_some());
    for kind in [
        "Deployment",
        "Service",
        "Ingress",
        "PersistentVolumeClaim",
        "Secret",
    ] {
        assert!(!fake.list(kind, Some(ns)).is_empty(), "{kind} rendered");
    }
    let image = |name: &str| {
        fake.get("Deployment", Some(ns), name).unwrap()["spec"]["template"]["spec"]["containers"][0]
            ["image"]
            .clone()
    };
    let spec_without_image = |name: &str| {
        let mut d = fake.get("Deployment", Some(ns), name).unwrap()["spec"].clone();
        d["template"]["spec"]["containers"][0]["image"] = Value::Null;
        d["template"]["metadata"]["labels"]["app.kubernetes.io/version"] = Value::Null;
        d
    };
    assert_eq!(image(&site), "ghcr.io/coop/site:1.25");
    let before = spec_without_image(&site);

    // Upgrade: the image changes, nothing else; ready again only once rolled out.
    let install_gid = placed["lines"][2]["appInstallId"]
        .as_str()
        .unwrap()
        .to_owned();
    let up = place_ok(
        &app,
        r,
        &f.a.customer_id,
        "e2e-up",
        json!([{ "appUpgrade": { "installId": install_gid, "appVersionId": c.site_v2 } }]),
    )
    .await;
    let mut state = Value::Null;
    for _ in 0..200 {
        app.run_pending_jobs().await;
        if image(&site) == "ghcr.io/coop/site:1.27" {
            fake.roll_out(ns, &site, 1);
        }
        app.clock.advance(chrono::Duration::seconds(5));
        state = order(&app, r, up["id"].as_str().unwrap()).await["state"].clone();
        if state == "fulfilled" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(state, "fulfilled");
    assert_eq!(image(&site), "ghcr.io/coop/site:1.27");
    assert_eq!(spec_without_image(&site), before, "only the image changed");
    // Rollback: the old image, nothing else.
    let back = mutate_raw(
        &app,
        r,
        "rollbackAppInstall",
        json!({ "installId": install_gid }),
    )
    .await;
    assert_eq!(back["userErrors"], json!([]));
    for _ in 0..200 {
        app.run_pending_jobs().await;
        if image(&site) == "ghcr.io/coop/site:1.25" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(image(&site), "ghcr.io/coop/site:1.25");
    assert_eq!(spec_without_image(&site), before);

    // Uninstall keeping the data: the workload goes, the volume and secret stay.
    let notes_gid = placed["lines"][1]["appInstallId"]
        .as_str()
        .unwrap()
        .to_owned();
    let pvc = format!("{notes}-data");
    let secret = format!("{notes}-generated");
    let keep = place_ok(
        &app,
        r,
        &f.a.customer_id,
        "e2e-keep",
        json!([{ "appUninstall": { "installId": notes_gid, "deleteData": false } }]),
    )
    .await;
    for _ in 0..100 {
        app.run_pending_jobs().await;
        app.clock.advance(chrono::Duration::seconds(10));
        if order(&app, r, keep["id"].as_str().unwrap()).await["state"] == "fulfilled" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        order(&app, r, keep["id"].as_str().unwrap()).await["state"],
        "fulfilled"
    );
    assert!(fake.get("AppInstall", Some(ns), &notes).is_none());
    assert!(
        fake.get("Deployment", Some(ns), &notes).is_none(),
        "the workload went with its owner"
    );
    assert!(
        fake.get("PersistentVolumeClaim", Some(ns), &pvc).is_some(),
        "the data stays"
    );
    assert!(
        fake.get("Secret", Some(ns), &secret).is_some(),
        "its credentials stay"
    );

    // Uninstall deleting the data: the site has no volume; install notes
    // again and remove it with its data.
    let again = place_ok(&app, r, &f.a.customer_id, "e2e-again", json!([{ "appInstall": { "tenantId": placed["lines"][0]["tenantId"], "appVersionId": c.notes_v1 } }])).await;
    let notes2 = uuid_of(again["lines"][0]["appInstallId"].as_str().unwrap()).to_string();
    for _ in 0..200 {
        app.run_pending_jobs().await;
        fake.roll_out(ns, &notes2, 1);
        app.clock.advance(chrono::Duration::seconds(5));
        if order(&app, r, again["id"].as_str().unwrap()).await["state"] == "fulfilled" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let drop = place_ok(&app, r, &f.a.customer_id, "e2e-drop", json!([{ "appUninstall": { "installId": again["lines"][0]["appInstallId"], "deleteData": true } }])).await;
    for _ in 0..100 {
        app.run_pending_jobs().await;
        app.clock.advance(chrono::Duration::seconds(10));
        if order(&app, r, drop["id"].as_str().unwrap()).await["state"] == "fulfilled" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        order(&app, r, drop["id"].as_str().unwrap()).await["state"],
        "fulfilled"
    );
    assert!(
        fake.get("PersistentVolumeClaim", Some(ns), &format!("{notes2}-data"))
            .is_none(),
        "the data went"
    );
    assert!(
        fake.get("Secret", Some(ns), &format!("{notes2}-generated"))
            .is_none()
    );
    assert!(
        fake.get("PersistentVolumeClaim", Some(ns), &pvc).is_some(),
        "another install's data stays"
    );
    op.stop().await;
    app.run_pending_jobs().await;
    fake.stop().await;
    app.finish().await;
}

/// `orderUpdated` over `/graphql/ws`: the order now, then at each change,
/// ending when it settles; a caller outside the reseller gets nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_updates_stream_over_the_websocket() {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let app = crate::spawn_app(if crate::postgres_available() {
        crate::Backend::Postgres
    } else {
        crate::Backend::Sqlite
    })
    .await;
    let f = Fixture::new(&app).await;
    let c = catalog(&app, &f.steward).await;
    let placed = place_ok(
        &app,
        &f.a.reseller_token,
        &f.a.customer_id,
        "ws",
        json!([{ "appInstall": { "tenantId": f.a.tenant_id, "appVersionId": c.site_v1 } }]),
    )
    .await;
    let id = placed["id"].as_str().unwrap().to_owned();

    let connect = |token: String| {
        let url = format!("{}/graphql/ws", app.address.replace("http://", "ws://"));
        let id = id.clone();
        async move {
            let mut request = url.into_client_request().unwrap();
            request.headers_mut().insert(
                "Sec-WebSocket-Protocol",
                "graphql-transport-ws".parse().unwrap(),
            );
            let (mut ws, _) = tokio_tungstenite::connect_async(request)
                .await
                .expect("the websocket opens");
            ws.send(Message::text(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }).to_string())).await.unwrap();
            ws.send(Message::text(json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription($id: ID!) { orderUpdated(id: $id) { id state } }", "variables": { "id": id } } }).to_string())).await.unwrap();
            ws
        }
    };
    let mut ws = connect(f.a.reseller_token.clone()).await;
    let first = next(&mut ws).await;
    assert_eq!(
        first["payload"]["data"]["orderUpdated"]["state"], "pending",
        "{first}"
    );
    app.run_pending_jobs().await;
    let mut states = Vec::new();
    loop {
        let msg = next(&mut ws).await;
        if msg["type"] == "complete" {
            break;
        }
        states.push(
            msg["payload"]["data"]["orderUpdated"]["state"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(
        states.last().map(String::as_str),
        Some("fulfilled"),
        "{states:?}"
    );

    // The tenant: its state now, over the same protocol.
    let mut tenant = connect(f.a.reseller_token.clone()).await;
    tenant
        .send(Message::text(
            json!({ "id": "2", "type": "subscribe", "payload": { "query": "subscription($id: ID!) { tenantUpdated(id: $id) { slug state } }", "variables": { "id": f.a.tenant_id } } }).to_string(),
        ))
        .await
        .unwrap();
    let mut slugs = Vec::new();
    while slugs.is_empty() {
        let msg = next(&mut tenant).await;
        if msg["id"] == "2" {
            slugs.push(msg["payload"]["data"]["tenantUpdated"]["slug"].clone());
        }
    }
    assert_eq!(slugs, [json!("alpha-shop")]);
    drop(tenant);

    // Another reseller's subscription completes without a single update.
    let mut theirs = connect(f.b.reseller_token.clone()).await;
    let msg = next(&mut theirs).await;
    assert_eq!(msg["type"], "complete", "{msg}");
    // A bad credential is refused at connection_init.
    let mut bad = connect("not-a-token".into()).await;
    let refused = tokio::time::timeout(std::time::Duration::from_secs(10), bad.next())
        .await
        .expect("an answer");
    assert!(
        matches!(refused, Some(Ok(Message::Close(_))) | None | Some(Err(_))),
        "{refused:?}"
    );
    app.finish().await;
}

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next protocol message that is not an ack or a ping.
pub async fn next(ws: &mut Socket) -> Value {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
            .await
            .expect("a message in time")
            .expect("the socket is open")
            .expect("a frame");
        if let Message::Text(t) = frame {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] != "connection_ack" && v["type"] != "ping" {
                return v;
            }
        }
    }
}

test_both_dbs!(
    a_cancel_that_no_longer_fits_is_refused_and_a_planned_tenant_waits,
    |app| {
        let f = Fixture::new(&app).await;
        let c = catalog(&app, &f.steward).await;
        let r = &f.a.reseller_token;
        // A moves the shop to a small quota; B spends what that freed.
        let a = place_ok(&app, r, &f.a.customer_id, "a", json!([
        { "planChange": { "tenantId": f.a.tenant_id, "planId": c.plan, "quota": quota(100, 1 << 30, 10 << 30, 10, 2) } },
    ])).await;
        // While A is unfinished, the shop's quota and plan are A's to change.
        let body = app
        .graphql_vars(
            "mutation($input: UpdateTenantQuotaInput!) { updateTenantQuota(input: $input) { tenant { id } userErrors { code } } }",
            json!({ "input": { "tenantId": f.a.tenant_id, "quota": quota(500, 1 << 30, 10 << 30, 10, 2) } }),
            Some(r),
        )
        .await;
        assert_eq!(
            body["data"]["updateTenantQuota"]["userErrors"][0]["code"], "ORDER_IN_PROGRESS",
            "{body}"
        );
        let install = place(
            &app,
            r,
            &f.a.customer_id,
            "x",
            json!([{ "appInstall": { "tenantId": f.a.tenant_id, "appVersionId": c.site_v1 } }]),
        )
        .await;
        assert_eq!(
            install["userErrors"][0]["code"], "ORDER_IN_PROGRESS",
            "{install}"
        );
        place_ok(&app, r, &f.a.customer_id, "b", json!([
        { "newTenant": { "slug": "alpha-big", "planId": c.plan, "quota": quota(9900, 1 << 30, 0, 1, 1) } },
    ])).await;
        let rows = footprint(&app).await;
        let cancel = mutate_raw(&app, r, "cancelOrder", json!({ "orderId": a["id"] })).await;
        assert_eq!(cancel["userErrors"][0]["code"], "CANNOT_UNDO", "{cancel}");
        assert!(
            cancel["userErrors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("cpuMillis: 10900 > 10000"),
            "{cancel}"
        );
        assert_eq!(
            footprint(&app).await,
            rows,
            "the refused cancel changed nothing"
        );
        assert_eq!(
            order(&app, r, a["id"].as_str().unwrap()).await["state"],
            "pending"
        );
        app.run_pending_jobs().await;
    }
);
