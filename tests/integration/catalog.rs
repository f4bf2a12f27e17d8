//! The catalog: apps with versioned, validated recipes, and plans.

use serde_json::{Value, json};

use crate::tenancy::fixture::{count, mutate, quota};
use crate::{TestApp, test_both_dbs};

const PUBLISH: &str = "mutation($input: PublishAppVersionInput!) { publishAppVersion(input: $input) { appVersion { version recipe } userErrors { field code message } } }";

fn wiki() -> Value {
    json!({
        "image": "ghcr.io/coop/wiki", "tag": "2.3.4",
        "ports": [{ "name": "http", "port": 8080 }],
        "env": [
            { "name": "SECRET_KEY", "generatedSecret": { "length": 32 } },
            { "name": "DATABASE_URL", "fromService": { "service": "postgres", "key": "url" } },
        ],
        "volumes": [{ "name": "data", "mountPath": "/var/lib/wiki", "sizeBytes": 1073741824 }],
        "health": { "httpPath": "/healthz", "port": "http" },
        "ingress": { "port": "http" },
        "services": ["postgres"],
    })
}

async fn setup(app: &TestApp) -> (String, String) {
    let steward = app.token(&["steward"], "steward");
    let app_id = mutate(
        app,
        &steward,
        "createApp",
        "CreateAppInput",
        "app { id }",
        json!({ "slug": "wiki", "name": "Wiki" }),
    )
    .await["app"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    mutate(
        app,
        &steward,
        "createPlan",
        "CreatePlanInput",
        "plan { id }",
        json!({ "code": "small", "name": "Small", "currency": "EUR", "baseFee": "9.9", "interval": "month",
                "includedQuota": quota(2000, 4 << 30, 10 << 30, 20, 3), "allowedApps": ["wiki"] }),
    )
    .await;
    (steward, app_id)
}

test_both_dbs!(a_steward_publishes_versions_that_everyone_reads, |app| {
    let (steward, app_id) = setup(&app).await;
    let body = app
        .graphql_vars(
            PUBLISH,
            json!({ "input": { "appId": app_id, "version": "1.0.0+2.3.4", "recipe": wiki() } }),
            Some(&steward),
        )
        .await;
    let published = &body["data"]["publishAppVersion"];
    assert_eq!(published["userErrors"], json!([]), "{body}");
    assert_eq!(
        published["appVersion"]["recipe"]["ingress"]["hostTemplate"], "{app}.{tenant}.{domain}",
        "defaults are filled in"
    );

    let member = app.token(&["member"], "someone");
    let body = app
        .graphql("{ apps { edges { node { slug versions { version } } } } plans { edges { node { code baseFee { amount currency } interval includedQuota { pods } allowedApps } } } }", Some(&member))
        .await;
    assert_eq!(
        body["data"]["apps"]["edges"][0]["node"],
        json!({ "slug": "wiki", "versions": [{ "version": "1.0.0+2.3.4" }] })
    );
    assert_eq!(
        body["data"]["plans"]["edges"][0]["node"],
        json!({ "code": "small", "baseFee": { "amount": "9.90", "currency": "EUR" }, "interval": "month", "includedQuota": { "pods": "20" }, "allowedApps": ["wiki"] })
    );

    // A published version never changes.
    let mut changed = wiki();
    changed["tag"] = json!("9.9.9");
    let body = app
        .graphql_vars(
            PUBLISH,
            json!({ "input": { "appId": app_id, "version": "1.0.0+2.3.4", "recipe": changed } }),
            Some(&steward),
        )
        .await;
    assert_eq!(
        body["data"]["publishAppVersion"]["userErrors"][0]["code"],
        "VERSION_EXISTS"
    );
    let body = app
        .graphql(
            "{ apps { edges { node { versions { recipe } } } } }",
            Some(&member),
        )
        .await;
    assert_eq!(
        body["data"]["apps"]["edges"][0]["node"]["versions"][0]["recipe"]["tag"],
        "2.3.4"
    );
});

test_both_dbs!(
    every_problem_of_a_recipe_is_reported_and_nothing_is_published,
    |app| {
        let (steward, app_id) = setup(&app).await;
        let mut bad = wiki();
        bad["image"] = json!("Not An Image");
        bad["ports"] = json!([{ "name": "http", "port": 8080 }, { "name": "admin", "port": 8080 }]);
        bad["volumes"][0]["sizeBytes"] = json!(20i64 << 30);
        bad["services"] = json!(["postgres", "oracle"]);
        let body = app
            .graphql_vars(
                PUBLISH,
                json!({ "input": { "appId": app_id, "version": "1.0.0+2.3.4", "recipe": bad } }),
                Some(&steward),
            )
            .await;
        let errors: Vec<(String, Value)> = body["data"]["publishAppVersion"]["userErrors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["code"].as_str().unwrap().to_owned(), e["field"].clone()))
            .collect();
        assert_eq!(
            errors,
            [
                (
                    "INVALID_IMAGE".to_owned(),
                    json!(["input", "recipe", "image"])
                ),
                (
                    "PORT_COLLISION".to_owned(),
                    json!(["input", "recipe", "ports[1]"])
                ),
                (
                    "UNKNOWN_SERVICE".to_owned(),
                    json!(["input", "recipe", "services[1]"])
                ),
                (
                    "VOLUME_TOO_LARGE".to_owned(),
                    json!(["input", "recipe", "volumes[0].sizeBytes"])
                ),
            ],
            "{body}"
        );
        for (version, recipe, code) in [
            ("1.0", wiki(), "INVALID_VERSION"),
            (
                "1.0.0+2.3.4",
                json!({ "image": "nginx", "tag": "1", "replicas": 3 }),
                "INVALID_RECIPE",
            ),
        ] {
            let body = app
                .graphql_vars(
                    PUBLISH,
                    json!({ "input": { "appId": app_id, "version": version, "recipe": recipe } }),
                    Some(&steward),
                )
                .await;
            assert_eq!(
                body["data"]["publishAppVersion"]["userErrors"][0]["code"], code,
                "{body}"
            );
        }
        assert_eq!(count(&app, "app_versions").await, 0);
    }
);

test_both_dbs!(bad_plans_get_user_errors_and_change_nothing, |app| {
    let (steward, _) = setup(&app).await;
    let before = count(&app, "plans").await;
    let m = "mutation($input: CreatePlanInput!) { createPlan(input: $input) { plan { id } userErrors { field code } } }";
    let base = json!({ "code": "p", "name": "P", "currency": "EUR", "baseFee": "10", "interval": "month", "includedQuota": quota(1, 1, 1, 1, 1) });
    for (key, value, code) in [
        ("currency", json!("EURO"), "INVALID_CURRENCY"),
        ("baseFee", json!("9.999"), "INVALID_AMOUNT"),
        ("baseFee", json!("-1"), "INVALID_AMOUNT"),
        ("interval", json!("fortnight"), "INVALID_INTERVAL"),
        ("allowedApps", json!(["nope"]), "UNKNOWN_APP"),
        ("code", json!("small"), "CODE_TAKEN"),
        ("code", json!("Bad Code"), "INVALID_CODE"),
    ] {
        let mut input = base.clone();
        input[key] = value;
        let body = app
            .graphql_vars(m, json!({ "input": input }), Some(&steward))
            .await;
        assert_eq!(
            body["data"]["createPlan"]["userErrors"][0]["code"], code,
            "{key}: {body}"
        );
    }
    assert_eq!(count(&app, "plans").await, before);
});
