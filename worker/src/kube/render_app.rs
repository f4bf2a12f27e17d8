//! What an `AppInstall` becomes: a Deployment, a Service, an Ingress, a
//! PersistentVolumeClaim per volume and the Secret of its generated values.
//! Pure: the same install, domain and secrets always render the same
//! objects. Generated secrets are made once, by whoever calls this, and
//! passed in, so they are stable across reconciles.
//!
//! The Deployment does not set `replicas`: the tenant's suspension scales it,
//! and an apply here must not take that field back.

use std::collections::BTreeMap;

use base64::Engine;
use coplane_domain::catalog::{InstallValues, Recipe};
use serde_json::{Value, json};

use super::crd::AppInstall;

/// Where an install's objects live and how they are reached.
#[derive(Clone, Debug)]
pub struct AppContext<'a> {
    /// The tenant's slug.
    pub tenant: &'a str,
    /// The tenant's namespace.
    pub namespace: &'a str,
    /// The co-op's base domain for ingress hosts.
    pub domain: &'a str,
}

/// A version as a label value: `+` is not allowed there, so it becomes `_`
/// (`1.0.0+2.3.4` → `1.0.0_2.3.4`), cut to 63 characters.
pub fn label_value(version: &str) -> String {
    let v: String = version
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(63)
        .collect();
    v.trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned()
}

/// The names of the generated values an install needs, with their lengths.
pub fn generated_secrets(recipe: &Recipe) -> BTreeMap<String, u32> {
    recipe
        .env
        .iter()
        .filter_map(|e| {
            e.generated_secret
                .as_ref()
                .map(|g| (e.name.clone(), g.length))
        })
        .collect()
}

