//! What a `Tenant` becomes: its namespace and the objects that fence it.
//! Pure: the same tenant always renders the same objects, in the same order.

use serde_json::{Value, json};

use super::crd::Tenant;

/// Annotation on a workload holding its replica count from before suspension.
pub const SUSPENDED_REPLICAS: &str = "coplane.io/suspended-replicas";
/// Annotation on a CronJob holding its `suspend` from before suspension.
pub const SUSPENDED_CRONJOB: &str = "coplane.io/suspended-cronjob";
/// Label naming the tenant (its slug) on every object of a tenant.
pub const TENANT_LABEL: &str = "coplane.io/tenant";
/// Finalizer that keeps a deleted tenant until its namespace has gone.
pub const FINALIZER: &str = "coplane.io/namespace-retention";

/// The namespace of a tenant slug.
pub fn namespace(slug: &str) -> String {
    format!("{}-{slug}", coplane_domain::tenancy::NAMESPACE_PREFIX)
}

/// Labels every object of a tenant carries.
pub fn labels(t: &Tenant) -> Value {
    let mut labels = json!({
        "app.kubernetes.io/managed-by": "coplane",
        "coplane.io/tenant": t.spec.slug,
        "coplane.io/customer": t.spec.customer,
    });
    if let Some(r) = &t.spec.reseller {
        labels["coplane.io/reseller"] = json!(r);
    }
    if let Some(p) = &t.spec.plan {
        labels["coplane.io/plan"] = json!(p);
    }
    labels
}

fn metadata(t: &Tenant, name: &str, namespace: Option<&str>) -> Value {
    let mut m = json!({ "name": name, "labels": labels(t) });
    if let Some(ns) = namespace {
        m["namespace"] = json!(ns);
    }
    // Owned by the Tenant, where it exists in a cluster (it has a uid there).
    if let (Some(uid), Some(tname)) = (&t.metadata.uid, &t.metadata.name) {
        m["ownerReferences"] = json!([{
            "apiVersion": "coplane.io/v1alpha1",
            "kind": "Tenant",
            "name": tname,
            "uid": uid,
            "controller": true,
            "blockOwnerDeletion": true,
        }]);
    }
    m
}

