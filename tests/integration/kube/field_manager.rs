//! Server-side apply by field manager, on the fake API server and through
//! coplane's writes.

use std::sync::Arc;

use coplane_domain::clock::ManualClock;
use coplane_tests::fake_kube::FakeKube;
use kube::api::{Api, DeleteParams};
use serde_json::json;

use super::{Operator, eventually, tenant_resource};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fake_api_server_applies_by_field_manager_with_conflicts() {
    use kube::api::{Patch, PatchParams};
    let fake = FakeKube::start().await;
    let api: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(fake.client(), "default");
    let cm = |manager_value: &str| json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "c" }, "data": { "a": manager_value } });
    api.patch("c", &PatchParams::apply("alice"), &Patch::Apply(cm("1")))
        .await
        .unwrap();
    let err = api
        .patch("c", &PatchParams::apply("bob"), &Patch::Apply(cm("2")))
        .await
        .unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref e) if e.code == 409),
        "{err}"
    );
    let forced = api
        .patch(
            "c",
            &PatchParams::apply("bob").force(),
            &Patch::Apply(cm("2")),
        )
        .await
        .unwrap();
    assert_eq!(forced.data.unwrap()["a"], "2");
    // Applying the same again changes nothing: same resourceVersion.
    let rv =
        fake.get("ConfigMap", Some("default"), "c").unwrap()["metadata"]["resourceVersion"].clone();
    api.patch(
        "c",
        &PatchParams::apply("bob").force(),
        &Patch::Apply(cm("2")),
    )
    .await
    .unwrap();
    assert_eq!(
        fake.get("ConfigMap", Some("default"), "c").unwrap()["metadata"]["resourceVersion"],
        rv
    );
    // A field its manager stops applying is removed.
    api.patch("c", &PatchParams::apply("carol"), &Patch::Apply(json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "c" }, "data": { "b": "x" } }))).await.unwrap();
    api.patch("c", &PatchParams::apply("carol"), &Patch::Apply(json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "c" }, "data": {} }))).await.unwrap();
    assert_eq!(
        fake.get("ConfigMap", Some("default"), "c").unwrap()["data"],
        json!({ "a": "2" })
    );
    // Deletion waits for finalizers.
    api.patch(
        "c",
        &PatchParams::default(),
        &Patch::Merge(json!({ "metadata": { "finalizers": ["x/y"] } })),
    )
    .await
    .unwrap();
    api.delete("c", &DeleteParams::default()).await.unwrap();
    assert!(
        fake.get("ConfigMap", Some("default"), "c").unwrap()["metadata"]["deletionTimestamp"]
            .is_string()
    );
    api.patch(
        "c",
        &PatchParams::default(),
        &Patch::Merge(json!({ "metadata": { "finalizers": [] } })),
    )
    .await
    .unwrap();
    assert!(fake.get("ConfigMap", Some("default"), "c").is_none());

    // Discovery lists the kinds it serves, as kube-rs reads them.
    let discovery = kube::Discovery::new(fake.client()).run().await.unwrap();
    let coplane = discovery.get("coplane.io").expect("the coplane.io group");
    let mut kinds: Vec<String> = coplane
        .recommended_resources()
        .into_iter()
        .map(|(r, _)| r.kind)
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["AppInstall", "Tenant"]);
    assert!(discovery.get("apps").is_some_and(|g| {
        g.recommended_resources()
            .iter()
            .any(|(r, _)| r.kind == "Deployment")
    }));
    fake.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_coplane_stops_setting_is_removed_from_the_cluster() {
    let fake = FakeKube::start().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let op = Operator::start(&fake, clock, chrono::Duration::days(30));
    let mut resource = tenant_resource("moving", false);
    resource["spec"]["reseller"] = json!("r-1");
    fake.apply_as("coplane", resource);
    eventually("the reseller label is on the quota", || {
        fake.get("ResourceQuota", Some("coplane-moving"), "tenant-quota")
            .is_some_and(|q| q["metadata"]["labels"]["coplane.io/reseller"] == "r-1")
    })
    .await;
    // The tenant leaves its reseller: the label must go, not linger.
    fake.apply_as("coplane", tenant_resource("moving", false));
    eventually("the reseller label is gone", || {
        fake.get("ResourceQuota", Some("coplane-moving"), "tenant-quota")
            .is_some_and(|q| q["metadata"]["labels"].get("coplane.io/reseller").is_none())
    })
    .await;
    op.stop().await;
    fake.stop().await;
}
