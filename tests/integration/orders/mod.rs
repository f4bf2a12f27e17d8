//! Storefront orders: placing, fulfilling, cancelling and retrying them, and
//! the installs they make, on the manifests target and against the fake
//! API server.

mod cancel_retry;
mod fake_api_server;
mod installs;
mod placing;
mod websocket;

use serde_json::{Value, json};

use crate::TestApp;
use crate::tenancy::fixture::{count, mutate, quota};

pub use websocket::{Socket, next, subscribe};

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

pub fn site(tag: &str) -> Value {
    json!({
        "image": "ghcr.io/coop/site", "tag": tag,
        "ports": [{ "name": "http", "port": 8080 }],
        "env": [{ "name": "TITLE", "value": "Welcome" }],
        "resources": { "requests": { "cpuMillis": 100, "memoryBytes": 67108864 }, "limits": { "cpuMillis": 200, "memoryBytes": 134217728 } },
        "ingress": { "port": "http" },
    })
}

pub async fn app_with_version(
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
