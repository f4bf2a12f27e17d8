//! The Kubernetes side: the custom resources, their rendering into the
//! objects a tenant needs, the targets (a cluster, or a directory of
//! manifests), and the operator.

pub mod app_operator;
pub mod crd;
pub mod diff;
pub mod operator;
pub mod render;
pub mod render_app;
pub mod target;

/// The one field manager of every server-side apply coplane makes.
pub const FIELD_MANAGER: &str = "coplane";
