//! The install lifecycle on the manifests target: upgrades, rollbacks,
//! values and uninstalls.

use serde_json::{Value, json};

use super::{catalog, install, mutate_raw, order, place, place_ok};
use crate::tenancy::fixture::Fixture;
use crate::test_both_dbs;

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
