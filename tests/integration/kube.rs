//! The Kubernetes side against the fake API server: the sync, the
//! operator, suspension, retention, faults, and the manifests target.

use std::sync::Arc;
use std::time::Duration;

use coplane_domain::clock::ManualClock;
use coplane_domain::jobs;
use coplane_domain::tenancy::jobs::SyncTenant;
use coplane_tests::fake_kube::{FakeKube, Fault, FaultKind};
use coplane_worker::kube::crd::Tenant;
use coplane_worker::kube::operator::{self, OperatorConfig};
use kube::api::{Api, DeleteParams};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::tenancy::fixture::{allotment, customer, jwt, quota, reseller, tenant, uuid_of};
use crate::{TestApp, test_both_dbs};

/// A running operator against the fake API server.
pub(crate) struct Operator {
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

impl Operator {
    pub(crate) fn start(
        fake: &FakeKube,
        clock: Arc<ManualClock>,
        retention: chrono::Duration,
    ) -> Self {
        let ctx = operator::Context {
            client: fake.client(),
            config: OperatorConfig {
                retention,
                requeue: Duration::from_millis(300),
                error_backoff: Duration::from_millis(100),
                app_domain: "apps.example.coop".into(),
            },
            clock,
            metrics: None,
        };
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(operator::run(Arc::new(ctx), shutdown.clone()));
        Self { shutdown, task }
    }

    pub(crate) async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the operator stops")
            .unwrap();
    }
}

/// Waits (polling, at most 20 s) until `check` holds.
pub(crate) async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let start = tokio::time::Instant::now();
    while !check() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn converged(fake: &FakeKube, slug: &str) -> bool {
    let ns = format!("coplane-{slug}");
    fake.get("Tenant", None, slug)
        .is_some_and(|t| t["status"]["ready"] == true)
        && [
            "ResourceQuota",
            "LimitRange",
            "NetworkPolicy",
            "Role",
            "RoleBinding",
        ]
        .iter()
        .all(|k| !fake.list(k, Some(&ns)).is_empty())
}

fn tenant_resource(slug: &str, suspended: bool) -> Value {
    json!({
        "apiVersion": "coplane.io/v1alpha1",
        "kind": "Tenant",
        "metadata": { "name": slug },
        "spec": {
            "slug": slug,
            "customer": "c-1",
            "quota": { "cpuMillis": 2000, "memoryBytes": 4294967296i64, "storageBytes": 10737418240i64, "pods": 20, "appInstalls": 3 },
            "suspended": suspended,
            "admins": [{ "kind": "User", "name": "ada@example.org" }],
        },
    })
}

/// How many reconciles of `slug` the operator has made since the log was cleared
/// (each reads the tenant's RoleBinding once).
fn reconciles(fake: &FakeKube, slug: &str) -> usize {
    let path = format!("/namespaces/coplane-{slug}/rolebindings/tenant-admin");
    fake.requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with(&path))
        .count()
}

async fn reseller_tenant(app: &TestApp, slug: &str) -> String {
    let steward = app.token(&["steward"], "steward");
    let (_, reseller_id) = reseller(app, &steward, "Kube", allotment()).await;
    let token = jwt(app, &["reseller"], "kube", Some(&reseller_id), None, &[]);
    let customer_id = customer(app, &token, None, "K").await;
    tenant(
        app,
        &token,
        &customer_id,
        slug,
        quota(2000, 4 << 30, 10 << 30, 20, 3),
    )
    .await
}

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
                tenant_id: uuid_of(&tenant_id),
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
        eventually("two more reconciles", || reconciles(&fake, "acme") >= 2).await;
        jobs::enqueue(
            &app.db,
            &SyncTenant {
                tenant_id: uuid_of(&tenant_id),
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

fn workload(kind: &str, name: &str, replicas: i64) -> Value {
    let api_version = if kind == "CronJob" {
        "batch/v1"
    } else {
        "apps/v1"
    };
    let spec = if kind == "CronJob" {
        json!({ "schedule": "0 3 * * *", "suspend": false })
    } else {
        json!({ "replicas": replicas })
    };
    json!({ "apiVersion": api_version, "kind": kind, "metadata": { "name": name, "namespace": "coplane-shop" }, "spec": spec })
}

fn replicas(fake: &FakeKube, kind: &str, name: &str) -> Value {
    fake.get(kind, Some("coplane-shop"), name).unwrap()["spec"]["replicas"].clone()
}

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
    eventually("a reconcile after the restart", || {
        reconciles(&fake, "shop") >= 2
    })
    .await;
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

test_both_dbs!(
    a_terminated_tenant_keeps_its_namespace_until_the_retention_ends,
    |app| {
        let fake = FakeKube::start().await;
        app.use_cluster(fake.client());
        let op = Operator::start(&fake, app.clock.clone(), chrono::Duration::hours(24));
        let tenant_id = reseller_tenant(&app, "leaving").await;
        app.run_pending_jobs().await;
        eventually("the tenant converges", || converged(&fake, "leaving")).await;

        coplane_domain::tenancy::tenants::terminate(&app.db, uuid_of(&tenant_id), app.now())
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
        fake.inject(fault(
            Some("GET"),
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

        coplane_domain::tenancy::tenants::terminate(&app.db, uuid_of(&tenant_id), app.now())
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
                tenant_id: uuid_of(&tenant_id),
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
    let committed = include_str!("../../deploy/crds/coplane.io.yaml");
    let generated = coplane_worker::kube::crd::crds_yaml().unwrap();
    assert!(
        committed == generated,
        "deploy/crds/coplane.io.yaml is stale: run `coplane crdgen > deploy/crds/coplane.io.yaml`"
    );
}

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

test_both_dbs!(
    an_install_becomes_an_app_install_and_its_readiness_flows_back,
    |app| {
        let fake = FakeKube::start().await;
        app.use_cluster(fake.client());
        let tenant_id = uuid_of(&reseller_tenant(&app, "apps").await);
        app.run_pending_jobs().await;
        // The storefront's order creates these rows (see the catalog); written directly here.
        let (app_id, version_id, install_id) = (
            uuid::Uuid::now_v7(),
            uuid::Uuid::now_v7(),
            uuid::Uuid::now_v7(),
        );
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
