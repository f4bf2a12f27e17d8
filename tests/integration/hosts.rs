//! Ingress hosts: no install takes a host another live install serves,
//! whether either host was typed by a customer or derived from the recipe.

use futures::FutureExt;
use futures::future::BoxFuture;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::orders::{catalog, place};
use crate::table::Table;
use crate::tenancy::fixture::{Fixture, global_id};
use crate::{TestApp, test_both_dbs};

const SET_VALUES: &str = "mutation($input: SetAppInstallValuesInput!) { setAppInstallValues(input: $input) { appInstall { id } userErrors { field code message } } }";

/// Every install's (id, host, values), in id order.
async fn hosts(app: &TestApp) -> Vec<(String, Option<String>, String)> {
    let rows = app
        .db
        .query_all_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT id, ingress_host, values_json FROM app_installs ORDER BY id",
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            (
                r.try_get::<uuid::Uuid>("", "id").unwrap().to_string(),
                r.try_get("", "ingress_host").unwrap(),
                r.try_get("", "values_json").unwrap(),
            )
        })
        .collect()
}

fn accepted(payload: &Value) {
    assert_eq!(payload["userErrors"], json!([]), "{payload}");
}

fn refused(payload: &Value, code: &str) {
    assert_eq!(payload["userErrors"][0]["code"], code, "{payload}");
}

