//! The operator: reconciles each `Tenant` to its namespace and the objects
//! that fence it, suspends and resumes its workloads, and deletes the
//! namespace only after the retention.
//!
//! A reconcile reads before it writes: an object that already has what the
//! tenant needs is left alone, so a pass over converged tenants writes
//! nothing. Suspension records each workload's replica count in an
//! annotation on that workload in the same patch that scales it to zero, so
//! an operator stopped half-way picks up where it was; resumption restores
//! the recorded counts and removes the annotations.
//!
//! [`run`] starts the `AppInstall` controller (`app_operator`) too. What the
//! two share (context, tuning, metrics, error) is `controller`'s, below both,
//! and re-exported here.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{LimitRange, Namespace, ResourceQuota};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::app_operator;
pub use super::controller::{Context, Error, OperatorConfig, OperatorMetrics};
use super::crd::{Condition, Tenant, TenantStatus};
use super::render::{self, FINALIZER, SUSPENDED_CRONJOB, SUSPENDED_REPLICAS, TENANT_LABEL};
use super::target::{FIELD_MANAGER, dynamic_api, ensure};

/// Runs the operator until `shutdown`: this `Tenant` controller, and the
/// `AppInstall` one of [`app_operator`].
pub async fn run(ctx: Arc<Context>, shutdown: CancellationToken) {
    let apps = tokio::spawn(app_operator::run(ctx.clone(), shutdown.clone()));
    let c = ctx.client.clone();
    let wc = watcher::Config::default();
    let labelled = watcher::Config::default().labels("app.kubernetes.io/managed-by=coplane");
    tracing::info!("tenant operator started");
    Controller::new(Api::<Tenant>::all(c.clone()), wc)
        .watches(Api::<Namespace>::all(c.clone()), labelled.clone(), owner)
        .watches(
            Api::<ResourceQuota>::all(c.clone()),
            labelled.clone(),
            owner,
        )
        .watches(Api::<LimitRange>::all(c.clone()), labelled.clone(), owner)
        .watches(
            Api::<NetworkPolicy>::all(c.clone()),
            labelled.clone(),
            owner,
        )
        .watches(Api::<Role>::all(c.clone()), labelled.clone(), owner)
        .watches(Api::<RoleBinding>::all(c), labelled, owner)
        .graceful_shutdown_on(async move { shutdown.cancelled().await })
        .run(reconcile, error_policy, ctx.clone())
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error.message = %e, "reconcile did not complete");
            }
        })
        .await;
    let _ = apps.await;
    tracing::info!("tenant operator stopped");
}

/// The `Tenant` a child belongs to, by its `coplane.io/tenant` label. (Not by
/// owner reference: the Namespace has none, and kube-runtime would key a
/// cluster-scoped owner by its child's namespace, making a second key.)
fn owner<K: ResourceExt>(child: K) -> Option<ObjectRef<Tenant>> {
    child
        .labels()
        .get(TENANT_LABEL)
        .map(|slug| ObjectRef::new(slug))
}

fn error_policy(tenant: Arc<Tenant>, error: &Error, ctx: Arc<Context>) -> Action {
    tracing::warn!(tenant = %tenant.name_any(), error.message = %error, "tenant reconcile failed");
    if let Some(m) = &ctx.metrics {
        m.count(error.variant());
    }
    Action::requeue(ctx.config.error_backoff)
}

/// Makes the cluster match one tenant.
#[tracing::instrument(skip_all, fields(tenant = %tenant.name_any(), tenant_id = tracing::field::Empty))]
pub async fn reconcile(tenant: Arc<Tenant>, ctx: Arc<Context>) -> Result<Action, Error> {
    tracing::Span::current().record("tenant_id", tenant.name_any());
    let api = Api::<Tenant>::all(ctx.client.clone());
    let action = if let Some(deleted) = &tenant.metadata.deletion_timestamp {
        let deleted_at = DateTime::<Utc>::from_timestamp_millis(deleted.0.as_millisecond())
            .unwrap_or_else(Utc::now);
        cleanup(&api, &tenant, deleted_at, &ctx).await?
    } else {
        // Continue with what the finalizer patch returns: it carries the new
        // resourceVersion that the status write is guarded by.
        let tenant = if tenant.finalizers().iter().any(|f| f == FINALIZER) {
            tenant
        } else {
            let mut finalizers = tenant.finalizers().to_vec();
            finalizers.push(FINALIZER.to_owned());
            Arc::new(set_finalizers(&api, &tenant, finalizers).await?)
        };
        apply(&api, &tenant, &ctx).await?
    };
    if let Some(m) = &ctx.metrics {
        m.count("ok");
    }
    Ok(action)
}

