//! The `AppInstall` controller: renders each install into its workload and
//! reports readiness. Generated secrets are made once: values already in
//! the install's Secret are kept, only missing ones are generated, and
//! none is ever logged.

use std::collections::BTreeMap;
use std::sync::Arc;

use coplane_domain::catalog::Recipe;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use rand::Rng;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::controller::{Context, Error};
use super::crd::{AppInstall, AppInstallStatus, Condition};
use super::render_app::{AppContext, app_install_children, generated_secrets};
use super::target::{FIELD_MANAGER, ensure};

/// Runs the controller until `shutdown`.
pub async fn run(ctx: Arc<Context>, shutdown: CancellationToken) {
    let c = ctx.client.clone();
    let labelled = watcher::Config::default().labels("app.kubernetes.io/managed-by=coplane");
    Controller::new(
        Api::<AppInstall>::all(c.clone()),
        watcher::Config::default(),
    )
    .owns(Api::<Deployment>::all(c), labelled)
    .graceful_shutdown_on(async move { shutdown.cancelled().await })
    .run(reconcile, error_policy, ctx)
    .for_each(|_| async {})
    .await;
}

fn error_policy(install: Arc<AppInstall>, error: &Error, ctx: Arc<Context>) -> Action {
    tracing::warn!(install = %install.name_any(), error.message = %error, "app install reconcile failed");
    Action::requeue(ctx.config.error_backoff)
}

fn random_secret(length: u32) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..length)
        .map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())]))
        .collect()
}

/// Makes the cluster match one install.
#[tracing::instrument(skip_all, fields(install = %install.name_any(), tenant_id = tracing::field::Empty))]
pub async fn reconcile(install: Arc<AppInstall>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = install.namespace().unwrap_or_default();
    let name = install.name_any();
    let api = Api::<AppInstall>::namespaced(ctx.client.clone(), &namespace);
    let recipe = match Recipe::parse(&install.spec.recipe) {
        Ok(r) => r,
        Err(e) => {
            let status = AppInstallStatus {
                ready: false,
                observed_generation: install.metadata.generation,
                conditions: vec![Condition {
                    type_: "Ready".into(),
                    status: "False".into(),
                    reason: "InvalidRecipe".into(),
                    message: e.message,
                }],
                suspended_replicas: BTreeMap::new(),
            };
            write_status(&api, &install, &status).await?;
            return Ok(Action::await_change());
        }
    };
    // Generated values: keep what exists, generate only what is missing.
    let secrets_api = Api::<Secret>::namespaced(ctx.client.clone(), &namespace);
    let existing = secrets_api.get_opt(&format!("{name}-generated")).await?;
    let mut values: BTreeMap<String, String> = existing
        .and_then(|s| s.data)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| String::from_utf8(v.0).ok().map(|v| (k, v)))
        .collect();
    for (key, length) in generated_secrets(&recipe) {
        values.entry(key).or_insert_with(|| random_secret(length));
    }
    let tenant = namespace
        .strip_prefix(&format!("{}-", coplane_domain::tenancy::NAMESPACE_PREFIX))
        .unwrap_or(&namespace);
    let app_ctx = AppContext {
        tenant,
        namespace: &namespace,
        domain: &ctx.config.app_domain,
    };
    for child in app_install_children(&install, &recipe, &app_ctx, &values) {
        ensure(&ctx.client, &child).await?;
    }
    let deployment = Api::<Deployment>::namespaced(ctx.client.clone(), &namespace)
        .get_opt(&name)
        .await?;
    // Ready: the Deployment has rolled out its current spec (the
    // controller saw this generation, every replica runs it) and they are
    // available, so an upgrade is not ready on the old version's pods.
    let (ready, available) = deployment.map_or((false, 0), |d| {
        let desired = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let generation = d.metadata.generation.unwrap_or(0);
        let s = d.status.unwrap_or_default();
        let available = s.available_replicas.unwrap_or(0);
        let updated = s.updated_replicas.unwrap_or(0);
        // As `kubectl rollout status`: no old replica left, every updated one available.
        let rolled_out = s.observed_generation.unwrap_or(0) >= generation
            && updated >= desired
            && s.replicas.unwrap_or(0) <= updated;
        (desired > 0 && rolled_out && available >= updated, available)
    });
    let status = AppInstallStatus {
        ready,
        observed_generation: install.metadata.generation,
        conditions: vec![Condition {
            type_: "Ready".into(),
            status: if ready { "True" } else { "False" }.into(),
            reason: if ready { "Available" } else { "Progressing" }.into(),
            message: format!("{available} replica(s) available"),
        }],
        suspended_replicas: BTreeMap::new(),
    };
    if install.status.as_ref() != Some(&status) {
        write_status(&api, &install, &status).await?;
    }
    Ok(Action::requeue(ctx.config.requeue))
}

async fn write_status(
    api: &Api<AppInstall>,
    install: &AppInstall,
    status: &AppInstallStatus,
) -> Result<(), Error> {
    let body = json!({
        "apiVersion": "coplane.io/v1alpha1",
        "kind": "AppInstall",
        "metadata": { "resourceVersion": install.resource_version() },
        "status": status,
    });
    api.patch_status(
        &install.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(body),
    )
    .await?;
    Ok(())
}
