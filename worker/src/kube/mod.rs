//! The Kubernetes side: the custom resources, their rendering into the
//! objects a tenant needs, the targets (a cluster, or a directory of
//! manifests), and the operator.

pub mod app_operator;
mod controller;
pub mod crd;
pub mod diff;
pub mod operator;
pub mod render;
pub mod render_app;
pub mod target;
