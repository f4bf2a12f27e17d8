//! Two resellers' worlds, built through the API as a steward would, with a
//! token for every role.

use base64::Engine;
use coplane_api::cli::TokenArgs;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::TestApp;

/// The uuid inside a global id.
pub fn uuid_of(global_id: &str) -> Uuid {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(global_id)
        .expect("a global id");
    let raw = String::from_utf8(raw).unwrap();
    raw.split_once(':').unwrap().1.parse().unwrap()
}

/// A global id for a kind and uuid, as the API makes them.
pub fn global_id(kind: &str, id: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{kind}:{id}"))
}

/// A quota input with these figures.
pub fn quota(cpu: i64, memory: i64, storage: i64, pods: i64, installs: i64) -> Value {
    json!({
        "cpuMillis": cpu.to_string(),
        "memoryBytes": memory.to_string(),
        "storageBytes": storage.to_string(),
        "pods": pods.to_string(),
        "appInstalls": installs.to_string(),
    })
}

pub use coplane_tests::mutate;

/// One reseller's world.
pub struct World {
    /// The reseller's member record.
    pub member_id: String,
    /// The reseller.
    pub reseller_id: String,
    /// Its customer.
    pub customer_id: String,
    /// The customer's tenant.
    pub tenant_id: String,
    /// A token acting as the reseller.
    pub reseller_token: String,
    /// A token of the tenant's admin.
    pub tenant_admin_token: String,
    /// A token of a person member (not the reseller).
    pub member_token: String,
    /// The person member.
    pub person_id: String,
    /// The reseller's integration token (customers:read, tenants:read).
    pub integration_token: String,
    /// Its id.
    pub integration_token_id: String,
}

/// Both worlds and a steward.
pub struct Fixture {
    /// The steward's token.
    pub steward: String,
    /// Reseller A.
    pub a: World,
    /// Reseller B.
    pub b: World,
}

/// The standard allotment: 10 CPUs, 32 GiB, 1 TB, 100 pods, 20 installs.
pub fn allotment() -> Value {
    quota(10_000, 34_359_738_368, 1_000_000_000_000, 100, 20)
}

