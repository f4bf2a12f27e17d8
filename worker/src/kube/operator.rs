//! The operator: reconciles each `Tenant` to its namespace and the objects
//! that fence it, suspends and resumes its workloads, and deletes the
//! namespace only after the retention.
//!
//! A reconcile reads before it writes, from the copies the operator keeps
//! by watching (`cache`): an object that already has what the tenant needs
//! is left alone, so a pass over converged tenants writes nothing, and needs
//! no request either. The same watches trigger a tenant's reconcile when
//! any of its objects changes, so an edited child is put back at once.
//! Suspension records each workload's replica count in an annotation on
//! that workload in the same patch that scales it to zero, so an operator
//! stopped half-way picks up where it was; resumption restores the
//! recorded counts and removes the annotations.
//!
//! [`run`] starts the `AppInstall` controller (`app_operator`) too. What the
//! two share (context, tuning, metrics, error) is `controller`'s, below both,
//! and re-exported here.

mod cache;
mod suspension;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{self, Action, trigger_self};
use kube::runtime::utils::CancelableJoinHandle;
use kube::runtime::{WatchStreamExt, applier, reflector, watcher};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use self::cache::Caches;
use super::app_operator;
pub use super::controller::{Context, Error, OperatorConfig, OperatorMetrics};
use super::crd::{Condition, Tenant, TenantStatus};
use super::diff::is_subset;
use super::render::{self, FINALIZER};
use super::target::{FIELD_MANAGER, delete_if_present, dynamic_api, with_applied_hash};

/// What a tenant reconcile works with: the shared context, and the copies
/// of the cluster the watches keep.
struct Operator {
    ctx: Arc<Context>,
    caches: Arc<Caches>,
}

/// Runs the operator until `shutdown`: this `Tenant` controller, and the
/// `AppInstall` one of [`app_operator`].
pub async fn run(ctx: Arc<Context>, shutdown: CancellationToken) {
    let apps = tokio::spawn(app_operator::run(ctx.clone(), shutdown.clone()));
    match Caches::watch(&ctx.client) {
        Ok((caches, triggers)) => run_tenants(Operator { ctx, caches }, triggers, shutdown).await,
        Err(e) => tracing::error!(error.message = %e, "the tenant operator cannot start"),
    }
    let _ = apps.await;
    tracing::info!("tenant operator stopped");
}