async fn apply(api: &Api<Tenant>, tenant: &Tenant, ctx: &Context) -> Result<Action, Error> {
    let children = render::tenant_children(tenant);
    for child in &children {
        ensure(&ctx.client, child).await?;
    }
    let namespace = render::namespace(&tenant.spec.slug);
    let prior = tenant
        .status
        .as_ref()
        .map(|s| s.suspended_replicas.clone())
        .unwrap_or_default();
    let suspended_replicas =
        suspension(&ctx.client, &namespace, tenant.spec.suspended, &prior).await?;
    let status = TenantStatus {
        namespace: Some(namespace),
        ready: true,
        observed_generation: tenant.metadata.generation,
        conditions: vec![
            Condition {
                type_: "Ready".into(),
                status: "True".into(),
                reason: "Reconciled".into(),
                message: "namespace, quota, limits, network policy and admin role are in place"
                    .into(),
            },
            Condition {
                type_: "Suspended".into(),
                status: if tenant.spec.suspended {
                    "True"
                } else {
                    "False"
                }
                .into(),
                reason: if tenant.spec.suspended {
                    "Suspended"
                } else {
                    "Running"
                }
                .into(),
                message: if tenant.spec.suspended {
                    "workloads are scaled to zero"
                } else {
                    "workloads run"
                }
                .into(),
            },
        ],
        suspended: tenant.spec.suspended,
        suspended_replicas,
    };
    if tenant.status.as_ref() != Some(&status) {
        write_status(api, tenant, &status).await?;
    }
    Ok(Action::requeue(ctx.config.requeue))
}

/// Applies a tenant's status (the status subresource).
async fn write_status(
    api: &Api<Tenant>,
    tenant: &Tenant,
    status: &TenantStatus,
) -> Result<(), Error> {
    // Guarded by the resourceVersion: a reconcile that worked from a stale
    // copy gets a conflict and runs again, instead of overwriting a newer
    // status (and the suspension record in it).
    let body = json!({
        "apiVersion": "coplane.io/v1alpha1",
        "kind": "Tenant",
        "metadata": { "resourceVersion": tenant.resource_version() },
        "status": status,
    });
    api.patch_status(
        &tenant.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(body),
    )
    .await?;
    Ok(())
}

