//! The catalog: apps with versioned, validated recipes, and plans.

use serde_json::{Value, json};

use crate::table::Table;
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
        let mut table = Table::new("publishAppVersion refusals");
        for (name, version, recipe, code) in [
            (
                "a version that is not semver",
                "1.0",
                wiki(),
                "INVALID_VERSION",
            ),
            (
                "a recipe with replicas",
                "1.0.0+2.3.4",
                json!({ "image": "nginx", "tag": "1", "replicas": 3 }),
                "INVALID_RECIPE",
            ),
        ] {
            table
                .row(name, json!(code), async {
                    let body = app
                        .graphql_vars(
                            PUBLISH,
                            json!({ "input": { "appId": app_id, "version": version, "recipe": recipe } }),
                            Some(&steward),
                        )
                        .await;
                    let got = body["data"]["publishAppVersion"]["userErrors"][0]["code"].clone();
                    (got, body)
                })
                .await;
        }
        table.finish();
        assert_eq!(count(&app, "app_versions").await, 0);
    }
);

test_both_dbs!(bad_plans_get_user_errors_and_change_nothing, |app| {
    let (steward, _) = setup(&app).await;
    let before = count(&app, "plans").await;
    let m = "mutation($input: CreatePlanInput!) { createPlan(input: $input) { plan { id } userErrors { field code } } }";
    let base = json!({ "code": "p", "name": "P", "currency": "EUR", "baseFee": "10", "interval": "month", "includedQuota": quota(1, 1, 1, 1, 1) });
    let mut table = Table::new("createPlan refusals");
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
        input[key] = value.clone();
        table
            .row(format!("{key}: {value}"), json!(code), async {
                let body = app
                    .graphql_vars(m, json!({ "input": input }), Some(&steward))
                    .await;
                (
                    body["data"]["createPlan"]["userErrors"][0]["code"].clone(),
                    body,
                )
            })
            .await;
    }
    table.finish();
    assert_eq!(count(&app, "plans").await, before);
});

test_both_dbs!(a_reseller_sells_at_its_own_prices_under_its_brand, |app| {
    use crate::tenancy::fixture::Fixture;
    let fx = Fixture::new(&app).await;
    let plan = |code: &str, fee: &str| json!({ "code": code, "name": code, "currency": "EUR", "baseFee": fee, "interval": "month", "includedQuota": quota(1000, 1 << 30, 10 << 30, 10, 2) });
    mutate(
        &app,
        &fx.steward,
        "createPlan",
        "CreatePlanInput",
        "plan { id }",
        plan("small", "9.9"),
    )
    .await;
    let pro = mutate(
        &app,
        &fx.steward,
        "createPlan",
        "CreatePlanInput",
        "plan { id }",
        plan("pro", "49"),
    )
    .await["plan"]["id"]
        .clone();

    let set = "mutation($input: SetPriceListInput!) { setPriceList(input: $input) { storefront { priceVersion } userErrors { field code } } }";
    let body = app
        .graphql_vars(
            set,
            json!({ "input": { "markup": "0.25", "prices": [{ "planId": pro, "price": "45" }] } }),
            Some(&fx.a.reseller_token),
        )
        .await;
    assert_eq!(
        body["data"]["setPriceList"]["storefront"]["priceVersion"], 1,
        "{body}"
    );

    let q = "query($id: ID) { storefront(resellerId: $id) { brandName markup plans { plan { code } price { amount currency } } } }";
    let own = app
        .graphql_vars(q, json!({ "id": Value::Null }), Some(&fx.a.reseller_token))
        .await;
    assert_eq!(
        own["data"]["storefront"],
        json!({
            "brandName": "Alpha Cloud",
            "markup": "0.25",
            "plans": [
                // 9.90 × 1.25 = 12.375, rounded half away from zero.
                { "plan": { "code": "small" }, "price": { "amount": "12.38", "currency": "EUR" } },
                { "plan": { "code": "pro" }, "price": { "amount": "45.00", "currency": "EUR" } },
            ],
        }),
        "{own}"
    );
    // Another reseller without a price list sells at wholesale; neither sees the other's storefront.
    let other = app
        .graphql_vars(q, json!({ "id": Value::Null }), Some(&fx.b.reseller_token))
        .await;
    assert_eq!(
        other["data"]["storefront"]["plans"][0]["price"]["amount"],
        "9.90"
    );
    let peek = app
        .graphql_vars(
            q,
            json!({ "id": fx.b.reseller_id }),
            Some(&fx.a.reseller_token),
        )
        .await;
    assert_eq!(peek["data"]["storefront"], Value::Null);

    // Bad prices change nothing.
    let mut table = Table::new("setPriceList refusals");
    for (name, input, code) in [
        (
            "a negative markup",
            json!({ "markup": "-0.1" }),
            "INVALID_MARKUP",
        ),
        (
            "a price in tenths of a cent",
            json!({ "prices": [{ "planId": pro, "price": "1.234" }] }),
            "INVALID_AMOUNT",
        ),
        (
            "one plan priced twice",
            json!({ "prices": [{ "planId": pro, "price": "1" }, { "planId": pro, "price": "2" }] }),
            "DUPLICATE_PLAN",
        ),
        (
            "a plan id that is not one",
            json!({ "prices": [{ "planId": "nope", "price": "1" }] }),
            "NOT_FOUND",
        ),
        (
            "another reseller's price list",
            json!({ "resellerId": fx.b.reseller_id, "markup": "0.1" }),
            "NOT_FOUND",
        ),
    ] {
        table
            .row(name, json!(code), async {
                let body = app
                    .graphql_vars(set, json!({ "input": input }), Some(&fx.a.reseller_token))
                    .await;
                (
                    body["data"]["setPriceList"]["userErrors"][0]["code"].clone(),
                    body,
                )
            })
            .await;
    }
    table.finish();
    let again = app
        .graphql_vars(q, json!({ "id": Value::Null }), Some(&fx.a.reseller_token))
        .await;
    assert_eq!(again["data"]["storefront"], own["data"]["storefront"]);
    app.run_pending_jobs().await;
});

test_both_dbs!(retail_prices_mark_up_what_the_reseller_pays, |app| {
    use crate::tenancy::fixture::Fixture;
    let fx = Fixture::new(&app).await;
    mutate(
        &app,
        &fx.steward,
        "createPlan",
        "CreatePlanInput",
        "plan { id }",
        json!({ "code": "std", "name": "std", "currency": "EUR", "baseFee": "20.00", "interval": "month",
                "includedQuota": quota(1000, 1 << 30, 10 << 30, 10, 2) }),
    )
    .await;
    // The reseller pays 20 % less than list; it marks that up by 25 %.
    mutate(
        &app,
        &fx.steward,
        "setResellerBillingTerms",
        "SetResellerBillingTermsInput",
        "resellerId",
        json!({ "resellerId": fx.a.reseller_id, "wholesaleDiscount": "0.2", "taxRate": "0.19" }),
    )
    .await;
    mutate(
        &app,
        &fx.a.reseller_token,
        "setPriceList",
        "SetPriceListInput",
        "storefront { priceVersion }",
        json!({ "markup": "0.25", "prices": [] }),
    )
    .await;
    let q = "{ storefront { plans { plan { code } price { amount } } } }";
    let body = app.graphql(q, Some(&fx.a.reseller_token)).await;
    // 20.00 × 0.8 = 16.00 wholesale, × 1.25 = 20.00 retail (not 25.00).
    assert_eq!(
        body["data"]["storefront"]["plans"][0]["price"]["amount"], "20.00",
        "{body}"
    );
    app.run_pending_jobs().await;
});
