//! The manifests target and the committed CRDs.

use coplane_domain::jobs;
use coplane_domain::tenancy::jobs::SyncTenant;
use serde_json::json;

use super::reseller_tenant;
use crate::tenancy::fixture::uuid_of;
use crate::test_both_dbs;

test_both_dbs!(
    the_manifests_target_writes_each_tenant_and_removes_it_when_terminated,
    |app| {
        let tenant_id = reseller_tenant(&app, "on-disk").await;
        app.run_pending_jobs().await;
        let dir = app.manifests_dir().join("on-disk");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        files.sort();
        assert_eq!(
            files,
            [
                "limitrange-tenant-limits.yaml",
                "namespace-coplane-on-disk.yaml",
                "networkpolicy-tenant-isolation.yaml",
                "resourcequota-tenant-quota.yaml",
                "role-tenant-admin.yaml",
                "rolebinding-tenant-admin.yaml",
                "tenant-on-disk.yaml",
            ]
        );
        let tenant_yaml = std::fs::read_to_string(dir.join("tenant-on-disk.yaml")).unwrap();
        assert!(
            tenant_yaml.contains("kind: Tenant") && tenant_yaml.contains("cpuMillis: 2000"),
            "{tenant_yaml}"
        );
        let body = app
            .graphql_vars(
                "query($id: ID!) { tenant(id: $id) { state } }",
                json!({ "id": tenant_id }),
                Some(&app.token(&["steward"], "s")),
            )
            .await;
        assert_eq!(body["data"]["tenant"]["state"], "active");

        coplane_domain::tenancy::tenants::terminate(&app.db, uuid_of(&tenant_id).into(), app.now())
            .await
            .unwrap();
        app.run_pending_jobs().await;
        let left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(
            left,
            ["namespace-coplane-on-disk.yaml"],
            "only the namespace stays, for the retention"
        );
        app.clock.advance(chrono::Duration::days(31));
        jobs::enqueue(
            &app.db,
            &SyncTenant {
                tenant_id: uuid_of(&tenant_id).into(),
            },
            app.now(),
        )
        .await
        .unwrap();
        app.run_pending_jobs().await;
        assert!(!dir.exists(), "removed once the retention has passed");
    }
);

#[test]
fn the_committed_crds_are_what_the_code_generates() {
    let committed = include_str!("../../../deploy/crds/coplane.io.yaml");
    let generated = coplane_worker::kube::crd::crds_yaml().unwrap();
    assert!(
        committed == generated,
        "deploy/crds/coplane.io.yaml is stale: run `coplane crdgen > deploy/crds/coplane.io.yaml`"
    );
}
