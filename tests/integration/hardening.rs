//! The holes found by probing coplane as an attacker and a newcomer would,
//! each shown refused with nothing changed.

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::table::Table;
use crate::tenancy::fixture::{Fixture, count, mutate, quota};
use crate::{Backend, TestApp, spawn_app_with, test_both_dbs};

/// The standard introspection query, as graphql-js's
/// `getIntrospectionQuery()` writes it (GraphiQL, codegen, Postman).
pub const INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason
  }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }
}
"#;

fn code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

async fn post_raw(app: &TestApp, body: Vec<u8>, token: Option<&str>) -> reqwest::Response {
    let mut req = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("content-type", "application/json")
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.expect("the server answers")
}

test_both_dbs!(
    fragment_bombs_aliases_and_deep_nesting_are_refused_before_validation,
    |app| {
        // Each refused in one pass: 2^30 expansions of the bomb would take
        // minutes.
        let mut table = Table::new("documents refused before validation");
        for (name, query, within) in [
            (
                "a fragment bomb of 30 levels",
                coplane_tests::attacks::fragment_bomb(30),
                Some(std::time::Duration::from_secs(5)),
            ),
            (
                "2,000 aliases",
                coplane_tests::attacks::aliases(2_000),
                None,
            ),
            (
                "5,000 levels of nesting",
                format!("{}{}", "{ a ".repeat(5_000), "}".repeat(5_000)),
                None,
            ),
        ] {
            table
                .row(
                    name,
                    (Some("QUERY_TOO_LARGE".to_owned()), "in time"),
                    async {
                        let started = std::time::Instant::now();
                        let body = app.graphql(&query, None).await;
                        let elapsed = started.elapsed();
                        let in_time = if within.is_none_or(|limit| elapsed < limit) {
                            "in time"
                        } else {
                            "too slow"
                        };
                        let got = (code(&body).map(str::to_owned), in_time);
                        (got, format!("{body} after {elapsed:?}"))
                    },
                )
                .await;
        }
        table.finish();

        // Directives are bounded per field.
        let directives = format!("{{ __typename{} }}", " @include(if: true)".repeat(50));
        let body = app.graphql(&directives, None).await;
        assert!(body["data"].is_null(), "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("directives"),
            "{body}"
        );

        // An ordinary query still answers.
        let body = app.graphql("{ viewer { roles } }", None).await;
        assert_eq!(body["data"]["viewer"]["roles"], json!([]), "{body}");
    }
);

test_both_dbs!(
    the_standard_introspection_query_works_for_callers_with_a_credential,
    |app| {
        let steward = app.token(&["steward"], "alice");
        let body = app.graphql(INTROSPECTION, Some(&steward)).await;
        assert!(body.get("errors").is_none(), "{body}");
        let types = body["data"]["__schema"]["types"].as_array().unwrap();
        assert!(types.iter().any(|t| t["name"] == "Tenant"));
        // Anonymous callers are pointed at schema.graphql instead.
        let body = app.graphql(INTROSPECTION, None).await;
        assert_eq!(code(&body), Some("UNAUTHENTICATED"), "{body}");
        assert!(body["data"].is_null() || body.get("data").is_none());
    }
);

test_both_dbs!(
    large_bodies_are_refused_with_413_and_only_after_the_credential,
    |app| {
        let steward = app.token(&["steward"], "alice");
        let as_json = Some("application/json");
        let rows = [
            // Refused from Content-Length, anonymous or not.
            (
                "10 MB, declared, anonymous",
                "/graphql",
                None,
                as_json,
                vec![b' '; 10 << 20],
                413,
            ),
            // A bad credential is refused first, without reading the body.
            (
                "10 MB with a bad credential",
                "/graphql",
                Some("not-a-token"),
                as_json,
                vec![b' '; 10 << 20],
                401,
            ),
            // A body that is not JSON is a 400 with the reason; a wrong type 415.
            (
                "a body that is not JSON",
                "/graphql",
                None,
                as_json,
                b"{".to_vec(),
                400,
            ),
            (
                "a multipart body",
                "/graphql",
                None,
                Some("multipart/form-data; boundary=x"),
                b"--x--".to_vec(),
                415,
            ),
            // Usage ingestion has its own limit.
            (
                "20 MB of usage",
                "/v1/usage",
                Some(steward.as_str()),
                None,
                vec![b' '; 20 << 20],
                413,
            ),
        ];
        let mut table = Table::new("bodies refused");
        for (name, path, token, content_type, body, status) in rows {
            table
                .row(name, status, async {
                    let mut req = app.client.post(format!("{}{path}", app.address)).body(body);
                    if let Some(t) = content_type {
                        req = req.header("content-type", t);
                    }
                    if let Some(t) = token {
                        req = req.bearer_auth(t);
                    }
                    let res = req.send().await.expect("the server answers");
                    let status = res.status().as_u16();
                    (status, res.text().await.unwrap_or_default())
                })
                .await;
        }
        table.finish();
    }
);

