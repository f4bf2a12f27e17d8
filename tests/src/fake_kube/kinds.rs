//! The kinds the fake API server knows.

/// A kind the server knows.
#[derive(Debug)]
pub struct Kind {
    pub(super) group: &'static str,
    pub(super) version: &'static str,
    pub(super) kind: &'static str,
    pub(super) plural: &'static str,
    pub(super) namespaced: bool,
    pub(super) status: bool,
}

const fn k(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    status: bool,
) -> Kind {
    Kind {
        group,
        version,
        kind,
        plural,
        namespaced,
        status,
    }
}

/// The kinds coplane manages, and those its tenants' workloads use.
pub const KINDS: &[Kind] = &[
    k("", "v1", "Namespace", "namespaces", false, true),
    k("", "v1", "ResourceQuota", "resourcequotas", true, true),
    k("", "v1", "LimitRange", "limitranges", true, false),
    k("", "v1", "Service", "services", true, true),
    k("", "v1", "Secret", "secrets", true, false),
    k("", "v1", "ConfigMap", "configmaps", true, false),
    k(
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
        true,
    ),
    k(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
        false,
    ),
    k(
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        true,
        true,
    ),
    k(
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        "roles",
        true,
        false,
    ),
    k(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        true,
        false,
    ),
    k("apps", "v1", "Deployment", "deployments", true, true),
    k("apps", "v1", "StatefulSet", "statefulsets", true, true),
    k("batch", "v1", "CronJob", "cronjobs", true, true),
    k("coplane.io", "v1alpha1", "Tenant", "tenants", false, true),
    k(
        "coplane.io",
        "v1alpha1",
        "AppInstall",
        "appinstalls",
        true,
        true,
    ),
];

impl Kind {
    pub(super) fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// The index of a kind in [`KINDS`]; tests only name kinds it has.
pub(super) fn kind_index(kind: &str) -> usize {
    KINDS
        .iter()
        .position(|x| x.kind == kind)
        .unwrap_or_else(|| panic!("the fake API server does not know {kind}"))
}
