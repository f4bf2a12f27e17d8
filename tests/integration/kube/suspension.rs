//! Suspension and resumption of a tenant's workloads.

use std::sync::Arc;

use coplane_domain::clock::ManualClock;
use coplane_tests::fake_kube::FakeKube;
use serde_json::json;

use super::{Operator, converged, eventually, replicas, tenant_resource, workload};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_then_resume_restores_every_replica_count_across_an_operator_restart() {
    let fake = FakeKube::start().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let op = Operator::start(&fake, clock.clone(), chrono::Duration::days(30));
    fake.apply_as("coplane", tenant_resource("shop", false));
    eventually("the tenant converges", || converged(&fake, "shop")).await;
    for (kind, name, n) in [
        ("Deployment", "web", 3),
        ("Deployment", "idle", 0),
        ("Deployment", "api", 2),
        ("StatefulSet", "db", 1),
        ("CronJob", "backup", 0),
    ] {
        fake.apply_as("tenant-admin", workload(kind, name, n));
    }

    fake.apply_as("coplane", tenant_resource("shop", true));
    eventually("every workload is at zero", || {
        ["web", "api"]
            .iter()
            .all(|n| replicas(&fake, "Deployment", n) == 0)
            && replicas(&fake, "StatefulSet", "db") == 0
            && fake.get("CronJob", Some("coplane-shop"), "backup").unwrap()["spec"]["suspend"]
                == true
            && fake.get("Tenant", None, "shop").unwrap()["status"]["suspended"] == true
    })
    .await;
    assert_eq!(
        fake.get("ResourceQuota", Some("coplane-shop"), "tenant-quota")
            .unwrap()["spec"]["hard"]["pods"],
        "0"
    );
    assert_eq!(
        fake.get("Tenant", None, "shop").unwrap()["status"]["suspendedReplicas"],
        json!({ "Deployment/api": 2, "Deployment/idle": 0, "Deployment/web": 3, "StatefulSet/db": 1 })
    );
    assert_eq!(
        fake.get("Deployment", Some("coplane-shop"), "web").unwrap()["metadata"]["annotations"]["coplane.io/suspended-replicas"],
        "3"
    );

    // The operator restarts between suspension and resumption.
    op.stop().await;
    let op = Operator::start(&fake, clock, chrono::Duration::days(30));
    // Suspending again changes nothing.
    fake.clear_requests();
    eventually("a reconcile after the restart", || op.reconciles() >= 2).await;
    assert!(
        fake.writes()
            .iter()
            .all(|w| !w.path.contains("deployments") && !w.path.contains("statefulsets")),
        "{:?}",
        fake.writes()
    );

    fake.apply_as("coplane", tenant_resource("shop", false));
    eventually("every replica count is back", || {
        replicas(&fake, "Deployment", "web") == 3
            && replicas(&fake, "Deployment", "idle") == 0
            && replicas(&fake, "Deployment", "api") == 2
            && replicas(&fake, "StatefulSet", "db") == 1
            && fake.get("CronJob", Some("coplane-shop"), "backup").unwrap()["spec"]["suspend"]
                == false
            && fake
                .get("ResourceQuota", Some("coplane-shop"), "tenant-quota")
                .unwrap()["spec"]["hard"]["pods"]
                == "20"
    })
    .await;
    for name in ["web", "idle", "api"] {
        let d = fake.get("Deployment", Some("coplane-shop"), name).unwrap();
        assert!(
            d["metadata"]["annotations"]
                .get("coplane.io/suspended-replicas")
                .is_none(),
            "{d}"
        );
    }
    op.stop().await;
    fake.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumption_falls_back_to_the_status_record_when_an_annotation_is_lost() {
    let fake = FakeKube::start().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let op = Operator::start(&fake, clock, chrono::Duration::days(30));
    fake.apply_as("coplane", tenant_resource("shop", false));
    eventually("the tenant converges", || converged(&fake, "shop")).await;
    fake.apply_as("tenant-admin", workload("Deployment", "web", 4));
    fake.apply_as("coplane", tenant_resource("shop", true));
    eventually("suspended and recorded", || {
        fake.get("Tenant", None, "shop")
            .is_some_and(|t| t["status"]["suspendedReplicas"]["Deployment/web"] == 4)
    })
    .await;
    // Someone strips the annotation, or writes nonsense into it.
    fake.merge_patch(
        "Deployment",
        Some("coplane-shop"),
        "web",
        json!({ "metadata": { "annotations": { "coplane.io/suspended-replicas": "-7" } } }),
    );
    fake.apply_as("coplane", tenant_resource("shop", false));
    eventually("the recorded count is back", || {
        replicas(&fake, "Deployment", "web") == 4
    })
    .await;
    op.stop().await;
    fake.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workload_scaled_up_while_suspended_goes_back_to_zero_keeping_its_record() {
    let fake = FakeKube::start().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let op = Operator::start(&fake, clock, chrono::Duration::days(30));
    fake.apply_as("coplane", tenant_resource("shop", false));
    eventually("the tenant converges", || converged(&fake, "shop")).await;
    fake.apply_as("tenant-admin", workload("Deployment", "web", 3));
    fake.apply_as("coplane", tenant_resource("shop", true));
    eventually("suspended", || replicas(&fake, "Deployment", "web") == 0).await;

    // Someone scales it up again while the tenant is suspended.
    fake.merge_patch(
        "Deployment",
        Some("coplane-shop"),
        "web",
        json!({ "spec": { "replicas": 5 } }),
    );
    eventually("back at zero", || replicas(&fake, "Deployment", "web") == 0).await;
    let web = fake.get("Deployment", Some("coplane-shop"), "web").unwrap();
    assert_eq!(
        web["metadata"]["annotations"]["coplane.io/suspended-replicas"], "3",
        "the count from before the suspension is kept: {web}"
    );

    fake.apply_as("coplane", tenant_resource("shop", false));
    eventually("resumed at the recorded count", || {
        replicas(&fake, "Deployment", "web") == 3
    })
    .await;
    op.stop().await;
    fake.stop().await;
}