/// The Namespace, ResourceQuota, LimitRange, NetworkPolicy, Role and
/// RoleBinding of a tenant, namespace first.
pub fn tenant_children(t: &Tenant) -> Vec<Value> {
    let ns = namespace(&t.spec.slug);
    let q = &t.spec.quota;
    let pods = if t.spec.suspended { 0 } else { q.pods };
    // Container defaults so pods without resources still fit the quota.
    let default_cpu = format!("{}m", q.cpu_millis.clamp(0, 500));
    let default_request_cpu = format!("{}m", q.cpu_millis.clamp(0, 100));
    let default_memory = q.memory_bytes.clamp(0, 512 * 1024 * 1024).to_string();
    let default_request_memory = q.memory_bytes.clamp(0, 128 * 1024 * 1024).to_string();
    let mut subjects: Vec<Value> = t
        .spec
        .admins
        .iter()
        .map(|s| {
            let mut v = json!({ "kind": s.kind, "name": s.name });
            if s.kind == "ServiceAccount" {
                v["namespace"] = json!(s.namespace.clone().unwrap_or_else(|| ns.clone()));
            } else {
                v["apiGroup"] = json!("rbac.authorization.k8s.io");
            }
            v
        })
        .collect();
    subjects.sort_by_key(|v| v.to_string());
    let ingress_from: Vec<Value> = t
        .spec
        .network
        .ingress_namespaces
        .iter()
        .map(|n| json!({ "namespaceSelector": { "matchLabels": { "kubernetes.io/metadata.name": n } } }))
        .collect();
    // An empty `from` would admit every source: leave the rule out instead.
    let mut ingress_rules = vec![json!({ "from": [{ "podSelector": {} }] })];
    if !ingress_from.is_empty() {
        ingress_rules.push(json!({ "from": ingress_from }));
    }
    // The Namespace carries no owner reference: the garbage collector would
    // delete it with the Tenant, skipping the retention. The operator finds
    // it by its label.
    let mut namespace_meta = metadata(t, &ns, None);
    if let Some(m) = namespace_meta.as_object_mut() {
        m.remove("ownerReferences");
    }
    vec![
        json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": namespace_meta }),
        json!({
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": metadata(t, "tenant-quota", Some(&ns)),
            "spec": { "hard": {
                "requests.cpu": format!("{}m", q.cpu_millis),
                "limits.cpu": format!("{}m", q.cpu_millis),
                "requests.memory": q.memory_bytes.to_string(),
                "limits.memory": q.memory_bytes.to_string(),
                "requests.storage": q.storage_bytes.to_string(),
                "pods": pods.to_string(),
            } },
        }),
        json!({
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": metadata(t, "tenant-limits", Some(&ns)),
            "spec": { "limits": [{
                "type": "Container",
                "default": { "cpu": default_cpu, "memory": default_memory },
                "defaultRequest": { "cpu": default_request_cpu, "memory": default_request_memory },
            }] },
        }),
        json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": metadata(t, "tenant-isolation", Some(&ns)),
            "spec": {
                "podSelector": {},
                "policyTypes": ["Ingress"],
                // Only the namespace itself and the ingress controller's:
                // every other tenant is denied.
                "ingress": ingress_rules,
            },
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": metadata(t, "tenant-admin", Some(&ns)),
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["pods", "pods/log", "pods/exec", "services", "configmaps", "secrets", "persistentvolumeclaims"],
                    "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
                },
                {
                    "apiGroups": ["apps", "batch", "networking.k8s.io"],
                    "resources": ["deployments", "statefulsets", "replicasets", "jobs", "cronjobs", "ingresses"],
                    "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
                },
                { "apiGroups": [""], "resources": ["events", "resourcequotas", "limitranges"], "verbs": ["get", "list", "watch"] },
            ],
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": metadata(t, "tenant-admin", Some(&ns)),
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "tenant-admin" },
            "subjects": subjects,
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::crd::{AdminSubject, QuotaSpec, TenantSpec};

    fn tenant(suspended: bool) -> Tenant {
        let mut t = Tenant::new(
            "acme",
            TenantSpec {
                slug: "acme".into(),
                customer: "c1".into(),
                reseller: Some("r1".into()),
                plan: None,
                quota: QuotaSpec {
                    cpu_millis: 2000,
                    memory_bytes: 4 << 30,
                    storage_bytes: 10 << 30,
                    pods: 20,
                    app_installs: 3,
                },
                suspended,
                network: Default::default(),
                admins: vec![AdminSubject {
                    kind: "User".into(),
                    name: "ada@example.org".into(),
                    namespace: None,
                }],
            },
        );
        t.metadata.uid = Some("uid-1".into());
        t
    }

    #[test]
    fn renders_the_fence_around_a_namespace() {
        let objects = tenant(false).clone();
        let objects = tenant_children(&objects);
        let kinds: Vec<&str> = objects
            .iter()
            .map(|o| o["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                "Namespace",
                "ResourceQuota",
                "LimitRange",
                "NetworkPolicy",
                "Role",
                "RoleBinding"
            ]
        );
        assert_eq!(objects[0]["metadata"]["name"], "coplane-acme");
        assert_eq!(objects[1]["spec"]["hard"]["pods"], "20");
        assert_eq!(objects[1]["metadata"]["ownerReferences"][0]["uid"], "uid-1");
        assert!(
            objects[0]["metadata"].get("ownerReferences").is_none(),
            "the namespace outlives its Tenant's deletion"
        );
        assert_eq!(objects[5]["subjects"][0]["name"], "ada@example.org");
        assert_eq!(
            objects[0]["metadata"]["labels"]["coplane.io/reseller"],
            "r1"
        );
    }

    #[test]
    fn a_suspended_tenant_admits_no_pod() {
        assert_eq!(
            tenant_children(&tenant(true))[1]["spec"]["hard"]["pods"],
            "0"
        );
    }

    #[test]
    fn no_ingress_namespaces_admits_only_the_namespace_itself() {
        let mut t = tenant(false);
        t.spec.network.ingress_namespaces.clear();
        let policy = &tenant_children(&t)[3];
        assert_eq!(
            policy["spec"]["ingress"],
            json!([{ "from": [{ "podSelector": {} }] }])
        );
    }

    #[test]
    fn rendering_is_deterministic() {
        assert_eq!(
            tenant_children(&tenant(false)),
            tenant_children(&tenant(false))
        );
    }
}
