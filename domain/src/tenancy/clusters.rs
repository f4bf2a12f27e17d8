//! The clusters the co-op operates: a tenant runs on one of them, never on
//! a label a caller invents.

use std::collections::BTreeSet;

use super::slug::parse_cluster;
use crate::error::{Error, Result};

/// The configured clusters by name, and the one a tenant goes to when none
/// is named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clusters {
    names: BTreeSet<String>,
    default: String,
}

impl Clusters {
    /// The clusters `names`, the first being the default. Each name is a
    /// DNS label; there is at least one.
    pub fn new(names: &[String]) -> std::result::Result<Self, String> {
        let Some(first) = names.first() else {
            return Err("at least one cluster is needed".into());
        };
        let mut set = BTreeSet::new();
        for n in names {
            parse_cluster(n).map_err(|e| e.to_string())?;
            if !set.insert(n.clone()) {
                return Err(format!("the cluster `{n}` is named twice"));
            }
        }
        Ok(Self {
            names: set,
            default: first.clone(),
        })
    }

    /// One cluster, `default`: what a process with a single target runs.
    pub fn single() -> Self {
        Self {
            names: BTreeSet::from([super::tenants::DEFAULT_CLUSTER.to_owned()]),
            default: super::tenants::DEFAULT_CLUSTER.to_owned(),
        }
    }

    /// The names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// The cluster `requested` names, or the default; an unknown one is
    /// refused (`UNKNOWN_CLUSTER`), a malformed one too (`INVALID_CLUSTER`).
    pub fn resolve(&self, requested: Option<&str>) -> Result<String> {
        let name = requested.unwrap_or(&self.default);
        let name = parse_cluster(name)
            .map_err(|e| Error::invalid("cluster", "INVALID_CLUSTER", e.to_string()))?;
        if !self.names.contains(&name) {
            let known: Vec<&str> = self.names().collect();
            return Err(Error::invalid(
                "cluster",
                "UNKNOWN_CLUSTER",
                format!(
                    "the co-op operates no cluster `{name}` (its clusters: {})",
                    known.join(", ")
                ),
            ));
        }
        Ok(name)
    }
}

/// Where tenants run and how their apps are reached: the configured
/// clusters and the co-op's base domain for apps' default hosts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Platform {
    /// The clusters.
    pub clusters: Clusters,
    /// The base domain of default hosts (`apps.example.coop`): names under
    /// it are the co-op's to give, never a customer's to choose.
    pub app_domain: String,
}

impl Platform {
    /// One cluster and `apps.localhost`, as a process with no settings.
    pub fn single() -> Self {
        Self {
            clusters: Clusters::single(),
            app_domain: "apps.localhost".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_configured_clusters_resolve() {
        let c = Clusters::new(&["eu1".into(), "eu2".into()]).unwrap();
        assert_eq!(c.resolve(None).unwrap(), "eu1");
        assert_eq!(c.resolve(Some("eu2")).unwrap(), "eu2");
        let e = c.resolve(Some("us1")).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Invalid {
                    code: "UNKNOWN_CLUSTER",
                    ..
                }
            ),
            "{e:?}"
        );
        let e = c.resolve(Some("EU1")).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Invalid {
                    code: "INVALID_CLUSTER",
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(Clusters::new(&[]).is_err());
        assert!(Clusters::new(&["a".into(), "a".into()]).is_err());
        assert_eq!(Clusters::single().resolve(None).unwrap(), "default");
    }
}