test_both_dbs!(
    no_install_takes_a_host_another_serves_typed_or_derived,
    |app| {
        let f = Fixture::new(&app).await;
        let c = catalog(&app, &f.steward).await;
        let b_slug = app
            .graphql(
                &format!(
                    "{{ node(id: \"{}\") {{ ... on Tenant {{ slug }} }} }}",
                    f.b.tenant_id
                ),
                Some(&f.steward),
            )
            .await["data"]["node"]["slug"]
            .as_str()
            .unwrap()
            .to_owned();
        // B installs the site at its default host; A at a domain of its own.
        accepted(
            &place(
                &app,
                &f.b.reseller_token,
                &f.b.customer_id,
                "b1",
                json!([{ "appInstall": { "tenantId": f.b.tenant_id, "appVersionId": c.site_v1 } }]),
            )
            .await,
        );
        accepted(
            &place(
                &app,
                &f.a.reseller_token,
                &f.a.customer_id,
                "a1",
                json!([{ "appInstall": { "tenantId": f.a.tenant_id, "appVersionId": c.site_v1,
                                     "values": { "host": "www.alpha.example" } } }]),
            )
            .await,
        );
        app.run_pending_jobs().await;
        let b_default = format!("site.{b_slug}.apps.localhost");
        let before = hosts(&app).await;
        let recorded: Vec<Option<&str>> = before.iter().map(|(_, h, _)| h.as_deref()).collect();
        assert!(recorded.contains(&Some(b_default.as_str())), "{before:?}");
        assert!(recorded.contains(&Some("www.alpha.example")), "{before:?}");
        let a_install = before
            .iter()
            .find(|(_, h, _)| h.as_deref() == Some("www.alpha.example"))
            .map(|(id, _, _)| global_id("AppInstall", id.parse().unwrap()))
            .unwrap();
        let b_install = before
            .iter()
            .find(|(_, h, _)| h.as_deref() == Some(b_default.as_str()))
            .map(|(id, _, _)| global_id("AppInstall", id.parse().unwrap()))
            .unwrap();

        let (a, b) = (&f.a.reseller_token, &f.b.reseller_token);
        let rows: [(&str, BoxFuture<'_, Value>, &str); 5] = [
            // A cannot name B's derived host, nor any name under the co-op's domain.
            (
                "A names B's derived host",
                set(&app, a, &a_install, &b_default).boxed(),
                "HOST_RESERVED",
            ),
            (
                "A names a host under the co-op's domain",
                set(&app, a, &a_install, "anything.apps.localhost").boxed(),
                "HOST_RESERVED",
            ),
            // B cannot take A's own domain.
            (
                "B takes A's domain",
                set(&app, b, &b_install, "www.alpha.example").boxed(),
                "HOST_TAKEN",
            ),
            // Neither through a new order, nor twice in one order.
            (
                "B orders an install on A's domain",
                place(&app, b, &f.b.customer_id, "b2",
                    json!([{ "appInstall": { "tenantId": f.b.tenant_id, "appVersionId": c.site_v1,
                                             "values": { "host": "www.alpha.example" } } }]),
                )
                .boxed(),
                "HOST_TAKEN",
            ),
            // Two tenants of one order cannot share a host either.
            (
                "one order gives two tenants one host",
                place(&app, b, &f.b.customer_id, "b3",
                    json!([
                        { "newTenant": { "slug": "beta-two", "planId": c.plan } },
                        { "appInstall": { "newTenantSlug": "beta-two", "appVersionId": c.site_v1, "values": { "host": "beta.example" } } },
                        { "appInstall": { "tenantId": f.b.tenant_id, "appVersionId": c.site_v1, "values": { "host": "beta.example" } } },
                    ]),
                )
                .boxed(),
                "HOST_TAKEN",
            ),
        ];
        let mut table = Table::new("hosts refused");
        for (name, payload, code) in rows {
            table
                .row(name, json!(code), async {
                    let payload = payload.await;
                    (payload["userErrors"][0]["code"].clone(), payload)
                })
                .await;
        }
        table.finish();
        assert_eq!(hosts(&app).await, before, "nothing changed");
        // Its own host again, or a free one, is fine.
        accepted(&set(&app, &f.a.reseller_token, &a_install, "shop.alpha.example").await);
        app.run_pending_jobs().await;
    }
);

/// `setAppInstallValues` with a host, as `token`; its payload.
async fn set(app: &TestApp, token: &str, install: &str, host: &str) -> Value {
    let input = json!({ "input": { "installId": install, "values": { "host": host } } });
    app.graphql_vars(SET_VALUES, input, Some(token)).await["data"]["setAppInstallValues"].clone()
}

test_both_dbs!(
    installs_made_before_hosts_were_recorded_get_theirs_at_start,
    |app| {
        let f = Fixture::new(&app).await;
        let c = catalog(&app, &f.steward).await;
        accepted(
            &place(
                &app,
                &f.a.reseller_token,
                &f.a.customer_id,
                "a1",
                json!([{ "appInstall": { "tenantId": f.a.tenant_id, "appVersionId": c.site_v1 } }]),
            )
            .await,
        );
        app.run_pending_jobs().await;
        let recorded = hosts(&app).await;
        app.execute("UPDATE app_installs SET ingress_host = NULL", Vec::new())
            .await;
        let platform = coplane_domain::tenancy::Platform::single();
        let n = coplane_domain::orders::installs::record_missing_hosts(&app.db, &platform)
            .await
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(hosts(&app).await, recorded);
    }
);

test_both_dbs!(
    a_version_that_would_move_an_install_to_another_host_is_refused,
    |app| {
        use crate::orders::{app_with_version, site};
        let f = Fixture::new(&app).await;
        let mut moved = site("1.27");
        moved["ingress"]["hostTemplate"] = json!("{app}-next.{tenant}.{domain}");
        let versions = app_with_version(
            &app,
            &f.steward,
            "blog",
            &[("1.0.0+1.25", site("1.25")), ("2.0.0+1.27", moved)],
        )
        .await;
        accepted(
        &place(&app, &f.a.reseller_token, &f.a.customer_id, "a1",
            json!([{ "appInstall": { "tenantId": f.a.tenant_id, "appVersionId": versions[0] } }])).await,
    );
        app.run_pending_jobs().await;
        let before = hosts(&app).await;
        let install = global_id("AppInstall", before[0].0.parse().unwrap());
        refused(
            &place(
                &app,
                &f.a.reseller_token,
                &f.a.customer_id,
                "a2",
                json!([{ "appUpgrade": { "installId": install, "appVersionId": versions[1] } }]),
            )
            .await,
            "HOST_CHANGES",
        );
        assert_eq!(hosts(&app).await, before);
        app.run_pending_jobs().await;
    }
);
