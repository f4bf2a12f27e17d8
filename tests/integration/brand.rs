//! A storefront's brand and host names: set whole by its reseller (or a
//! steward), checked whole, a host one storefront's only; a host picks
//! the reseller.

use coplane_domain::catalog::brand::reseller_by_host;
use serde_json::{Value, json};

use crate::tenancy::fixture::{Fixture, count, uuid_of};
use crate::{TestApp, test_both_dbs};

const SET: &str = "mutation($input: SetStorefrontBrandInput!) { setStorefrontBrand(input: $input) { \
     storefront { resellerId brandName brand { domains primaryColor accentColor termsUrl version } } \
     userErrors { field code message } } }";

async fn set(app: &TestApp, token: &str, input: Value) -> Value {
    let body = app
        .graphql_vars(SET, json!({ "input": input }), Some(token))
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["setStorefrontBrand"].clone()
}

/// The brand tables' rows and the audit trail's.
async fn footprint(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for table in ["storefront_brands", "storefront_domains", "audit_events"] {
        out.push(count(app, table).await);
    }
    out
}

async fn host_owner(app: &TestApp, host: &str) -> Option<uuid::Uuid> {
    reseller_by_host(&app.db, host).await.unwrap().map(|r| r.0)
}

test_both_dbs!(
    a_reseller_brands_its_storefront_and_its_hosts_are_its_own,
    |app| {
        let fx = Fixture::new(&app).await;
        let a = &fx.a.reseller_token;
        let made = set(
            &app,
            a,
            json!({
                "domains": [" Shop.Example.COM ", "www.shop.example.com"],
                "primaryColor": "#1A7F5A",
                "accentColor": "#ffcc00",
                "termsUrl": "https://shop.example.com/terms",
            }),
        )
        .await;
        assert_eq!(made["userErrors"], json!([]), "{made}");
        let brand = &made["storefront"]["brand"];
        assert_eq!(
            brand,
            &json!({
                "domains": ["shop.example.com", "www.shop.example.com"],
                "primaryColor": "#1a7f5a",
                "accentColor": "#ffcc00",
                "termsUrl": "https://shop.example.com/terms",
                "version": 1,
            })
        );
        assert_eq!(made["storefront"]["resellerId"], fx.a.reseller_id.as_str());
        let a_id = uuid_of(&fx.a.reseller_id);
        assert_eq!(host_owner(&app, "SHOP.example.com").await, Some(a_id));
        // As a `Host` header gives it: with a port, or fully qualified.
        assert_eq!(host_owner(&app, "shop.example.com:8443").await, Some(a_id));
        assert_eq!(host_owner(&app, "shop.example.com.").await, Some(a_id));
        assert_eq!(host_owner(&app, "shop.example.com:").await, None);
        assert_eq!(host_owner(&app, "www.shop.example.com").await, Some(a_id));
        assert_eq!(host_owner(&app, "other.example.com").await, None);
        assert_eq!(host_owner(&app, "not a host").await, None);

        // The storefront query shows it too.
        let read = app
            .graphql("{ storefront { brand { domains version } } }", Some(a))
            .await;
        assert_eq!(
            read["data"]["storefront"]["brand"],
            json!({ "domains": ["shop.example.com", "www.shop.example.com"], "version": 1 })
        );

        // B may not take A's host, nor brand A's storefront; nothing changes.
        let before = footprint(&app).await;
        let b = &fx.b.reseller_token;
        let taken = set(
            &app,
            b,
            json!({ "domains": ["b.example.com", "shop.example.com"] }),
        )
        .await;
        assert_eq!(taken["storefront"], Value::Null);
        assert_eq!(taken["userErrors"][0]["code"], "HOST_TAKEN", "{taken}");
        assert_eq!(taken["userErrors"][0]["field"], json!(["input", "domains"]));
        let other = set(
            &app,
            b,
            json!({ "resellerId": fx.a.reseller_id, "domains": ["b.example.com"] }),
        )
        .await;
        assert_eq!(other["userErrors"][0]["code"], "NOT_FOUND", "{other}");
        assert_eq!(footprint(&app).await, before);
        assert_eq!(host_owner(&app, "b.example.com").await, None);

        // Bad input: an error at its field, and nothing changes.
        for (input, field, code) in [
            (
                json!({ "domains": ["localhost"] }),
                "domains",
                "INVALID_HOST",
            ),
            (
                json!({ "domains": ["x.example.com", "X.example.com"] }),
                "domains",
                "DUPLICATE_HOST",
            ),
            (
                json!({ "domains": ["mine.apps.localhost"] }),
                "domains",
                "HOST_RESERVED",
            ),
            (
                json!({ "domains": (0..11).map(|i| format!("s{i}.example.com")).collect::<Vec<_>>() }),
                "domains",
                "TOO_MANY_DOMAINS",
            ),
            (
                json!({ "primaryColor": "green" }),
                "primaryColor",
                "INVALID_COLOR",
            ),
            (
                json!({ "accentColor": "#12345" }),
                "accentColor",
                "INVALID_COLOR",
            ),
            (
                json!({ "termsUrl": "http://shop.example.com/terms" }),
                "termsUrl",
                "INVALID_URL",
            ),
            (
                json!({ "termsUrl": "javascript:alert(1)" }),
                "termsUrl",
                "INVALID_URL",
            ),
        ] {
            let refused = set(&app, a, input.clone()).await;
            assert_eq!(refused["storefront"], Value::Null, "{input}");
            assert_eq!(
                refused["userErrors"][0]["field"],
                json!(["input", field]),
                "{input}: {refused}"
            );
            assert_eq!(refused["userErrors"][0]["code"], code, "{input}: {refused}");
            assert_eq!(footprint(&app).await, before, "{input}");
        }
        assert_eq!(host_owner(&app, "shop.example.com").await, Some(a_id));

        // Setting it again replaces it whole: the hosts left are free for B.
        let again = set(&app, a, json!({ "domains": ["new.example.com"] })).await;
        assert_eq!(
            again["storefront"]["brand"],
            json!({ "domains": ["new.example.com"], "primaryColor": null, "accentColor": null, "termsUrl": null, "version": 2 })
        );
        assert_eq!(host_owner(&app, "shop.example.com").await, None);
        let freed = set(&app, b, json!({ "domains": ["shop.example.com"] })).await;
        assert_eq!(freed["userErrors"], json!([]), "{freed}");
        assert_eq!(
            host_owner(&app, "shop.example.com").await,
            Some(uuid_of(&fx.b.reseller_id))
        );

        // A steward names the reseller.
        let steward = set(
            &app,
            &fx.steward,
            json!({ "resellerId": fx.a.reseller_id, "primaryColor": "#000000" }),
        )
        .await;
        assert_eq!(
            steward["storefront"]["brand"]["primaryColor"], "#000000",
            "{steward}"
        );
        assert_eq!(steward["storefront"]["brand"]["domains"], json!([]));
        assert_eq!(host_owner(&app, "new.example.com").await, None);
        app.run_pending_jobs().await;
    }
);