/// The tenant controller: the Tenants' own watch and those of `cache`
/// trigger reconciles, each run as its own task (as `Controller::run` does).
async fn run_tenants(op: Operator, triggers: Vec<cache::Triggers>, shutdown: CancellationToken) {
    let writer = reflector::store::Writer::<Tenant>::default();
    let tenants = writer.as_reader();
    let own = watcher(
        Api::<Tenant>::all(op.ctx.client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .modify(|t: &mut Tenant| t.metadata.managed_fields = None)
    .reflect(writer)
    .applied_objects();
    let mut queue = vec![trigger_self(own, ()).boxed()];
    queue.extend(triggers);
    let queue =
        futures::stream::select_all(queue).take_until(async move { shutdown.cancelled().await });
    tracing::info!("tenant operator started");
    applier(
        |tenant, op| {
            CancelableJoinHandle::spawn(reconcile(tenant, op), &tokio::runtime::Handle::current())
        },
        error_policy,
        Arc::new(op),
        tenants,
        queue,
        controller::Config::default(),
    )
    .for_each(|result| async move {
        if let Err(e) = result {
            tracing::debug!(error.message = %e, "reconcile did not complete");
        }
    })
    .await;
}

fn error_policy(tenant: Arc<Tenant>, error: &Error, op: Arc<Operator>) -> Action {
    tracing::warn!(tenant = %tenant.name_any(), error.message = %error, "tenant reconcile failed");
    if let Some(m) = &op.ctx.metrics {
        m.count(error.variant());
    }
    Action::requeue(op.ctx.config.error_backoff)
}

/// Makes the cluster match one tenant.
#[tracing::instrument(skip_all, fields(tenant = %tenant.name_any(), tenant_id = tracing::field::Empty))]
async fn reconcile(tenant: Arc<Tenant>, op: Arc<Operator>) -> Result<Action, Error> {
    tracing::Span::current().record("tenant_id", tenant.name_any());
    // A fresh operator compares against complete copies, or it would
    // rewrite what it has not seen yet.
    op.caches.ready().await?;
    if let Some(wait) = op.caches.awaiting(&tenant) {
        // The events of this tenant's last writes are on their way, and
        // each triggers a reconcile: acting now would act on what they
        // replace.
        return Ok(Action::requeue(wait));
    }
    let api = Api::<Tenant>::all(op.ctx.client.clone());
    let action = if let Some(deleted) = &tenant.metadata.deletion_timestamp {
        let deleted_at = DateTime::<Utc>::from_timestamp_millis(deleted.0.as_millisecond())
            .unwrap_or_else(Utc::now);
        op.cleanup(&api, &tenant, deleted_at).await?
    } else {
        // Continue with what the finalizer patch returns: it carries the new
        // resourceVersion that the status write is guarded by.
        let tenant = if tenant.finalizers().iter().any(|f| f == FINALIZER) {
            tenant
        } else {
            let mut finalizers = tenant.finalizers().to_vec();
            finalizers.push(FINALIZER.to_owned());
            Arc::new(op.set_finalizers(&api, &tenant, finalizers).await?)
        };
        op.apply(&api, &tenant).await?
    };
    if let Some(m) = &op.ctx.metrics {
        m.count("ok");
    }
    Ok(action)
}

impl Operator {
    /// Applies `object` unless its copy already has every field `object`
    /// sets, with coplane's hash of it (see [`with_applied_hash`]). Returns
    /// whether it wrote.
    async fn ensure(&self, tenant: &str, object: &Value) -> Result<bool, Error> {
        let kind = object["kind"].as_str().unwrap_or_default();
        let kind = cache::CHILD_KINDS
            .into_iter()
            .find(|k| *k == kind)
            .ok_or_else(|| anyhow::anyhow!("the operator does not watch {kind}"))?;
        let name = object["metadata"]["name"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("object without name"))?;
        let ns = object["metadata"]["namespace"].as_str();
        let desired = with_applied_hash(object);
        let live = self.caches.get(kind, ns, name);
        if let Some(live) = &live
            && is_subset(
                &desired,
                &serde_json::to_value(live.as_ref()).map_err(anyhow::Error::from)?,
            )
        {
            return Ok(false);
        }
        let written = dynamic_api(&self.ctx.client, kind, ns)?
            .patch(
                name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&desired),
            )
            .await?;
        self.caches.expect(
            tenant,
            kind,
            ns,
            name,
            live.and_then(|l| l.resource_version()),
            written.resource_version(),
        );
        Ok(true)
    }

    async fn apply(&self, api: &Api<Tenant>, tenant: &Tenant) -> Result<Action, Error> {
        let name = tenant.name_any();
        for child in render::tenant_children(tenant) {
            self.ensure(&name, &child).await?;
        }
        let namespace = render::namespace(&tenant.spec.slug);
        let prior = tenant
            .status
            .as_ref()
            .map(|s| s.suspended_replicas.clone())
            .unwrap_or_default();
        let suspended_replicas = self
            .suspension(&name, &namespace, tenant.spec.suspended, &prior)
            .await?;
        let status = ready_status(tenant, namespace, suspended_replicas);
        if tenant.status.as_ref() != Some(&status) {
            self.write_status(api, tenant, &status).await?;
        }
        Ok(Action::requeue(self.ctx.config.requeue))
    }
}

/// The status of a tenant whose objects are in place.
fn ready_status(
    tenant: &Tenant,
    namespace: String,
    suspended_replicas: std::collections::BTreeMap<String, i32>,
) -> TenantStatus {
    TenantStatus {
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
    }
}

impl Operator {
    /// Applies a tenant's status (the status subresource).
    async fn write_status(
        &self,
        api: &Api<Tenant>,
        tenant: &Tenant,
        status: &TenantStatus,
    ) -> Result<(), Error> {
        // Guarded by the resourceVersion: a reconcile that worked from a
        // stale copy gets a conflict and runs again, instead of overwriting
        // a newer status (and the suspension record in it).
        let body = json!({
            "apiVersion": "coplane.io/v1alpha1",
            "kind": "Tenant",
            "metadata": { "resourceVersion": tenant.resource_version() },
            "status": status,
        });
        let written = api
            .patch_status(
                &tenant.name_any(),
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(body),
            )
            .await?;
        self.expect_tenant(tenant, &written);
        Ok(())
    }

    /// Sets the tenant's finalizers, guarded by its resourceVersion so that
    /// a finalizer someone else added meanwhile is not lost (a conflict
    /// retries).
    async fn set_finalizers(
        &self,
        api: &Api<Tenant>,
        tenant: &Tenant,
        finalizers: Vec<String>,
    ) -> Result<Tenant, Error> {
        let patch = json!({ "metadata": { "finalizers": finalizers, "resourceVersion": tenant.resource_version() } });
        let written = api
            .patch(
                &tenant.name_any(),
                &PatchParams::default(),
                &Patch::Merge(patch),
            )
            .await?;
        self.expect_tenant(tenant, &written);
        Ok(written)
    }

    fn expect_tenant(&self, before: &Tenant, after: &Tenant) {
        let name = before.name_any();
        self.caches.expect(
            &name,
            "Tenant",
            None,
            &name,
            before.resource_version(),
            after.resource_version(),
        );
    }

    /// A deleted tenant: keep its namespace for the retention, then delete
    /// it and release the tenant.
    async fn cleanup(
        &self,
        api: &Api<Tenant>,
        tenant: &Tenant,
        deleted_at: DateTime<Utc>,
    ) -> Result<Action, Error> {
        let config = &self.ctx.config;
        if !tenant.finalizers().iter().any(|f| f == FINALIZER) {
            return Ok(Action::await_change());
        }
        let until = deleted_at + config.retention;
        let remaining = until - self.ctx.clock.now();
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
                self.write_status(api, tenant, &status).await?;
            }
            let wait = remaining
                .to_std()
                .unwrap_or(config.requeue)
                .min(config.requeue);
            return Ok(Action::requeue(wait));
        }
        let namespace = render::namespace(&tenant.spec.slug);
        if self.caches.get("Namespace", None, &namespace).is_some() {
            let namespaces = Api::<Namespace>::all(self.ctx.client.clone());
            delete_if_present(&namespaces, &namespace).await?;
            tracing::info!(%namespace, "namespace deleted after the retention");
        }
        let finalizers: Vec<String> = tenant
            .finalizers()
            .iter()
            .filter(|f| *f != FINALIZER)
            .cloned()
            .collect();
        self.set_finalizers(api, tenant, finalizers).await?;
        Ok(Action::await_change())
    }
}
