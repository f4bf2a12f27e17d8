//! Where Kubernetes objects go: a cluster, through kube-rs and server-side
//! apply; or a directory, as deterministic YAML, one file per object.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use kube::{Client, core::GroupVersionKind};
use serde_json::Value;

use super::diff::is_subset;
use crate::kube_target::KubeTarget;

/// The one field manager of every server-side apply coplane makes.
pub const FIELD_MANAGER: &str = "coplane";

/// A connected target.
#[derive(Clone)]
pub enum Target {
    /// A cluster.
    Cluster(Client),
    /// A directory of manifests.
    Manifests(PathBuf),
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cluster(_) => f.write_str("Cluster"),
            Self::Manifests(d) => write!(f, "Manifests({})", d.display()),
        }
    }
}

/// How long the start-up check of a cluster may take.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

impl Target {
    /// Connects to what `target` names, and checks that a cluster answers:
    /// one that does not is one clear error at start, not a stream of
    /// failed jobs.
    pub async fn connect(target: &KubeTarget) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let client = match target {
            KubeTarget::Manifests(dir) => return Ok(Self::Manifests(dir.clone())),
            KubeTarget::Kubeconfig => Client::try_default().await?,
            KubeTarget::Context(name) => {
                let options = kube::config::KubeConfigOptions {
                    context: Some(name.clone()),
                    ..Default::default()
                };
                let config = kube::Config::from_kubeconfig(&options)
                    .await
                    .with_context(|| format!("no usable kubeconfig context `{name}`"))?;
                Client::try_from(config)?
            }
        };
        match tokio::time::timeout(PROBE_TIMEOUT, client.apiserver_version()).await {
            Ok(Ok(_)) => Ok(Self::Cluster(client)),
            Ok(Err(e)) => Err(anyhow::anyhow!("the API server does not answer: {e}")),
            Err(_) => Err(anyhow::anyhow!(
                "the API server did not answer within {} s",
                PROBE_TIMEOUT.as_secs()
            )),
        }
    }
}

/// Each cluster's target, by the cluster's name.
#[derive(Clone, Debug, Default)]
pub struct Targets(BTreeMap<String, Target>);

impl Targets {
    pub fn insert(&mut self, cluster: impl Into<String>, target: Target) {
        self.0.insert(cluster.into(), target);
    }

    /// The target of `cluster`; a cluster no longer configured is an error,
    /// never another cluster's target.
    pub fn get(&self, cluster: &str) -> anyhow::Result<&Target> {
        self.0
            .get(cluster)
            .ok_or_else(|| anyhow::anyhow!("the cluster `{cluster}` is not configured"))
    }

    /// Every cluster and its target.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Target)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }
}

/// The kinds coplane writes: (apiVersion, kind, plural, namespaced).
const KINDS: &[(&str, &str, &str, bool)] = &[
    ("v1", "Namespace", "namespaces", false),
    ("v1", "ResourceQuota", "resourcequotas", true),
    ("v1", "LimitRange", "limitranges", true),
    ("v1", "Secret", "secrets", true),
    ("v1", "Service", "services", true),
    (
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
    ),
    ("networking.k8s.io/v1", "Ingress", "ingresses", true),
    (
        "networking.k8s.io/v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
    ),
    ("rbac.authorization.k8s.io/v1", "Role", "roles", true),
    (
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
        "rolebindings",
        true,
    ),
    ("apps/v1", "Deployment", "deployments", true),
    ("apps/v1", "StatefulSet", "statefulsets", true),
    ("batch/v1", "CronJob", "cronjobs", true),
    ("coplane.io/v1alpha1", "Tenant", "tenants", false),
    ("coplane.io/v1alpha1", "AppInstall", "appinstalls", true),
];

/// The API resource of a kind coplane writes.
pub fn api_resource(kind: &str) -> Option<(ApiResource, bool)> {
    let (api_version, kind, plural, namespaced) = KINDS.iter().find(|k| k.1 == kind)?;
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    Some((ApiResource::from_gvk_with_plural(&gvk, plural), *namespaced))
}

