use coplane_api::cli::TokenArgs;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::{Backend, spawn_app_with, test_both_dbs};

const VIEWER: &str = "{ viewer { id roles scopes } }";

fn reason(body: &Value) -> &str {
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{body}"
    );
    body["errors"][0]["extensions"]["reason"].as_str().unwrap()
}

test_both_dbs!(a_minted_steward_token_is_a_steward_viewer, |app| {
    let token = app.token(&["steward"], "me");
    let body = app.graphql("{ viewer { roles } }", Some(&token)).await;
    assert_eq!(
        body,
        json!({ "data": { "viewer": { "roles": ["steward"] } } })
    );
});

test_both_dbs!(claims_reach_the_viewer, |app| {
    let token = app.token_with(TokenArgs {
        roles: vec!["integration".into(), "member".into(), "integration".into()],
        sub: "odoo".into(),
        reseller: None,
        member: None,
        customer: None,
        tenants: vec![],
        scopes: vec!["customers:read".into()],
        coop_wide: false,
        ttl: "10m".into(),
    });
    let body = app.graphql(VIEWER, Some(&token)).await;
    assert_eq!(
        body["data"]["viewer"],
        json!({ "id": "odoo", "roles": ["integration", "member"], "scopes": ["customers:read"] })
    );
});

test_both_dbs!(no_token_is_an_anonymous_viewer, |app| {
    let body = app.graphql(VIEWER, None).await;
    assert_eq!(
        body["data"]["viewer"],
        json!({ "id": null, "roles": [], "scopes": [] })
    );
});

test_both_dbs!(
    forged_expired_unsigned_and_malformed_tokens_are_refused,
    |app| {
        let now = jsonwebtoken::get_current_timestamp();
        let claims =
            |exp: u64| json!({ "sub": "me", "roles": ["steward"], "exp": exp, "iat": now });
        let sign = |secret: &[u8], claims: &Value| {
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                claims,
                &EncodingKey::from_secret(secret),
            )
            .unwrap()
        };
        let b64 =
            |s: &str| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, s);
        let cases = [
            (
                sign(b"another-secret-another-secret-0000", &claims(now + 600)),
                "bad_signature",
            ),
            (
                sign(app_secret(&app).as_bytes(), &claims(now - 60)),
                "expired",
            ),
            (
                format!(
                    "{}.{}.",
                    b64(r#"{"alg":"none","typ":"JWT"}"#),
                    b64(&claims(now + 600).to_string())
                ),
                "malformed_token",
            ),
            ("not.a.jwt".to_owned(), "malformed_token"),
        ];
        for (token, expected) in cases {
            let res = app.graphql_response(VIEWER, json!({}), Some(&token)).await;
            assert_eq!(res.status(), 401, "{expected}");
            assert!(
                res.headers()["www-authenticate"]
                    .to_str()
                    .unwrap()
                    .contains(expected)
            );
            let body: Value = res.json().await.unwrap();
            assert_eq!(reason(&body), expected);
        }
        // A token without `exp` is refused.
        let no_exp = sign(
            app_secret(&app).as_bytes(),
            &json!({ "sub": "me", "roles": ["steward"] }),
        );
        let res = app.graphql_response(VIEWER, json!({}), Some(&no_exp)).await;
        assert_eq!(res.status(), 401);
        assert!(
            res.json::<Value>().await.unwrap()["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("exp")
        );

        let res = app
            .client
            .post(format!("{}/graphql", app.address))
            .header("authorization", "Token abc")
            .json(&json!({ "query": VIEWER }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        assert_eq!(reason(&res.json().await.unwrap()), "malformed_header");
    }
);

fn steward_args() -> TokenArgs {
    TokenArgs {
        roles: vec!["steward".into()],
        sub: "me".into(),
        reseller: None,
        member: None,
        customer: None,
        tenants: vec![],
        scopes: vec![],
        coop_wide: false,
        ttl: "1h".into(),
    }
}

fn app_secret(app: &crate::TestApp) -> String {
    use secrecy::ExposeSecret;
    match &app.settings.jwt {
        coplane_api::settings::JwtSettings::Hs256 { secret, .. } => {
            secret.expose_secret().to_owned()
        }
        other => panic!("expected HS256, got {other:?}"),
    }
}

test_both_dbs!(malformed_queries_get_graphql_errors_not_500s, |app| {
    let body = app.graphql("{ viewer { roles ", None).await;
    assert!(body["errors"][0]["message"].as_str().is_some(), "{body}");
    assert!(body.get("data").is_none_or(Value::is_null));

    let body = app.graphql("{ viewer { noSuchField } }", None).await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("noSuchField"),
        "{body}"
    );

    let res = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
});

test_both_dbs!(too_deep_queries_are_refused, |app| {
    // Depth 12 is the limit for data; it is checked before validation, so
    // the fields need not exist to be counted.
    let nested = |depth: usize| format!("{}{}", "{ viewer ".repeat(depth), "}".repeat(depth));
    let steward = app.token(&["steward"], "alice");
    let body = app.graphql(&nested(12), Some(&steward)).await;
    assert_ne!(
        body["errors"][0]["extensions"]["code"], "QUERY_TOO_LARGE",
        "{body}"
    );
    let body = app.graphql(&nested(13), Some(&steward)).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "QUERY_TOO_LARGE",
        "{body}"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("deeper than 12"),
        "{body}"
    );
});