test_both_dbs!(graphiql_and_its_assets_are_served_from_the_binary, |app| {
    let page = app.get("/graphql").await;
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    for asset in [
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
    ] {
        assert!(html.contains(asset), "the page loads {asset}");
        let res = app.get(&format!("/graphql/assets/{asset}")).await;
        assert_eq!(res.status(), 200, "{asset}");
    }
    assert_eq!(app.get("/graphql/assets/../Cargo.toml").await.status(), 404);
});

test_both_dbs!(
    metrics_labels_stay_bounded_whatever_method_a_client_invents,
    |app| {
        for i in 0..5 {
            let method = reqwest::Method::from_bytes(format!("INVENTED{i}").as_bytes()).unwrap();
            app.client
                .request(method, format!("{}/healthz", app.address))
                .send()
                .await
                .unwrap();
        }
        let text = app.get("/metrics").await.text().await.unwrap();
        assert!(!text.contains("INVENTED"), "{text}");
        assert!(text.contains("method=\"other\""), "{text}");
    }
);

test_both_dbs!(a_slug_is_the_platforms_and_clusters_are_the_coops, |app| {
    let f = Fixture::new(&app).await;
    app.run_pending_jobs().await;
    let tenants = count(&app, "tenants").await;
    let slug_of_a: Value = app
        .graphql(
            &format!(
                "{{ node(id: \"{}\") {{ ... on Tenant {{ slug }} }} }}",
                f.a.tenant_id
            ),
            Some(&f.steward),
        )
        .await;
    let slug = slug_of_a["data"]["node"]["slug"]
        .as_str()
        .unwrap()
        .to_owned();
    let create = |cluster: &str, slug: &str| {
        json!({ "customerId": f.b.customer_id, "slug": slug, "cluster": cluster,
                "quota": quota(100, 1 << 20, 1 << 20, 1, 1) })
    };
    let q = "mutation($input: CreateTenantInput!) { createTenant(input: $input) { tenant { id } userErrors { field code } } }";
    let mut table = Table::new("createTenant refusals across clusters");
    for (name, input, code) in [
        // B cannot take A's slug on another cluster: every name derived from
        // a slug is the platform's.
        ("B takes A's slug", create("default", &slug), "SLUG_TAKEN"),
        (
            "a cluster the co-op does not operate",
            create("eu1", "fresh-shop"),
            "UNKNOWN_CLUSTER",
        ),
    ] {
        table
            .row(name, json!(code), async {
                let body = app
                    .graphql_vars(q, json!({ "input": input }), Some(&f.b.reseller_token))
                    .await;
                (
                    body["data"]["createTenant"]["userErrors"][0]["code"].clone(),
                    body,
                )
            })
            .await;
    }
    table.finish();
    assert_eq!(count(&app, "tenants").await, tenants);
    app.run_pending_jobs().await;
});

// Two clusters, each a manifests directory: B's tenant on `eu1` lands in
// eu1's directory only, and A's objects stay as they were.
crate::test_both_backends!(
    two_clusters_never_touch_each_others_objects,
    two_clusters_on
);

