//! API tokens: an ERP's bearer credential.

use serde_json::{Value, json};

use super::fixture::{Fixture, coop_api_token, count, customer, uuid_of};
use crate::test_both_dbs;

test_both_dbs!(an_erp_token_lists_customers_changed_since_a_date, |app| {
    let fx = Fixture::new(&app).await;
    let (id, secret) = coop_api_token(&app, &fx.steward, &["customers:read"]).await;
    assert!(secret.starts_with("cpl_") && secret.len() == 52, "{secret}");

    // Only the hash is stored.
    let leaked = app
        .execute(
            "UPDATE api_tokens SET name = name WHERE token_hash = $1 OR name = $1",
            vec![secret.clone().into()],
        )
        .await;
    assert_eq!(leaked, 0);

    app.clock.advance(chrono::Duration::seconds(5));
    let since = app.now().to_rfc3339();
    let late = customer(&app, &fx.a.reseller_token, None, "Late Customer").await;
    let q = "query($since: DateTime) { customers(updatedSince: $since) { totalCount edges { node { id name } } } }";
    let body = app
        .graphql_vars(q, json!({ "since": since }), Some(&secret))
        .await;
    assert_eq!(body["data"]["customers"]["totalCount"], 1, "{body}");
    assert_eq!(body["data"]["customers"]["edges"][0]["node"]["id"], late);
    let all = app
        .graphql_vars(q, json!({ "since": Value::Null }), Some(&secret))
        .await;
    assert_eq!(
        all["data"]["customers"]["totalCount"], 3,
        "co-op wide: both resellers' customers"
    );

    // Its scope is all it can do.
    let body = app
        .graphql("{ tenants { totalCount } }", Some(&secret))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");

    // Its use is recorded.
    let tokens = app
        .graphql(
            "{ apiTokens { edges { node { id lastUsedAt scopes coopWide resellerId } } } }",
            Some(&fx.steward),
        )
        .await;
    let node = tokens["data"]["apiTokens"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["id"] == id)
        .unwrap()["node"]
        .clone();
    assert!(node["lastUsedAt"].is_string(), "{node}");
    assert_eq!(node["scopes"], json!(["customers:read"]));
    // Its reach is recorded as asked for, not read from a missing reseller.
    assert_eq!(
        (node["coopWide"].clone(), node["resellerId"].clone()),
        (json!(true), Value::Null)
    );
    let others: Vec<&Value> = tokens["data"]["apiTokens"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["node"]["id"] != id)
        .collect();
    assert!(
        others.iter().all(|e| e["node"]["coopWide"] == false),
        "{others:?}"
    );

    // Revoked: refused at once.
    let m = "mutation($input: RevokeApiTokenInput!) { revokeApiToken(input: $input) { apiToken { revokedAt } userErrors { code } } }";
    let body = app
        .graphql_vars(m, json!({ "input": { "id": id } }), Some(&fx.steward))
        .await;
    assert!(body["data"]["revokeApiToken"]["apiToken"]["revokedAt"].is_string());
    let res = app
        .graphql_response("{ viewer { roles } }", json!({}), Some(&secret))
        .await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.json::<Value>().await.unwrap()["errors"][0]["extensions"]["reason"],
        "revoked"
    );
    // Tenant changes enqueue their sync; run it as a worker would.
    app.run_pending_jobs().await;
});

test_both_dbs!(expired_unknown_and_badly_scoped_tokens_are_refused, |app| {
    let fx = Fixture::new(&app).await;
    let (id, secret) = coop_api_token(&app, &fx.steward, &["tenants:read"]).await;
    app.execute(
        "UPDATE api_tokens SET expires_at = $1 WHERE id = $2",
        vec![
            (app.now() - chrono::Duration::seconds(1)).into(),
            uuid_of(&id).into(),
        ],
    )
    .await;
    for (token, reason) in [
        (secret.as_str(), "expired"),
        (
            "cpl_0000000000000000000000000000000000000000000000000",
            "unknown_token",
        ),
    ] {
        let res = app
            .graphql_response("{ viewer { roles } }", json!({}), Some(token))
            .await;
        assert_eq!(res.status(), 401);
        assert_eq!(
            res.json::<Value>().await.unwrap()["errors"][0]["extensions"]["reason"],
            reason
        );
    }

    let before = count(&app, "api_tokens").await;
    let m = "mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token userErrors { field code } } }";
    for (input, code) in [
        (
            json!({ "name": "x", "scopes": ["everything"] }),
            "INVALID_SCOPE",
        ),
        (json!({ "name": "x", "scopes": [] }), "INVALID_SCOPE"),
        (
            json!({ "name": "", "scopes": ["customers:read"] }),
            "INVALID_NAME",
        ),
        (
            json!({ "name": "x", "scopes": ["customers:read"], "expiresAt": "2000-01-01T00:00:00Z" }),
            "INVALID_EXPIRY",
        ),
    ] {
        let body = app
            .graphql_vars(m, json!({ "input": input }), Some(&fx.a.reseller_token))
            .await;
        assert_eq!(
            body["data"]["createApiToken"]["userErrors"][0]["code"], code,
            "{body}"
        );
        assert!(body["data"]["createApiToken"]["token"].is_null());
    }
    assert_eq!(count(&app, "api_tokens").await, before);
    // Tenant changes enqueue their sync; run it as a worker would.
    app.run_pending_jobs().await;
});