/// An OIDC provider's keys: ES256 pinned by configuration, issuer and audience checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_of_an_oidc_provider_are_verified_against_its_jwks() {
    let jwks_url =
        crate::http::serve_json(include_str!("../fixtures/es256-jwks.json").to_owned()).await;
    let app = spawn_app_with(Backend::Sqlite, |env| {
        env.retain(|(k, _)| k != "COPLANE_JWT_SECRET");
        env.extend(
            [
                ("COPLANE_JWT_JWKS_URL", jwks_url.as_str()),
                ("COPLANE_JWT_ISSUER", "https://idp.example"),
                ("COPLANE_JWT_AUDIENCE", "coplane"),
                ("COPLANE_JWT_ALGORITHM", "ES256"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
    })
    .await;
    let key = EncodingKey::from_ec_pem(include_bytes!("../fixtures/es256-private.pem")).unwrap();
    let now = jsonwebtoken::get_current_timestamp();
    let sign = |iss: &str, aud: &str, kid: Option<&str>| {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = kid.map(str::to_owned);
        let claims = json!({ "sub": "alice", "roles": ["member"], "exp": now + 600, "iat": now, "iss": iss, "aud": aud });
        jsonwebtoken::encode(&header, &claims, &key).unwrap()
    };

    let good = sign("https://idp.example", "coplane", Some("test-es256"));
    let body = app.graphql("{ viewer { id roles } }", Some(&good)).await;
    assert_eq!(
        body["data"]["viewer"],
        json!({ "id": "alice", "roles": ["member"] })
    );

    let wrong_aud = sign("https://idp.example", "someone-else", Some("test-es256"));
    let res = app
        .graphql_response(VIEWER, json!({}), Some(&wrong_aud))
        .await;
    assert_eq!(res.status(), 401);
    assert_eq!(reason(&res.json().await.unwrap()), "wrong_audience");

    let wrong_iss = sign("https://evil.example", "coplane", Some("test-es256"));
    let res = app
        .graphql_response(VIEWER, json!({}), Some(&wrong_iss))
        .await;
    assert_eq!(reason(&res.json().await.unwrap()), "wrong_audience");

    let unknown_kid = sign("https://idp.example", "coplane", Some("rotated-away"));
    let res = app
        .graphql_response(VIEWER, json!({}), Some(&unknown_kid))
        .await;
    assert_eq!(reason(&res.json().await.unwrap()), "bad_signature");

    // Algorithm confusion: an HS256 token "signed" with the public key's bytes.
    let jwks = include_str!("../fixtures/es256-jwks.json");
    let hs = jsonwebtoken::encode(
        &Header { kid: Some("test-es256".into()), ..Header::new(Algorithm::HS256) },
        &json!({ "sub": "mallory", "roles": ["steward"], "exp": now + 600, "iss": "https://idp.example", "aud": "coplane" }),
        &EncodingKey::from_secret(jwks.as_bytes()),
    )
    .unwrap();
    let res = app.graphql_response(VIEWER, json!({}), Some(&hs)).await;
    assert_eq!(res.status(), 401);
    assert_eq!(reason(&res.json().await.unwrap()), "bad_signature");

    // Minting needs an HS256 key.
    assert!(coplane_api::cli::mint(&app.settings, &steward_args()).is_err());
    app.finish().await;
}

test_both_dbs!(a_reseller_token_without_its_reseller_is_refused, |app| {
    let now = jsonwebtoken::get_current_timestamp();
    let claims = json!({ "sub": "someone", "roles": ["reseller"], "exp": now + 600 });
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(app_secret(&app).as_bytes()),
    )
    .unwrap();
    let res = app.graphql_response(VIEWER, json!({}), Some(&token)).await;
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(reason(&body), "malformed_token");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("reseller_id"),
        "{body}"
    );
    // The command line refuses to mint one.
    assert!(
        coplane_api::cli::mint(
            &app.settings,
            &TokenArgs {
                roles: vec!["reseller".into()],
                ..steward_args()
            }
        )
        .is_err()
    );
});