/// A dynamic API for `kind` in `namespace` (ignored for cluster-scoped kinds).
pub fn dynamic_api(
    client: &Client,
    kind: &str,
    namespace: Option<&str>,
) -> anyhow::Result<Api<DynamicObject>> {
    let (ar, namespaced) =
        api_resource(kind).ok_or_else(|| anyhow::anyhow!("unknown kind {kind}"))?;
    Ok(match (namespaced, namespace) {
        (true, Some(ns)) => Api::namespaced_with(client.clone(), ns, &ar),
        (true, None) => Api::all_with(client.clone(), &ar),
        (false, _) => Api::all_with(client.clone(), &ar),
    })
}

/// Annotation holding a hash of what coplane last applied to an object.
pub const APPLIED_HASH: &str = "coplane.io/applied-hash";

/// `object` with [`APPLIED_HASH`] set to the hash of the rest of it.
pub fn with_applied_hash(object: &Value) -> Value {
    use sha2::{Digest, Sha256};
    let mut object = object.clone();
    let hash = format!("{:x}", Sha256::digest(object.to_string().as_bytes()));
    object["metadata"]["annotations"][APPLIED_HASH] = Value::String(hash[..16].to_owned());
    object
}

/// Applies `object` unless it is unchanged since coplane last applied it
/// (same hash) and nobody has edited the live object since (it still has
/// every field `object` sets). Returns whether it wrote.
///
/// The hash catches changes that a comparison cannot see, such as a field
/// coplane stopped setting, which the apply then removes; the comparison
/// catches edits by others.
pub async fn ensure(client: &Client, object: &Value) -> anyhow::Result<bool> {
    let kind = object["kind"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("object without kind"))?;
    let name = object["metadata"]["name"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("object without name"))?;
    let api = dynamic_api(client, kind, object["metadata"]["namespace"].as_str())?;
    let desired = with_applied_hash(object);
    if let Some(live) = api.get_opt(name).await?
        && is_subset(&desired, &serde_json::to_value(&live)?)
    {
        return Ok(false);
    }
    api.patch(
        name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&desired),
    )
    .await?;
    Ok(true)
}

/// Deletes `name` through `api`; one already gone is deleted too.
pub async fn delete_if_present<K>(api: &Api<K>, name: &str) -> Result<(), kube::Error>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    match api.delete(name, &kube::api::DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

/// The file an object is written to: `<kind>-<name>.yaml`, lower case.
fn file_name(object: &Value) -> String {
    format!(
        "{}-{}.yaml",
        object["kind"].as_str().unwrap_or("object").to_lowercase(),
        object["metadata"]["name"].as_str().unwrap_or("unnamed")
    )
}

/// Writes `objects` into `dir/<group>`, one file each, removing the files of
/// objects no longer there. Unchanged files are not rewritten.
pub fn write_manifests(dir: &Path, group: &str, objects: &[Value]) -> anyhow::Result<()> {
    let dir = dir.join(group);
    std::fs::create_dir_all(&dir)?;
    let mut keep = Vec::new();
    for object in objects {
        let name = file_name(object);
        let yaml = serde_saphyr::to_string(object)?;
        let path = dir.join(&name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(yaml.as_str()) {
            std::fs::write(&path, yaml)?;
        }
        keep.push(name);
    }
    for entry in std::fs::read_dir(&dir)? {
        let entry = entry?;
        // Subdirectories (a tenant's apps) are theirs to manage.
        if entry.file_type()?.is_file() && !keep.iter().any(|k| entry.file_name() == k.as_str()) {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// Removes `dir/<group>` and everything in it.
pub fn remove_manifests(dir: &Path, group: &str) -> anyhow::Result<()> {
    match std::fs::remove_dir_all(dir.join(group)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}