async fn two_clusters_on(backend: Backend) {
    let eu1 = crate::TempDir::new();
    let eu1_dir = eu1.0.clone();
    let app = spawn_app_with(backend, move |env| {
        let default = env
            .iter()
            .find(|(k, _)| k == "COPLANE_KUBE_TARGET")
            .map(|(_, v)| v.clone())
            .unwrap();
        env.retain(|(k, _)| k != "COPLANE_KUBE_TARGET");
        env.push((
            "COPLANE_KUBE_CLUSTERS".into(),
            format!("default={default},eu1=manifests:{}", eu1_dir.display()),
        ));
    })
    .await;
    let f = Fixture::new(&app).await;
    app.run_pending_jobs().await;
    let before = snapshot(app.manifests_dir());
    mutate(
        &app,
        &f.b.reseller_token,
        "createTenant",
        "CreateTenantInput",
        "tenant { id }",
        json!({ "customerId": f.b.customer_id, "slug": "eu-shop", "cluster": "eu1",
                "quota": quota(100, 1 << 20, 1 << 20, 1, 1) }),
    )
    .await;
    app.run_pending_jobs().await;
    assert_eq!(
        snapshot(app.manifests_dir()),
        before,
        "the default cluster is untouched"
    );
    assert!(eu1.0.join("eu-shop").is_dir(), "eu1 holds the new tenant");
    app.finish().await;
}

fn snapshot(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.display().to_string(),
                    std::fs::read_to_string(&p).unwrap_or_default(),
                ));
            }
        }
    }
    out.sort();
    out
}

test_both_dbs!(cors_answers_configured_origins_only, |app| {
    // Nothing is allowed by default.
    let res = preflight(&app, "https://shop.example").await;
    assert!(res.headers().get("access-control-allow-origin").is_none());
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_allows_a_configured_storefront_with_its_authorization_header() {
    let app = spawn_app_with(Backend::Sqlite, |env| {
        env.push(("COPLANE_CORS_ORIGINS".into(), "https://shop.example".into()));
    })
    .await;
    let res = preflight(&app, "https://shop.example").await;
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://shop.example"
    );
    let allowed = res.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(allowed.contains("authorization"), "{allowed}");
    let res = preflight(&app, "https://evil.example").await;
    assert!(res.headers().get("access-control-allow-origin").is_none());
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_callers_and_usage_are_rate_limited_with_retry_after() {
    let app = spawn_app_with(Backend::Sqlite, |env| {
        env.retain(|(k, _)| !k.starts_with("COPLANE_RATE_LIMIT"));
        env.push(("COPLANE_RATE_LIMIT_ANONYMOUS".into(), "3/min".into()));
        env.push(("COPLANE_RATE_LIMIT_USAGE".into(), "2/min".into()));
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let res = post_raw(&app, br#"{"query":"{ viewer { roles } }"}"#.to_vec(), None).await;
        statuses.push(res.status().as_u16());
        if res.status() == 429 {
            let wait: u64 = res.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&wait), "{wait}");
        }
    }
    // A burst of three, then the wait.
    assert_eq!(statuses, [200, 200, 200, 429]);
    let res = post_raw(&app, br#"{"query":"{ viewer { roles } }"}"#.to_vec(), None).await;
    assert_eq!(res.status(), 429);
    let wait: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&wait), "{wait}");
    // A credential has its own bucket.
    let steward = app.token(&["steward"], "alice");
    let body = app.graphql("{ viewer { roles } }", Some(&steward)).await;
    assert_eq!(body["data"]["viewer"]["roles"], json!(["steward"]));
    // Usage ingestion: its own, smaller bucket per credential.
    let usage = || {
        app.client
            .post(format!("{}/v1/usage", app.address))
            .bearer_auth(&steward)
            .body("[]")
            .send()
    };
    assert_eq!(usage().await.unwrap().status(), 200);
    assert_eq!(usage().await.unwrap().status(), 200);
    let res = usage().await.unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().get("retry-after").is_some());
    app.finish().await;
}

