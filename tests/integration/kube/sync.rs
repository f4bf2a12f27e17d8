//! Tenants converging on the cluster: the sync, drift put back, retention,
//! injected faults, and a real cluster when one is configured.

use std::sync::Arc;
use std::time::Duration;

use coplane_domain::clock::ManualClock;
use coplane_domain::jobs;
use coplane_domain::tenancy::jobs::SyncTenant;
use coplane_tests::fake_kube::{FakeKube, Fault, FaultKind};
use coplane_worker::kube::crd::Tenant;
use coplane_worker::kube::operator::{self, OperatorConfig};
use kube::api::{Api, DeleteParams};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::{Operator, converged, eventually, reseller_tenant, tenant_resource};
use crate::tenancy::fixture::{quota, uuid_of};
use crate::test_both_dbs;

test_both_dbs!(
    a_new_tenant_converges_and_a_converged_one_costs_no_writes,
    |app| {
        let fake = FakeKube::start().await;
        app.use_cluster(fake.client());
        let op = Operator::start(&fake, app.clock.clone(), chrono::Duration::days(30));

        let tenant_id = reseller_tenant(&app, "acme").await;
        app.run_pending_jobs().await;
        eventually("the tenant converges", || converged(&fake, "acme")).await;

        let ns = "coplane-acme";
        let rq = fake.get("ResourceQuota", Some(ns), "tenant-quota").unwrap();
        assert_eq!(rq["spec"]["hard"]["pods"], "20");
        assert_eq!(rq["spec"]["hard"]["requests.cpu"], "2000m");
        assert_eq!(
            fake.get("Namespace", None, ns).unwrap()["metadata"]["labels"]["coplane.io/tenant"],
            "acme"
        );
        let policy = fake
            .get("NetworkPolicy", Some(ns), "tenant-isolation")
            .unwrap();
        assert_eq!(
            policy["spec"]["ingress"][1]["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
            "ingress-nginx"
        );
        assert_eq!(
            fake.get("Tenant", None, "acme").unwrap()["metadata"]["finalizers"],
            json!(["coplane.io/namespace-retention"])
        );

        // The next sync copies readiness back.
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
        let body = app
            .graphql_vars(
                "query($id: ID!) { tenant(id: $id) { state } }",
                json!({ "id": tenant_id }),
                Some(&app.token(&["steward"], "s")),
            )
            .await;
        assert_eq!(body["data"]["tenant"]["state"], "active");

        // Converged: further reconciles and syncs write nothing.
        fake.clear_requests();
        let before = op.reconciles();
        eventually("two more reconciles", || op.reconciles() >= before + 2).await;
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
        assert_eq!(
            fake.writes().len(),
            0,
            "writes after convergence: {:?}",
            fake.writes()
        );

        // A quota change through the API reaches the cluster.
        let m = "mutation($input: UpdateTenantQuotaInput!) { updateTenantQuota(input: $input) { userErrors { code } } }";
        let reseller_token = app.token(&["steward"], "steward");
        app.graphql_vars(m, json!({ "input": { "tenantId": tenant_id, "quota": quota(3000, 4 << 30, 10 << 30, 30, 3) } }), Some(&reseller_token)).await;
        app.run_pending_jobs().await;
        eventually("the new quota is applied", || {
            fake.get("ResourceQuota", Some(ns), "tenant-quota")
                .is_some_and(|q| q["spec"]["hard"]["pods"] == "30")
        })
        .await;
        op.stop().await;
        fake.stop().await;
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_resource_quota_is_put_back() {
    let fake = FakeKube::start().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let op = Operator::start(&fake, clock, chrono::Duration::days(30));
    fake.apply_as("coplane", tenant_resource("edited", false));
    eventually("the tenant converges", || converged(&fake, "edited")).await;

    fake.apply_as(
        "kubectl",
        json!({
            "apiVersion": "v1", "kind": "ResourceQuota",
            "metadata": { "name": "tenant-quota", "namespace": "coplane-edited" },
            "spec": { "hard": { "pods": "999" } },
        }),
    );
    assert_eq!(
        fake.get("ResourceQuota", Some("coplane-edited"), "tenant-quota")
            .unwrap()["spec"]["hard"]["pods"],
        "999"
    );
    eventually("the quota is put back", || {
        fake.get("ResourceQuota", Some("coplane-edited"), "tenant-quota")
            .is_some_and(|q| q["spec"]["hard"]["pods"] == "20")
    })
    .await;
    op.stop().await;
    fake.stop().await;
}

test_both_dbs!(
    a_terminated_tenant_keeps_its_namespace_until_the_retention_ends,
    |app| {
        let fake = FakeKube::start().await;
        app.use_cluster(fake.client());
        let op = Operator::start(&fake, app.clock.clone(), chrono::Duration::hours(24));
        let tenant_id = reseller_tenant(&app, "leaving").await;
        app.run_pending_jobs().await;
        eventually("the tenant converges", || converged(&fake, "leaving")).await;

        coplane_domain::tenancy::tenants::terminate(&app.db, uuid_of(&tenant_id).into(), app.now())
            .await
            .unwrap();
        app.run_pending_jobs().await;
        eventually("the tenant is being deleted", || {
            fake.get("Tenant", None, "leaving")
                .is_some_and(|t| t["metadata"]["deletionTimestamp"].is_string())
        })
        .await;
        eventually("the operator reports the retention", || {
            fake.get("Tenant", None, "leaving").is_some_and(|t| {
                t["status"]["conditions"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["type"] == "Deleting"))
            })
        })
        .await;
        assert!(
            fake.get("Namespace", None, "coplane-leaving").is_some(),
            "kept during the retention"
        );

        app.clock.advance(chrono::Duration::hours(25));
        eventually("the namespace and the tenant are gone", || {
            fake.get("Namespace", None, "coplane-leaving").is_none()
                && fake.get("Tenant", None, "leaving").is_none()
        })
        .await;
        assert!(
            fake.list("ResourceQuota", Some("coplane-leaving"))
                .is_empty()
        );
        op.stop().await;
        fake.stop().await;
    }
);

test_both_dbs!(
    injected_conflicts_errors_and_dropped_watches_delay_but_lose_nothing,
    |app| {
        let fake = FakeKube::start().await;
        app.use_cluster(fake.client());
        let op = Operator::start(&fake, app.clock.clone(), chrono::Duration::days(30));
        let fault = |method, path: &str, kind, times| Fault {
            method,
            path_contains: path.into(),
            kind,
            times,
        };
        fake.inject(fault(
            Some("PATCH"),
            "/tenants/faulty",
            FaultKind::Status(500),
            1,
        ));
        fake.inject(fault(
            Some("PATCH"),
            "/resourcequotas/",
            FaultKind::Status(409),
            3,
        ));
        fake.inject(fault(
            Some("PATCH"),
            "/namespaces/coplane-faulty",
            FaultKind::Status(500),
            2,
        ));
        // The operator reads from its watches, not object by object: a slow
        // answer is a slow write.
        fake.inject(fault(
            Some("PATCH"),
            "/limitranges/",
            FaultKind::Delay(Duration::from_millis(300)),
            2,
        ));

        let tenant_id = reseller_tenant(&app, "faulty").await;
        // The first sync meets the injected 500 and is retried after its backoff.
        app.run_pending_jobs().await;
        assert!(fake.get("Tenant", None, "faulty").is_none());
        app.clock.advance(chrono::Duration::seconds(11));
        app.run_pending_jobs().await;
        assert!(fake.get("Tenant", None, "faulty").is_some());
        fake.drop_watches();
        eventually("the tenant converges despite the faults", || {
            converged(&fake, "faulty")
        })
        .await;
        fake.drop_watches();
        let _ = tenant_id;
        op.stop().await;
        fake.stop().await;
    }
);

/// Against a real cluster, when `COPLANE_E2E_KUBECONFIG` names its kubeconfig.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_a_tenant_converges_on_a_real_cluster() {
    let Ok(path) = std::env::var("COPLANE_E2E_KUBECONFIG") else {
        eprintln!(
            "e2e_a_tenant_converges_on_a_real_cluster: not run; set COPLANE_E2E_KUBECONFIG to a kubeconfig (the coplane CRDs must be installed)"
        );
        return;
    };
    let kubeconfig = kube::config::Kubeconfig::read_from(&path).expect("a kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .expect("a config");
    let client = kube::Client::try_from(config).expect("a client");
    let ctx = operator::Context {
        client: client.clone(),
        config: OperatorConfig {
            retention: chrono::Duration::zero(),
            requeue: Duration::from_secs(2),
            error_backoff: Duration::from_secs(1),
            ..OperatorConfig::default()
        },
        clock: Arc::new(coplane_domain::SystemClock),
        metrics: None,
    };
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(operator::run(Arc::new(ctx), shutdown.clone()));
    let slug = format!("e2e-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let tenants = Api::<Tenant>::all(client.clone());
    let resource: Tenant = serde_json::from_value(tenant_resource(&slug, false)).unwrap();
    tenants
        .patch(
            &slug,
            &kube::api::PatchParams::apply("coplane").force(),
            &kube::api::Patch::Apply(&resource),
        )
        .await
        .expect("apply the Tenant");
    let namespaces = Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone());
    let ns = format!("coplane-{slug}");
    let start = tokio::time::Instant::now();
    while namespaces.get_opt(&ns).await.unwrap().is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "namespace {ns} did not appear"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    tenants
        .delete(&slug, &DeleteParams::default())
        .await
        .expect("delete the Tenant");
    while tenants.get_opt(&slug).await.unwrap().is_some() {
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "the Tenant was not released"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    shutdown.cancel();
    task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_tenant_costs_one_write_per_object_and_no_reads() {
    let fake = FakeKube::start().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let op = Operator::start(&fake, clock, chrono::Duration::days(30));
    // The tenant operator's watches (the Tenants, six kinds it writes and
    // three it suspends) and the app operator's two.
    eventually("every watch is open", || {
        fake.requests()
            .iter()
            .filter(|r| r.query.contains("watch=true"))
            .count()
            >= 12
    })
    .await;
    fake.clear_requests();

    fake.apply_as("coplane", tenant_resource("thrifty", false));
    eventually("the tenant converges", || converged(&fake, "thrifty")).await;
    // Reconciles go on (every 300 ms here, and on each event): from the
    // watches' copies, with no request.
    let reconciles = op.reconciles();
    eventually("three more reconciles", || {
        op.reconciles() >= reconciles + 3
    })
    .await;
    let requests: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        requests.len(),
        8,
        "the finalizer, six objects and the status: {requests:#?}"
    );
    assert!(
        fake.requests().iter().all(|r| r.method == "PATCH"),
        "{requests:#?}"
    );
    op.stop().await;
    fake.stop().await;
}
