//! App installs on the cluster: rendering, secrets, readiness flowing back.

use std::sync::Arc;

use coplane_domain::clock::ManualClock;
use coplane_domain::ids::{AppId, AppInstallId, AppVersionId};
use coplane_domain::jobs;
use coplane_tests::fake_kube::FakeKube;
use sea_orm::ConnectionTrait;
use serde_json::json;

use super::{Operator, converged, eventually, reseller_tenant, tenant_resource};
use crate::tenancy::fixture::uuid_of;
use crate::test_both_dbs;

test_both_dbs!(
    an_install_becomes_an_app_install_and_its_readiness_flows_back,
    |app| {
        let fake = FakeKube::start().await;
        app.use_cluster(fake.client());
        let tenant_id = uuid_of(&reseller_tenant(&app, "apps").await);
        app.run_pending_jobs().await;
        // The storefront's order creates these rows (see the catalog); written directly here.
        let (app_id, version_id, install_id) =
            (AppId::new(), AppVersionId::new(), AppInstallId::new());
        let now = app.now();
        app.execute("INSERT INTO apps (id, slug, name, description, created_at, updated_at) VALUES ($1, 'wiki', 'Wiki', '', $2, $2)", vec![app_id.into(), now.into()]).await;
        app.execute(
        "INSERT INTO app_versions (id, app_id, version, recipe, published_at, created_at) VALUES ($1, $2, '1.0.0+2.3.4', $3, $4, $4)",
        vec![version_id.into(), app_id.into(), json!({ "image": "wiki:2.3.4" }).to_string().into(), now.into()],
    )
    .await;
        app.execute(
        "INSERT INTO app_installs (id, tenant_id, reseller_id, app_id, app_version_id, values_json, state, created_at, updated_at) \
         SELECT $1, id, reseller_id, $2, $3, '{\"title\":\"Docs\"}', 'installing', $4, $4 FROM tenants WHERE id = $5",
        vec![install_id.into(), app_id.into(), version_id.into(), now.into(), tenant_id.into()],
    )
    .await;
        jobs::enqueue(
            &app.db,
            &coplane_domain::tenancy::jobs::SyncAppInstall { install_id },
            now,
        )
        .await
        .unwrap();
        app.run_pending_jobs().await;

        let name = install_id.to_string();
        let resource = fake
            .get("AppInstall", Some("coplane-apps"), &name)
            .expect("the AppInstall exists");
        assert_eq!(resource["spec"]["app"], "wiki");
        assert_eq!(resource["spec"]["version"], "1.0.0+2.3.4");
        assert_eq!(resource["spec"]["recipe"], json!({ "image": "wiki:2.3.4" }));
        assert_eq!(resource["spec"]["values"], json!({ "title": "Docs" }));

        fake.set_status(
            "AppInstall",
            Some("coplane-apps"),
            &name,
            json!({ "ready": true, "observedGeneration": resource["metadata"]["generation"] }),
        );
        jobs::enqueue(
            &app.db,
            &coplane_domain::tenancy::jobs::SyncAppInstall { install_id },
            app.now(),
        )
        .await
        .unwrap();
        app.run_pending_jobs().await;
        let state = app
            .db
            .query_one_raw(sea_orm::Statement::from_sql_and_values(
                app.db.get_database_backend(),
                "SELECT state FROM app_installs WHERE id = $1",
                [install_id.into()],
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get::<String>("", "state")
            .unwrap();
        assert_eq!(state, "ready");

        app.execute(
            "UPDATE app_installs SET state = 'uninstalled' WHERE id = $1",
            vec![install_id.into()],
        )
        .await;
        jobs::enqueue(
            &app.db,
            &coplane_domain::tenancy::jobs::SyncAppInstall { install_id },
            app.now(),
        )
        .await
        .unwrap();
        app.run_pending_jobs().await;
        assert!(
            fake.get("AppInstall", Some("coplane-apps"), &name)
                .is_none()
        );
        fake.stop().await;
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_install_renders_keeps_its_secrets_and_reports_readiness() {
    let fake = FakeKube::start().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let op = Operator::start(&fake, clock, chrono::Duration::days(30));
    fake.apply_as("coplane", tenant_resource("shop", false));
    eventually("the tenant converges", || converged(&fake, "shop")).await;
    let install = |tag: &str, version: &str| {
        json!({
            "apiVersion": "coplane.io/v1alpha1", "kind": "AppInstall",
            "metadata": { "name": "wiki-1", "namespace": "coplane-shop" },
            "spec": { "app": "wiki", "version": version, "values": {}, "recipe": {
                "image": "ghcr.io/coop/wiki", "tag": tag,
                "ports": [{ "name": "http", "port": 8080 }],
                "env": [{ "name": "SECRET_KEY", "generatedSecret": { "length": 32 } }],
                "volumes": [{ "name": "data", "mountPath": "/data", "sizeBytes": 1073741824 }],
                "ingress": { "port": "http" },
            } },
        })
    };
    fake.apply_as("coplane", install("2.3.4", "1.0.0+2.3.4"));
    eventually("the install is rendered", || {
        [
            "Deployment",
            "Service",
            "Ingress",
            "PersistentVolumeClaim",
            "Secret",
        ]
        .iter()
        .all(|k| !fake.list(k, Some("coplane-shop")).is_empty())
    })
    .await;
    let secret = fake
        .get("Secret", Some("coplane-shop"), "wiki-1-generated")
        .unwrap()["data"]["SECRET_KEY"]
        .clone();
    assert_eq!(secret.as_str().unwrap().len(), 44, "32 characters, base64");
    assert_eq!(
        fake.get("Ingress", Some("coplane-shop"), "wiki-1").unwrap()["spec"]["rules"][0]["host"],
        "wiki.shop.apps.example.coop"
    );
    eventually("the install reports itself not ready", || {
        fake.get("AppInstall", Some("coplane-shop"), "wiki-1")
            .is_some_and(|i| i["status"]["ready"] == false)
    })
    .await;

    // The cluster reports the Deployment available: the install is ready.
    assert!(fake.roll_out("coplane-shop", "wiki-1", 1));
    eventually("the install is ready", || {
        fake.get("AppInstall", Some("coplane-shop"), "wiki-1")
            .is_some_and(|i| i["status"]["ready"] == true)
    })
    .await;

    // An upgrade changes the image and nothing else; the generated secret stays.
    fake.apply_as("coplane", install("2.4.0", "1.0.1+2.4.0"));
    eventually("the image is upgraded", || {
        fake.get("Deployment", Some("coplane-shop"), "wiki-1")
            .is_some_and(|d| {
                d["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/coop/wiki:2.4.0"
            })
    })
    .await;
    assert_eq!(
        fake.get("Secret", Some("coplane-shop"), "wiki-1-generated")
            .unwrap()["data"]["SECRET_KEY"],
        secret
    );
    assert!(
        fake.get("Deployment", Some("coplane-shop"), "wiki-1")
            .unwrap()["spec"]
            .get("replicas")
            .is_none()
    );
    op.stop().await;
    fake.stop().await;
}