/// The objects of an install, in a stable order. `secrets` holds the
/// generated values by variable name.
pub fn app_install_children(
    install: &AppInstall,
    recipe: &Recipe,
    ctx: &AppContext<'_>,
    secrets: &BTreeMap<String, String>,
) -> Vec<Value> {
    let name = install.metadata.name.clone().unwrap_or_default();
    let labels = json!({
        "app.kubernetes.io/managed-by": "coplane",
        "app.kubernetes.io/name": install.spec.app,
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/version": label_value(&install.spec.version),
        "coplane.io/tenant": ctx.tenant,
    });
    let selector = json!({ "app.kubernetes.io/instance": name });
    // The workload is owned by the AppInstall and goes with it; the data
    // (volumes, generated secrets) is not, and outlives an uninstall that
    // keeps it.
    let meta = |object_name: &str, owned: bool| {
        let mut m = json!({ "name": object_name, "namespace": ctx.namespace, "labels": labels });
        if owned && let (Some(uid), Some(owner)) = (&install.metadata.uid, &install.metadata.name) {
            m["ownerReferences"] = json!([{ "apiVersion": "coplane.io/v1alpha1", "kind": "AppInstall", "name": owner, "uid": uid, "controller": true, "blockOwnerDeletion": true }]);
        }
        m
    };
    let values = InstallValues::parse(&install.spec.values).unwrap_or_default();
    let secret_name = format!("{name}-generated");
    let env: Vec<Value> = recipe
        .env
        .iter()
        .map(|e| {
            if let Some(v) = &e.value {
                let v = values.env.get(&e.name).unwrap_or(v);
                json!({ "name": e.name, "value": v })
            } else if e.generated_secret.is_some() {
                json!({ "name": e.name, "valueFrom": { "secretKeyRef": { "name": secret_name, "key": e.name } } })
            } else {
                let from = e.from_service.as_ref().map(|f| (f.service.as_str(), f.key.as_str())).unwrap_or_default();
                json!({ "name": e.name, "valueFrom": { "secretKeyRef": { "name": format!("{name}-{}", from.0), "key": from.1 } } })
            }
        })
        .collect();
    let ports: Vec<Value> = recipe
        .ports
        .iter()
        .map(|p| json!({ "name": p.name, "containerPort": p.port }))
        .collect();
    let mounts: Vec<Value> = recipe
        .volumes
        .iter()
        .map(|v| json!({ "name": v.name, "mountPath": v.mount_path }))
        .collect();
    let volumes: Vec<Value> = recipe
        .volumes
        .iter()
        .map(|v| json!({ "name": v.name, "persistentVolumeClaim": { "claimName": format!("{name}-{}", v.name) } }))
        .collect();
    let r = &recipe.resources;
    let mut container = json!({
        "name": install.spec.app,
        "image": format!("{}:{}", recipe.image, recipe.tag),
        "ports": ports,
        "env": env,
        "volumeMounts": mounts,
        "resources": {
            "requests": { "cpu": format!("{}m", r.requests.cpu_millis), "memory": r.requests.memory_bytes.to_string() },
            "limits": { "cpu": format!("{}m", r.limits.cpu_millis), "memory": r.limits.memory_bytes.to_string() },
        },
    });
    if let Some(h) = &recipe.health {
        container["readinessProbe"] = json!({ "httpGet": { "path": h.http_path, "port": h.port } });
        container["livenessProbe"] = json!({ "httpGet": { "path": h.http_path, "port": h.port }, "initialDelaySeconds": 30 });
    }
    let mut objects = Vec::new();
    if !secrets.is_empty() {
        let data: BTreeMap<&String, String> = secrets
            .iter()
            .map(|(k, v)| (k, base64::engine::general_purpose::STANDARD.encode(v)))
            .collect();
        objects.push(json!({ "apiVersion": "v1", "kind": "Secret", "metadata": meta(&secret_name, false), "type": "Opaque", "data": data }));
    }
    for v in &recipe.volumes {
        objects.push(json!({
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": meta(&format!("{name}-{}", v.name), false),
            "spec": { "accessModes": ["ReadWriteOnce"], "resources": { "requests": { "storage": v.size_bytes.to_string() } } },
        }));
    }
    objects.push(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(&name, true),
        "spec": {
            "selector": { "matchLabels": selector },
            // Volumes are ReadWriteOnce: replace, do not run two pods at once.
            "strategy": { "type": if recipe.volumes.is_empty() { "RollingUpdate" } else { "Recreate" } },
            "template": { "metadata": { "labels": labels }, "spec": { "containers": [container], "volumes": volumes } },
        },
    }));
    if !recipe.ports.is_empty() {
        let service_ports: Vec<Value> = recipe
            .ports
            .iter()
            .map(|p| json!({ "name": p.name, "port": p.port, "targetPort": p.name }))
            .collect();
        objects.push(json!({ "apiVersion": "v1", "kind": "Service", "metadata": meta(&name, true), "spec": { "selector": selector, "ports": service_ports } }));
    }
    if let (Some(ing), Some(host)) = (
        &recipe.ingress,
        values.effective_host(recipe, &install.spec.app, ctx.tenant, ctx.domain),
    ) {
        objects.push(json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": meta(&name, true),
            "spec": { "rules": [{ "host": host, "http": { "paths": [{
                "path": "/", "pathType": "Prefix",
                "backend": { "service": { "name": name, "port": { "name": ing.port } } },
            }] } }] },
        }));
    }
    objects
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::crd::AppInstallSpec;

    const SAMPLES: &[(&str, &str)] = &[
        (
            "static-site",
            include_str!("golden/static-site.recipe.json"),
        ),
        ("php-app", include_str!("golden/php-app.recipe.json")),
        (
            "app-with-volume",
            include_str!("golden/app-with-volume.recipe.json"),
        ),
    ];

    fn render(app: &str, recipe_json: &str) -> Vec<Value> {
        let recipe_value: Value = serde_json::from_str(recipe_json).unwrap();
        let recipe = Recipe::parse(&recipe_value).unwrap();
        assert_eq!(
            recipe.validate(Some(100 << 30)),
            vec![],
            "{app}: the sample recipe is valid"
        );
        let mut install = AppInstall::new(
            &format!("{app}-1"),
            AppInstallSpec {
                app: app.into(),
                version: "1.0.0+1".into(),
                recipe: recipe_value,
                values: json!({}),
                suspended: false,
            },
        );
        install.metadata.uid = Some("uid-1".into());
        let secrets: BTreeMap<String, String> = generated_secrets(&recipe)
            .into_iter()
            .map(|(k, len)| (k, "s".repeat(usize::try_from(len).unwrap())))
            .collect();
        app_install_children(
            &install,
            &recipe,
            &AppContext {
                tenant: "acme",
                namespace: "coplane-acme",
                domain: "apps.example.coop",
            },
            &secrets,
        )
    }

    /// Each sample renders to its committed golden file
    /// (`COPLANE_UPDATE_GOLDEN=1 cargo test -p coplane-worker golden` rewrites them).
    #[test]
    fn sample_recipes_render_to_their_golden_manifests() {
        for (app, recipe) in SAMPLES {
            let rendered = serde_saphyr::to_string(&render(app, recipe)).unwrap();
            let path = format!(
                "{}/src/kube/golden/{app}.rendered.yaml",
                env!("CARGO_MANIFEST_DIR")
            );
            if std::env::var_os("COPLANE_UPDATE_GOLDEN").is_some() {
                std::fs::write(&path, &rendered).unwrap();
            }
            let golden = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                golden == rendered,
                "{app} renders differently from {path}:\n{rendered}"
            );
        }
    }

    #[test]
    fn versions_become_valid_label_values() {
        assert_eq!(label_value("1.0.0+2.3.4"), "1.0.0_2.3.4");
        assert_eq!(label_value("1.0.0+v2024.01-rc.1"), "1.0.0_v2024.01-rc.1");
        assert!(label_value(&format!("1.0.0+{}", "x".repeat(100))).len() <= 63);
    }

    #[test]
    fn generated_secrets_are_what_was_passed_in_and_replicas_are_left_alone() {
        let objects = render("php-app", SAMPLES[1].1);
        let secret = objects.iter().find(|o| o["kind"] == "Secret").unwrap();
        assert_eq!(
            secret["data"]["APP_KEY"],
            base64::engine::general_purpose::STANDARD.encode("s".repeat(48))
        );
        let deployment = objects.iter().find(|o| o["kind"] == "Deployment").unwrap();
        assert!(deployment["spec"].get("replicas").is_none());
        assert_eq!(
            render("php-app", SAMPLES[1].1),
            objects,
            "rendering is deterministic"
        );
    }

    #[test]
    fn values_set_the_host_and_literal_settings_and_data_has_no_owner() {
        let recipe_value = json!({
            "image": "ghcr.io/coop/files", "tag": "1.0",
            "ports": [{ "name": "web", "port": 3000 }],
            "env": [{ "name": "TITLE", "value": "Files" }],
            "volumes": [{ "name": "data", "mountPath": "/data", "sizeBytes": 1073741824 }],
            "ingress": { "port": "web" },
        });
        let recipe = Recipe::parse(&recipe_value).unwrap();
        let literal = "TITLE".to_owned();
        let mut install = AppInstall::new(
            "i-1",
            AppInstallSpec {
                app: "files".into(),
                version: "1.0.0+1".into(),
                recipe: recipe_value,
                values: json!({ "host": "files.example.org", "env": { literal.clone(): "mine" } }),
                suspended: false,
            },
        );
        install.metadata.uid = Some("uid-1".into());
        let ctx = AppContext {
            tenant: "acme",
            namespace: "coplane-acme",
            domain: "apps.example.coop",
        };
        let objects = app_install_children(&install, &recipe, &ctx, &BTreeMap::new());
        let of = |kind: &str| objects.iter().find(|o| o["kind"] == kind).unwrap();
        let env = &of("Deployment")["spec"]["template"]["spec"]["containers"][0]["env"];
        assert!(
            env.as_array()
                .unwrap()
                .iter()
                .any(|e| e["name"] == literal.as_str() && e["value"] == "mine")
        );
        assert_eq!(
            of("Ingress")["spec"]["rules"][0]["host"],
            "files.example.org"
        );
        assert!(of("PersistentVolumeClaim")["metadata"]["ownerReferences"].is_null());
        assert_eq!(
            of("Deployment")["metadata"]["ownerReferences"][0]["uid"],
            "uid-1"
        );
    }
}