test_both_dbs!(
    two_storefronts_claiming_one_host_at_once_one_gets_it,
    |app| {
        // On PostgreSQL the two run at once; SQLite takes one writer at a time.
        let fx = Fixture::new(&app).await;
        let domains = |token: &str| {
            let (app, token) = (&app, token.to_owned());
            async move {
                let read = app
                    .graphql("{ storefront { brand { domains } } }", Some(&token))
                    .await;
                read["data"]["storefront"]["brand"]["domains"].clone()
            }
        };
        for round in 0..5 {
            let host = format!("race-{round}.example.com");
            let before = [
                domains(&fx.a.reseller_token).await,
                domains(&fx.b.reseller_token).await,
            ];
            let (a, b) = futures::join!(
                set(&app, &fx.a.reseller_token, json!({ "domains": [host] })),
                set(&app, &fx.b.reseller_token, json!({ "domains": [host] })),
            );
            let won: Vec<bool> = [&a, &b]
                .iter()
                .map(|r| r["userErrors"] == json!([]))
                .collect();
            assert_eq!(won.iter().filter(|w| **w).count(), 1, "{a} {b}");
            let (winner, loser, lost, kept) = if won[0] {
                (&fx.a, &fx.b, &b, &before[1])
            } else {
                (&fx.b, &fx.a, &a, &before[0])
            };
            assert_eq!(lost["userErrors"][0]["code"], "HOST_TAKEN", "{lost}");
            assert_eq!(
                host_owner(&app, &host).await,
                Some(uuid_of(&winner.reseller_id))
            );
            // The loser's brand is as it was.
            assert_eq!(&domains(&loser.reseller_token).await, kept);
        }
        app.run_pending_jobs().await;
    }
);

test_both_dbs!(a_storefront_and_an_install_never_share_a_host, |app| {
    let fx = Fixture::new(&app).await;
    let c = crate::orders::catalog(&app, &fx.steward).await;
    // A's customer serves its site at a domain of its own.
    let order = crate::orders::place(
        &app,
        &fx.a.reseller_token,
        &fx.a.customer_id,
        "site",
        json!([{ "appInstall": { "tenantId": fx.a.tenant_id, "appVersionId": c.site_v1,
                                 "values": { "host": "www.alpha.example" } } }]),
    )
    .await;
    assert_eq!(order["userErrors"], json!([]), "{order}");
    app.run_pending_jobs().await;
    // No storefront, not even A's own, answers on a host an install serves.
    for token in [&fx.b.reseller_token, &fx.a.reseller_token] {
        let before = footprint(&app).await;
        let taken = set(&app, token, json!({ "domains": ["WWW.alpha.example"] })).await;
        assert_eq!(taken["userErrors"][0]["code"], "HOST_TAKEN", "{taken}");
        assert_eq!(footprint(&app).await, before);
    }
    // Nor does an install take a storefront's host.
    let brand = set(
        &app,
        &fx.b.reseller_token,
        json!({ "domains": ["shop.beta.example"] }),
    )
    .await;
    assert_eq!(brand["userErrors"], json!([]), "{brand}");
    let order = crate::orders::place(
        &app,
        &fx.a.reseller_token,
        &fx.a.customer_id,
        "site-2",
        json!([{ "appInstall": { "tenantId": fx.a.tenant_id, "appVersionId": c.site_v1,
                                 "values": { "host": "shop.beta.example" } } }]),
    )
    .await;
    assert_eq!(order["userErrors"][0]["code"], "HOST_TAKEN", "{order}");
    assert_eq!(
        host_owner(&app, "shop.beta.example").await,
        Some(uuid_of(&fx.b.reseller_id))
    );
    app.run_pending_jobs().await;
});
