//! The custom resources between the database and the cluster: `Tenant`
//! (cluster-scoped) and `AppInstall` (namespaced), group `coplane.io`,
//! version `v1alpha1`. The control plane writes their specs; the operator
//! makes the cluster match them and reports in their status.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The resources a tenant may use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuotaSpec {
    /// CPU in millicores.
    pub cpu_millis: i64,
    /// Memory in bytes.
    pub memory_bytes: i64,
    /// Persistent storage in bytes.
    pub storage_bytes: i64,
    /// Pods.
    pub pods: i64,
    /// App installs.
    pub app_installs: i64,
}

/// Who may reach a tenant's namespace over the network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkSpec {
    /// Namespaces whose pods may connect (the ingress controller's).
    #[serde(default = "default_ingress_namespaces")]
    pub ingress_namespaces: Vec<String>,
}

fn default_ingress_namespaces() -> Vec<String> {
    vec!["ingress-nginx".to_owned()]
}

impl Default for NetworkSpec {
    fn default() -> Self {
        Self {
            ingress_namespaces: default_ingress_namespaces(),
        }
    }
}

/// A user, group or service account that administers the tenant.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminSubject {
    /// `User`, `Group` or `ServiceAccount`.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// For a service account: its namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A tenant: one namespace with its quota, limits, network policy and admins.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "coplane.io",
    version = "v1alpha1",
    kind = "Tenant",
    plural = "tenants",
    status = "TenantStatus",
    shortname = "cpt",
    printcolumn = r#"{"name":"Namespace","type":"string","jsonPath":".status.namespace"}"#,
    printcolumn = r#"{"name":"Ready","type":"boolean","jsonPath":".status.ready"}"#,
    printcolumn = r#"{"name":"Suspended","type":"boolean","jsonPath":".spec.suspended"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct TenantSpec {
    /// The immutable slug; the namespace is `coplane-<slug>`.
    pub slug: String,
    /// The customer's id.
    pub customer: String,
    /// The reseller's id, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reseller: Option<String>,
    /// The plan's id, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// The quota.
    pub quota: QuotaSpec,
    /// Scales every workload to zero and admits no new pod; `false` restores exactly what was there.
    #[serde(default)]
    pub suspended: bool,
    /// Network policy options.
    #[serde(default)]
    pub network: NetworkSpec,
    /// Admins of the namespace.
    #[serde(default)]
    pub admins: Vec<AdminSubject>,
}

/// A status condition.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// `Ready`, `Suspended`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// One CamelCase word.
    pub reason: String,
    /// For people.
    pub message: String,
}

/// What the operator reports about a tenant.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantStatus {
    /// The namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The namespace and its policies are in place.
    #[serde(default)]
    pub ready: bool,
    /// The spec generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// Whether the workloads are suspended.
    #[serde(default)]
    pub suspended: bool,
    /// Replica counts recorded at suspension, by `Kind/name` (also kept on
    /// each workload as the `coplane.io/suspended-replicas` annotation).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub suspended_replicas: BTreeMap<String, i32>,
}

fn any_object(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true })
}

/// An app installed in a tenant's namespace, rendered from its recipe.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "coplane.io",
    version = "v1alpha1",
    kind = "AppInstall",
    plural = "appinstalls",
    namespaced,
    status = "AppInstallStatus",
    shortname = "cpai",
    printcolumn = r#"{"name":"App","type":"string","jsonPath":".spec.app"}"#,
    printcolumn = r#"{"name":"Version","type":"string","jsonPath":".spec.version"}"#,
    printcolumn = r#"{"name":"Ready","type":"boolean","jsonPath":".status.ready"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct AppInstallSpec {
    /// The app's slug.
    pub app: String,
    /// `recipeVersion+upstreamVersion`.
    pub version: String,
    /// The recipe of that version.
    #[schemars(schema_with = "any_object")]
    pub recipe: serde_json::Value,
    /// Per-install values.
    #[serde(default)]
    #[schemars(schema_with = "any_object")]
    pub values: serde_json::Value,
    /// Scaled to zero while true.
    #[serde(default)]
    pub suspended: bool,
}

/// What the operator reports about an install.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppInstallStatus {
    /// Its workload is available.
    #[serde(default)]
    pub ready: bool,
    /// The spec generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// Replica counts recorded at suspension.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub suspended_replicas: BTreeMap<String, i32>,
}

/// The CRDs as YAML documents, as `coplane crdgen` prints them.
pub fn crds_yaml() -> Result<String, serde_saphyr::SerializeError> {
    use kube::CustomResourceExt;
    let tenant = serde_saphyr::to_string(&Tenant::crd())?;
    let install = serde_saphyr::to_string(&AppInstall::crd())?;
    Ok(format!("---\n{tenant}---\n{install}"))
}