/// Scales the namespace's workloads to zero (recording what they had) or
/// back to what was recorded. Returns the recorded counts by `Kind/name`.
///
/// The record is the annotation on each workload, written in the same patch
/// that scales it; the tenant's status keeps a copy, used when an annotation
/// is missing or not a count. One workload that cannot be patched does not
/// stop the others: the first error is returned after all were tried.
async fn suspension(
    client: &Client,
    namespace: &str,
    suspended: bool,
    prior: &BTreeMap<String, i32>,
) -> Result<BTreeMap<String, i32>, Error> {
    let mut recorded = BTreeMap::new();
    let mut first_error: Option<Error> = None;
    for kind in ["Deployment", "StatefulSet"] {
        let api = dynamic_api(client, kind, Some(namespace))?;
        for object in api.list(&ListParams::default()).await? {
            let name = object.name_any();
            let key = format!("{kind}/{name}");
            let value = serde_json::to_value(&object).map_err(anyhow::Error::from)?;
            let replicas = value["spec"]["replicas"].as_i64().unwrap_or(1);
            let annotation = object.annotations().get(SUSPENDED_REPLICAS);
            let annotated: Option<i64> = annotation
                .and_then(|v| v.parse().ok())
                .filter(|n: &i64| *n >= 0);
            let before = annotated.or_else(|| prior.get(&key).map(|n| i64::from(*n)));
            // Marked but unreadable, with no record to fall back on: the
            // count is unknown, and the current (zero) count must not stand
            // in for it.
            if annotation.is_some() && before.is_none() {
                tracing::warn!(%namespace, workload = %name, "suspension record unreadable; left as it is");
                continue;
            }
            let patch = match (suspended, before) {
                (true, None) => Some(json!({
                    "metadata": { "annotations": { SUSPENDED_REPLICAS: replicas.to_string() } },
                    "spec": { "replicas": 0 },
                })),
                // Scaled up while suspended, or the annotation was lost: back
                // to zero, and the record back on the workload.
                (true, Some(b)) if replicas != 0 || annotated.is_none() => Some(json!({
                    "metadata": { "annotations": { SUSPENDED_REPLICAS: b.to_string() } },
                    "spec": { "replicas": 0 },
                })),
                (false, Some(b)) => Some(json!({
                    "metadata": { "annotations": { SUSPENDED_REPLICAS: Value::Null } },
                    "spec": { "replicas": b },
                })),
                _ => None,
            };
            if suspended {
                recorded.insert(
                    key,
                    i32::try_from(before.unwrap_or(replicas)).unwrap_or(i32::MAX),
                );
            }
            if let Some(patch) = patch
                && let Err(e) = api
                    .patch(&name, &PatchParams::default(), &Patch::Merge(patch))
                    .await
            {
                tracing::warn!(%namespace, workload = %name, error.message = %e, "scaling a workload failed");
                first_error.get_or_insert(e.into());
            }
        }
    }
    let cronjobs = dynamic_api(client, "CronJob", Some(namespace))?;
    for object in cronjobs.list(&ListParams::default()).await? {
        let name = object.name_any();
        let value = serde_json::to_value(&object).map_err(anyhow::Error::from)?;
        let was = value["spec"]["suspend"].as_bool().unwrap_or(false);
        let before: Option<bool> = object
            .annotations()
            .get(SUSPENDED_CRONJOB)
            .and_then(|v| v.parse().ok());
        let patch = match (suspended, before) {
            (true, None) => Some(json!({
                "metadata": { "annotations": { SUSPENDED_CRONJOB: was.to_string() } },
                "spec": { "suspend": true },
            })),
            (true, Some(_)) if !was => Some(json!({ "spec": { "suspend": true } })),
            (false, Some(before)) => Some(json!({
                "metadata": { "annotations": { SUSPENDED_CRONJOB: Value::Null } },
                "spec": { "suspend": before },
            })),
            _ => None,
        };
        if let Some(patch) = patch
            && let Err(e) = cronjobs
                .patch(&name, &PatchParams::default(), &Patch::Merge(patch))
                .await
        {
            tracing::warn!(%namespace, cronjob = %name, error.message = %e, "suspending a CronJob failed");
            first_error.get_or_insert(e.into());
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(recorded),
    }
}

/// Sets the tenant's finalizers, guarded by its resourceVersion so that a
/// finalizer someone else added meanwhile is not lost (a conflict retries).
async fn set_finalizers(
    api: &Api<Tenant>,
    tenant: &Tenant,
    finalizers: Vec<String>,
) -> Result<Tenant, Error> {
    let patch = json!({ "metadata": { "finalizers": finalizers, "resourceVersion": tenant.resource_version() } });
    Ok(api
        .patch(
            &tenant.name_any(),
            &PatchParams::default(),
            &Patch::Merge(patch),
        )
        .await?)
}

/// A deleted tenant: keep its namespace for the retention, then delete it
/// and release the tenant.
async fn cleanup(
    api: &Api<Tenant>,
    tenant: &Tenant,
    deleted_at: DateTime<Utc>,
    ctx: &Context,
) -> Result<Action, Error> {
    if !tenant.finalizers().iter().any(|f| f == FINALIZER) {
        return Ok(Action::await_change());
    }
    let until = deleted_at + ctx.config.retention;
    let remaining = until - ctx.clock.now();
    if remaining > chrono::Duration::zero() {
        // Say once, in the status, when the namespace goes.
        let deleting = Condition {
            type_: "Deleting".into(),
            status: "True".into(),
            reason: "RetentionPeriod".into(),
            message: format!(
                "the namespace is kept until {}",
                until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        };
        let mut status = tenant.status.clone().unwrap_or_default();
        if !status.conditions.contains(&deleting) {
            status.conditions.retain(|c| c.type_ != "Deleting");
            status.conditions.push(deleting);
            status.ready = false;
            write_status(api, tenant, &status).await?;
        }
        let wait = remaining
            .to_std()
            .unwrap_or(ctx.config.requeue)
            .min(ctx.config.requeue);
        return Ok(Action::requeue(wait));
    }
    let namespaces = Api::<Namespace>::all(ctx.client.clone());
    let namespace = render::namespace(&tenant.spec.slug);
    if namespaces.get_opt(&namespace).await?.is_some() {
        namespaces
            .delete(&namespace, &DeleteParams::default())
            .await?;
        tracing::info!(%namespace, "namespace deleted after the retention");
    }
    let finalizers: Vec<String> = tenant
        .finalizers()
        .iter()
        .filter(|f| *f != FINALIZER)
        .cloned()
        .collect();
    set_finalizers(api, tenant, finalizers).await?;
    Ok(Action::await_change())
}
