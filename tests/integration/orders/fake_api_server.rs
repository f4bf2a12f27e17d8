//! An order end to end against the fake API server with the operator.

use std::sync::Arc;

use coplane_domain::clock::ManualClock;
use coplane_tests::fake_kube::FakeKube;
use serde_json::{Value, json};

use super::{catalog, mutate_raw, order, place_ok};
use crate::kube::Operator;
use crate::tenancy::fixture::{Fixture, uuid_of};

/// From the order to a running app, against the fake API server with the
/// operator: namespace, rendered install, readiness from the Deployment,
/// upgrade and rollback changing only the image, uninstall keeping or
/// deleting the data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_runs_end_to_end_against_the_fake_api_server() {
    let mut app = crate::spawn_app(crate::Backend::Sqlite).await;
    let fake = FakeKube::start().await;
    app.use_cluster(fake.client());
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let op = Operator::start(&fake, clock, chrono::Duration::days(30));
    let f = Fixture::new(&app).await;
    let c = catalog(&app, &f.steward).await;
    let r = &f.a.reseller_token;
    let placed = place_ok(
        &app,
        r,
        &f.a.customer_id,
        "e2e",
        json!([
            { "newTenant": { "slug": "alpha-notes", "planId": c.plan } },
            { "appInstall": { "newTenantSlug": "alpha-notes", "appVersionId": c.notes_v1 } },
            { "appInstall": { "newTenantSlug": "alpha-notes", "appVersionId": c.site_v1 } },
        ]),
    )
    .await;
    let id = placed["id"].as_str().unwrap().to_owned();
    let notes = uuid_of(placed["lines"][1]["appInstallId"].as_str().unwrap()).to_string();
    let site = uuid_of(placed["lines"][2]["appInstallId"].as_str().unwrap()).to_string();
    let ns = "coplane-alpha-notes";
    // Drive the worker until the cluster has what the order asks for.
    let mut settled = Value::Null;
    for _ in 0..200 {
        app.run_pending_jobs().await;
        for d in [&notes, &site] {
            fake.roll_out(ns, d, 1);
        }
        app.clock.advance(chrono::Duration::seconds(5));
        settled = order(&app, r, &id).await;
        if settled["state"] == "fulfilled" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(settled["state"], "fulfilled", "{settled}");
    assert!(fake.get("Namespace", None, ns).is_some());
    for kind in [
        "Deployment",
        "Service",
        "Ingress",
        "PersistentVolumeClaim",
        "Secret",
    ] {
        assert!(!fake.list(kind, Some(ns)).is_empty(), "{kind} rendered");
    }
    let image = |name: &str| {
        fake.get("Deployment", Some(ns), name).unwrap()["spec"]["template"]["spec"]["containers"][0]
            ["image"]
            .clone()
    };
    let spec_without_image = |name: &str| {
        let mut d = fake.get("Deployment", Some(ns), name).unwrap()["spec"].clone();
        d["template"]["spec"]["containers"][0]["image"] = Value::Null;
        d["template"]["metadata"]["labels"]["app.kubernetes.io/version"] = Value::Null;
        d
    };
    assert_eq!(image(&site), "ghcr.io/coop/site:1.25");
    let before = spec_without_image(&site);

    // Upgrade: the image changes, nothing else; ready again only once rolled out.
    let install_gid = placed["lines"][2]["appInstallId"]
        .as_str()
        .unwrap()
        .to_owned();
    let up = place_ok(
        &app,
        r,
        &f.a.customer_id,
        "e2e-up",
        json!([{ "appUpgrade": { "installId": install_gid, "appVersionId": c.site_v2 } }]),
    )
    .await;
    let mut state = Value::Null;
    for _ in 0..200 {
        app.run_pending_jobs().await;
        if image(&site) == "ghcr.io/coop/site:1.27" {
            fake.roll_out(ns, &site, 1);
        }
        app.clock.advance(chrono::Duration::seconds(5));
        state = order(&app, r, up["id"].as_str().unwrap()).await["state"].clone();
        if state == "fulfilled" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(state, "fulfilled");
    assert_eq!(image(&site), "ghcr.io/coop/site:1.27");
    assert_eq!(spec_without_image(&site), before, "only the image changed");
    // Rollback: the old image, nothing else.
    let back = mutate_raw(
        &app,
        r,
        "rollbackAppInstall",
        json!({ "installId": install_gid }),
    )
    .await;
    assert_eq!(back["userErrors"], json!([]));
    for _ in 0..200 {
        app.run_pending_jobs().await;
        if image(&site) == "ghcr.io/coop/site:1.25" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(image(&site), "ghcr.io/coop/site:1.25");
    assert_eq!(spec_without_image(&site), before);

    // Uninstall keeping the data: the workload goes, the volume and secret stay.
    let notes_gid = placed["lines"][1]["appInstallId"]
        .as_str()
        .unwrap()
        .to_owned();
    let pvc = format!("{notes}-data");
    let secret = format!("{notes}-generated");
    let keep = place_ok(
        &app,
        r,
        &f.a.customer_id,
        "e2e-keep",
        json!([{ "appUninstall": { "installId": notes_gid, "deleteData": false } }]),
    )
    .await;
    for _ in 0..100 {
        app.run_pending_jobs().await;
        app.clock.advance(chrono::Duration::seconds(10));
        if order(&app, r, keep["id"].as_str().unwrap()).await["state"] == "fulfilled" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        order(&app, r, keep["id"].as_str().unwrap()).await["state"],
        "fulfilled"
    );
    assert!(fake.get("AppInstall", Some(ns), &notes).is_none());
    assert!(
        fake.get("Deployment", Some(ns), &notes).is_none(),
        "the workload went with its owner"
    );
    assert!(
        fake.get("PersistentVolumeClaim", Some(ns), &pvc).is_some(),
        "the data stays"
    );
    assert!(
        fake.get("Secret", Some(ns), &secret).is_some(),
        "its credentials stay"
    );

    // Uninstall deleting the data: the site has no volume; install notes
    // again and remove it with its data.
    let again = place_ok(&app, r, &f.a.customer_id, "e2e-again", json!([{ "appInstall": { "tenantId": placed["lines"][0]["tenantId"], "appVersionId": c.notes_v1 } }])).await;
    let notes2 = uuid_of(again["lines"][0]["appInstallId"].as_str().unwrap()).to_string();
    for _ in 0..200 {
        app.run_pending_jobs().await;
        fake.roll_out(ns, &notes2, 1);
        app.clock.advance(chrono::Duration::seconds(5));
        if order(&app, r, again["id"].as_str().unwrap()).await["state"] == "fulfilled" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let drop = place_ok(&app, r, &f.a.customer_id, "e2e-drop", json!([{ "appUninstall": { "installId": again["lines"][0]["appInstallId"], "deleteData": true } }])).await;
    for _ in 0..100 {
        app.run_pending_jobs().await;
        app.clock.advance(chrono::Duration::seconds(10));
        if order(&app, r, drop["id"].as_str().unwrap()).await["state"] == "fulfilled" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        order(&app, r, drop["id"].as_str().unwrap()).await["state"],
        "fulfilled"
    );
    assert!(
        fake.get("PersistentVolumeClaim", Some(ns), &format!("{notes2}-data"))
            .is_none(),
        "the data went"
    );
    assert!(
        fake.get("Secret", Some(ns), &format!("{notes2}-generated"))
            .is_none()
    );
    assert!(
        fake.get("PersistentVolumeClaim", Some(ns), &pvc).is_some(),
        "another install's data stays"
    );
    op.stop().await;
    app.run_pending_jobs().await;
    fake.stop().await;
    app.finish().await;
}