/// Creates a reseller organisation with its member record; returns (member, reseller).
pub async fn reseller(
    app: &TestApp,
    steward: &str,
    name: &str,
    allotment: Value,
) -> (String, String) {
    let member = mutate(
        app,
        steward,
        "createMember",
        "CreateMemberInput",
        "member { id }",
        json!({ "kind": "organisation", "class": "reseller", "displayName": name, "sharesHeld": "1", "joinedOn": "2026-01-01" }),
    )
    .await["member"]["id"]
    .as_str()
    .unwrap()
    .to_owned();
    let reseller = mutate(
        app,
        steward,
        "createReseller",
        "CreateResellerInput",
        "reseller { id }",
        json!({ "memberId": member, "brandName": format!("{name} Cloud"), "allotment": allotment }),
    )
    .await["reseller"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (member, reseller)
}

/// Creates a customer of `reseller_id` as `token`.
pub async fn customer(app: &TestApp, token: &str, reseller_id: Option<&str>, name: &str) -> String {
    let mut input = json!({ "name": name, "billingEmail": "billing@example.org", "country": "DE", "currency": "EUR", "taxRate": "0.19" });
    if let Some(r) = reseller_id {
        input["resellerId"] = json!(r);
    }
    mutate(
        app,
        token,
        "createCustomer",
        "CreateCustomerInput",
        "customer { id }",
        input,
    )
    .await["customer"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Creates a tenant as `token`.
pub async fn tenant(
    app: &TestApp,
    token: &str,
    customer_id: &str,
    slug: &str,
    quota: Value,
) -> String {
    mutate(
        app,
        token,
        "createTenant",
        "CreateTenantInput",
        "tenant { id }",
        json!({ "customerId": customer_id, "slug": slug, "quota": quota }),
    )
    .await["tenant"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A JWT with `roles` and the given scope ids.
pub fn jwt(
    app: &TestApp,
    roles: &[&str],
    sub: &str,
    reseller: Option<&str>,
    member: Option<&str>,
    tenants: &[&str],
) -> String {
    app.token_with(TokenArgs {
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        sub: sub.to_owned(),
        reseller: reseller.map(uuid_of),
        member: member.map(uuid_of),
        customer: None,
        tenants: tenants.iter().map(|t| uuid_of(t)).collect(),
        scopes: Vec::new(),
        coop_wide: false,
        ttl: "1h".to_owned(),
    })
}

/// Creates an API token as `token`; returns (id, secret).
pub async fn api_token(
    app: &TestApp,
    token: &str,
    scopes: &[&str],
    reseller_id: Option<&str>,
) -> (String, String) {
    let mut input = json!({ "name": "erp", "scopes": scopes });
    if let Some(r) = reseller_id {
        input["resellerId"] = json!(r);
    }
    api_token_with(app, token, input).await
}

/// Creates a steward's co-op-wide API token (asked for explicitly); returns
/// (id, secret).
pub async fn coop_api_token(app: &TestApp, steward: &str, scopes: &[&str]) -> (String, String) {
    api_token_with(
        app,
        steward,
        json!({ "name": "erp", "scopes": scopes, "coopWide": true }),
    )
    .await
}

async fn api_token_with(app: &TestApp, token: &str, input: Value) -> (String, String) {
    let payload = mutate(
        app,
        token,
        "createApiToken",
        "CreateApiTokenInput",
        "apiToken { id } token",
        input,
    )
    .await;
    (
        payload["apiToken"]["id"].as_str().unwrap().to_owned(),
        payload["token"].as_str().unwrap().to_owned(),
    )
}

async fn world(app: &TestApp, steward: &str, name: &str) -> World {
    let (member_id, reseller_id) = reseller(app, steward, name, allotment()).await;
    let reseller_token = jwt(
        app,
        &["reseller"],
        &format!("{name}-owner"),
        Some(&reseller_id),
        Some(&member_id),
        &[],
    );
    let customer_id = customer(app, &reseller_token, None, &format!("{name} customer")).await;
    let slug = format!("{}-shop", name.to_lowercase());
    let tenant_id = tenant(
        app,
        &reseller_token,
        &customer_id,
        &slug,
        quota(1000, 1 << 30, 10 << 30, 10, 2),
    )
    .await;
    let person_id = mutate(
        app,
        steward,
        "createMember",
        "CreateMemberInput",
        "member { id }",
        json!({ "kind": "person", "class": "user", "displayName": format!("{name} person"), "sharesHeld": "1", "joinedOn": "2026-02-01" }),
    )
    .await["member"]["id"]
    .as_str()
    .unwrap()
    .to_owned();
    let member_token = jwt(
        app,
        &["member"],
        &format!("{name}-person"),
        None,
        Some(&person_id),
        &[],
    );
    let tenant_admin_token = jwt(
        app,
        &["tenant_admin"],
        &format!("{name}-admin"),
        None,
        None,
        &[&tenant_id],
    );
    let (integration_token_id, integration_token) = api_token(
        app,
        &reseller_token,
        &["customers:read", "tenants:read"],
        None,
    )
    .await;
    World {
        member_id,
        reseller_id,
        customer_id,
        tenant_id,
        reseller_token,
        tenant_admin_token,
        member_token,
        person_id,
        integration_token,
        integration_token_id,
    }
}

impl Fixture {
    /// Builds both worlds.
    pub async fn new(app: &TestApp) -> Self {
        let steward = app.token(&["steward"], "steward");
        let a = world(app, &steward, "Alpha").await;
        let b = world(app, &steward, "Beta").await;
        Self { steward, a, b }
    }
}

/// Counts rows of `table`.
pub async fn count(app: &TestApp, table: &str) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            format!("SELECT COUNT(*) FROM {table}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index(0).unwrap()
}
