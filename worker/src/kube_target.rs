//! Where the worker's Kubernetes side writes: a cluster reached through a
//! kubeconfig (or in-cluster credentials), or a directory of manifests.

use std::path::PathBuf;

/// The Kubernetes target (`COPLANE_KUBE_TARGET`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KubeTarget {
    /// A real API server, from `KUBECONFIG`, `~/.kube/config` or in-cluster credentials.
    Kubeconfig,
    /// A named context of the kubeconfig.
    Context(String),
    /// Deterministic YAML, one file per object, written into a directory.
    Manifests(PathBuf),
}

/// A `COPLANE_KUBE_TARGET` value that is neither form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected `kubeconfig`, `context:NAME` or `manifests:DIR`, got `{0}`")]
pub struct InvalidKubeTarget(pub String);

impl KubeTarget {
    /// Parses `kubeconfig`, `context:NAME` or `manifests:DIR`.
    pub fn parse(s: &str) -> Result<Self, InvalidKubeTarget> {
        match s.split_once(':') {
            None if s == "kubeconfig" => Ok(Self::Kubeconfig),
            Some(("context", name)) if !name.is_empty() => Ok(Self::Context(name.to_owned())),
            Some(("manifests", dir)) if !dir.is_empty() => Ok(Self::Manifests(PathBuf::from(dir))),
            _ => Err(InvalidKubeTarget(s.to_owned())),
        }
    }

    /// With nothing configured: a cluster if credentials are found, else
    /// manifests in `default_dir`. Returns the target and why it was chosen.
    pub fn detect(default_dir: PathBuf) -> (Self, &'static str) {
        if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
            return (Self::Kubeconfig, "running inside a cluster");
        }
        if kube::config::Kubeconfig::read().is_ok() {
            return (Self::Kubeconfig, "a kubeconfig was found");
        }
        (Self::Manifests(default_dir), "no kubeconfig was found")
    }
}

impl std::fmt::Display for KubeTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Kubeconfig => f.write_str("kubeconfig"),
            Self::Context(name) => write!(f, "context:{name}"),
            Self::Manifests(dir) => write!(f, "manifests:{}", dir.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_forms_and_refuses_others() {
        assert_eq!(KubeTarget::parse("kubeconfig"), Ok(KubeTarget::Kubeconfig));
        assert_eq!(
            KubeTarget::parse("manifests:/tmp/out"),
            Ok(KubeTarget::Manifests("/tmp/out".into()))
        );
        assert_eq!(
            KubeTarget::parse("context:eu1"),
            Ok(KubeTarget::Context("eu1".into()))
        );
        for bad in ["", "manifests:", "cluster", "kubeconfig:x", "context:"] {
            assert!(KubeTarget::parse(bad).is_err(), "{bad}");
        }
    }
}
