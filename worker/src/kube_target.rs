//! Where the worker's Kubernetes side writes: a cluster reached through a
//! kubeconfig (or in-cluster credentials), or a directory of manifests.

use std::path::PathBuf;

/// The Kubernetes target (`COPLANE_KUBE_TARGET`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KubeTarget {
    /// A real API server, from `KUBECONFIG`, `~/.kube/config` or in-cluster credentials.
    Kubeconfig,
    /// Deterministic YAML, one file per object, written into a directory.
    Manifests(PathBuf),
}

/// A `COPLANE_KUBE_TARGET` value that is neither form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected `kubeconfig` or `manifests:DIR`, got `{0}`")]
pub struct InvalidKubeTarget(pub String);

impl KubeTarget {
    /// Parses `kubeconfig` or `manifests:DIR`.
    pub fn parse(s: &str) -> Result<Self, InvalidKubeTarget> {
        match s.split_once(':') {
            None if s == "kubeconfig" => Ok(Self::Kubeconfig),
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
        for bad in ["", "manifests:", "cluster", "kubeconfig:x"] {
            assert!(KubeTarget::parse(bad).is_err(), "{bad}");
        }
    }
}