test_both_dbs!(
    idempotency_keys_belong_to_the_acting_party_not_its_subject,
    |app| {
        let f = Fixture::new(&app).await;
        app.run_pending_jobs().await;
        // Two resellers' services that happen to share a `sub`.
        let a = crate::tenancy::fixture::jwt(
            &app,
            &["reseller"],
            "shop-service",
            Some(&f.a.reseller_id),
            None,
            &[],
        );
        let b = crate::tenancy::fixture::jwt(
            &app,
            &["reseller"],
            "shop-service",
            Some(&f.b.reseller_id),
            None,
            &[],
        );
        let input = |key: &str| {
            json!({ "name": "Same Name", "billingEmail": "x@example.org", "country": "DE",
                                     "currency": "EUR", "taxRate": "0.19", "idempotencyKey": key })
        };
        let ca = mutate(
            &app,
            &a,
            "createCustomer",
            "CreateCustomerInput",
            "customer { id }",
            input("k-1"),
        )
        .await;
        let cb = mutate(
            &app,
            &b,
            "createCustomer",
            "CreateCustomerInput",
            "customer { id }",
            input("k-1"),
        )
        .await;
        assert_ne!(ca["customer"]["id"], cb["customer"]["id"]);
        assert!(cb["customer"]["id"].is_string());
    }
);

test_both_dbs!(
    an_integration_without_a_reseller_or_coop_wide_reaches_nothing,
    |app| {
        let f = Fixture::new(&app).await;
        app.run_pending_jobs().await;
        let loose = erp_token(&app, false);
        let body = app
            .graphql("{ customers(first: 10) { totalCount } }", Some(&loose))
            .await;
        assert_eq!(body["data"]["customers"]["totalCount"], 0, "{body}");
        let wide = erp_token(&app, true);
        let body = app
            .graphql("{ customers(first: 10) { totalCount } }", Some(&wide))
            .await;
        assert!(
            body["data"]["customers"]["totalCount"].as_i64().unwrap() >= 2,
            "{body}"
        );
        // A steward's API token without a reseller must say co-op wide.
        let q = "mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token userErrors { field code } } }";
        let body = app
            .graphql_vars(
                q,
                json!({ "input": { "name": "odoo", "scopes": ["customers:read"] } }),
                Some(&f.steward),
            )
            .await;
        assert_eq!(
            body["data"]["createApiToken"]["userErrors"][0]["code"], "RESELLER_OR_COOP_WIDE",
            "{body}"
        );
    }
);

/// An integration JWT reading customers, co-op wide or not, naming no reseller.
fn erp_token(app: &TestApp, coop_wide: bool) -> String {
    app.token_with(coplane_api::cli::TokenArgs {
        roles: vec!["integration".into()],
        sub: "erp".into(),
        reseller: None,
        member: None,
        customer: None,
        tenants: Vec::new(),
        scopes: vec!["customers:read".into()],
        coop_wide,
        ttl: "1h".into(),
    })
}

/// A browser's CORS preflight for a POST with a bearer token from `origin`.
async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client
        .request(reqwest::Method::OPTIONS, format!("{}/graphql", app.address))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .expect("the server answers")
}

test_both_dbs!(
    another_customers_install_reads_exactly_as_a_missing_one,
    |app| {
        use crate::orders::{catalog, place};
        let f = Fixture::new(&app).await;
        let c = catalog(&app, &f.steward).await;
        let b = place(
            &app,
            &f.b.reseller_token,
            &f.b.customer_id,
            "b1",
            json!([{ "appInstall": { "tenantId": f.b.tenant_id, "appVersionId": c.site_v1 } }]),
        )
        .await;
        assert_eq!(b["userErrors"], json!([]), "{b}");
        app.run_pending_jobs().await;
        let row = app
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                app.db.get_database_backend(),
                "SELECT id FROM app_installs",
            ))
            .await
            .unwrap()
            .unwrap();
        let theirs: uuid::Uuid = row.try_get("", "id").unwrap();
        let upgrade = |install: uuid::Uuid, key: &'static str| {
            let lines = json!([{ "appUpgrade": {
            "installId": crate::tenancy::fixture::global_id("AppInstall", install),
            "appVersionId": c.site_v2 } }]);
            place(&app, &f.a.reseller_token, &f.a.customer_id, key, lines)
        };
        let other = upgrade(theirs, "a1").await;
        let missing = upgrade(uuid::Uuid::now_v7(), "a2").await;
        assert!(other["order"].is_null(), "{other}");
        assert_eq!(
            other["userErrors"], missing["userErrors"],
            "{other} vs {missing}"
        );
        assert_eq!(other["userErrors"][0]["code"], "NOT_FOUND");
    }
);
