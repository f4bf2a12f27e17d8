//! What the tenant operator knows of the cluster, and what wakes it.
//!
//! One reflector per kind it writes (the tenant's namespace and the objects
//! that fence it, by coplane's label) or suspends (every Deployment,
//! StatefulSet and CronJob): a reconcile compares against these copies
//! instead of reading each object from the API server, and every event of
//! theirs, mapped to the tenant it belongs to, triggers that tenant's
//! reconcile at once.
//!
//! A copy lags behind a write by the time its watch event takes. So that a
//! reconcile never acts on a copy older than its own last write (writing
//! the same again, or a status from a stale `resourceVersion`), each write
//! is remembered as an expectation: until the copies show something other
//! than the versions the write replaced, that tenant's reconciles wait for
//! the events (which trigger them) instead of acting. An expectation that
//! is not met within [`EXPECTATION_TTL`] (an object created and deleted
//! again before its copy saw it) is dropped, and the reconcile goes ahead.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::future::{BoxFuture, Shared};
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt, TryStreamExt};
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::controller::{ReconcileRequest, trigger_with};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::super::crd::Tenant;
use super::super::render::{TENANT_LABEL, namespace};
use super::super::target::api_resource;

/// How long a reconcile waits for the events of its tenant's last writes.
pub(super) const EXPECTATION_TTL: Duration = Duration::from_secs(10);

/// The kinds a tenant is rendered to, watched by coplane's label.
pub(super) const CHILD_KINDS: [&str; 6] = [
    "Namespace",
    "ResourceQuota",
    "LimitRange",
    "NetworkPolicy",
    "Role",
    "RoleBinding",
];

/// The kinds suspension scales or suspends, whoever made them.
pub(super) const WORKLOAD_KINDS: [&str; 3] = ["Deployment", "StatefulSet", "CronJob"];

/// A trigger stream for the tenant controller.
pub(super) type Triggers = BoxStream<'static, Result<ReconcileRequest<Tenant>, watcher::Error>>;

/// An object the operator wrote: kind, namespace ("" if none), name.
type Key = (&'static str, String, String);

/// The writes of one tenant whose events have not been seen yet: for each
/// object, the resourceVersions (`None`: absent) its writes replaced.
struct Expectation {
    replaced: HashMap<Key, Vec<Option<String>>>,
    until: Instant,
}

/// The copies, by kind, and the expectations, by tenant.
pub(super) struct Caches {
    kinds: BTreeMap<&'static str, (ApiResource, Store<DynamicObject>)>,
    ready: Shared<BoxFuture<'static, Result<(), &'static str>>>,
    expected: Mutex<HashMap<String, Expectation>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The tenant whose namespace `ns` is (`coplane-<slug>`), if any.
fn tenant_of_namespace(ns: &str) -> Option<ObjectRef<Tenant>> {
    let slug = ns.strip_prefix(namespace("").as_str())?;
    (!slug.is_empty()).then(|| ObjectRef::new(slug))
}

/// What suspension reads of a workload: its annotations, replicas and
/// `suspend`. The rest (pod template, status) is dropped so that a copy of
/// every workload in the cluster stays small.
fn trim_workload(object: &mut DynamicObject) {
    let mut spec = Map::new();
    for field in ["replicas", "suspend"] {
        if let Some(v) = object.data["spec"].get(field) {
            spec.insert(field.to_owned(), v.clone());
        }
    }
    let mut data = Map::new();
    data.insert("spec".to_owned(), Value::Object(spec));
    object.data = Value::Object(data);
}

impl Caches {
    /// Starts nothing: returns the copies and the streams that fill them
    /// (and trigger reconciles) once polled.
    pub(super) fn watch(client: &Client) -> anyhow::Result<(Arc<Self>, Vec<Triggers>)> {
        let mut kinds = BTreeMap::new();
        let mut triggers = Vec::new();
        let labelled = watcher::Config::default().labels("app.kubernetes.io/managed-by=coplane");
        for (kind, config, workload) in CHILD_KINDS
            .iter()
            .map(|k| (*k, labelled.clone(), false))
            .chain(
                WORKLOAD_KINDS
                    .iter()
                    .map(|k| (*k, watcher::Config::default(), true)),
            )
        {
            let (ar, _) =
                api_resource(kind).ok_or_else(|| anyhow::anyhow!("unknown kind {kind}"))?;
            let writer = reflector::store::Writer::<DynamicObject>::new(ar.clone());
            let store = writer.as_reader();
            let events = watcher(Api::all_with(client.clone(), &ar), config)
                .default_backoff()
                .modify(move |o: &mut DynamicObject| {
                    o.metadata.managed_fields = None;
                    if workload {
                        trim_workload(o);
                    }
                })
                .reflect(writer)
                .touched_objects()
                .map_err(|e| {
                    tracing::debug!(error.message = %e, "a watch failed; it restarts");
                    e
                });
            let stream = trigger_with(events, move |o: DynamicObject| {
                if workload {
                    o.namespace().as_deref().and_then(tenant_of_namespace)
                } else {
                    o.labels()
                        .get(TENANT_LABEL)
                        .map(|slug| ObjectRef::new(slug))
                }
            });
            triggers.push(stream.boxed());
            kinds.insert(kind, (ar, store));
        }
        // One future awaits the stores, shared by every reconcile: a
        // store's own wait wakes only the last of several waiting tasks.
        let stores: Vec<_> = kinds
            .iter()
            .map(|(kind, (_, store))| (*kind, store.clone()))
            .collect();
        let ready = async move {
            for (kind, store) in stores {
                store.wait_until_ready().await.map_err(|_| kind)?;
            }
            Ok(())
        }
        .boxed()
        .shared();
        let caches = Self {
            kinds,
            ready,
            expected: Mutex::new(HashMap::new()),
        };
        Ok((Arc::new(caches), triggers))
    }

    /// Waits until every copy holds its first full listing.
    pub(super) async fn ready(&self) -> anyhow::Result<()> {
        self.ready
            .clone()
            .await
            .map_err(|kind| anyhow::anyhow!("the watch of {kind} has stopped"))
    }

    /// The copy of an object.
    pub(super) fn get(
        &self,
        kind: &str,
        ns: Option<&str>,
        name: &str,
    ) -> Option<Arc<DynamicObject>> {
        let (ar, store) = self.kinds.get(kind)?;
        let mut key = ObjectRef::new_with(name, ar.clone());
        if let Some(ns) = ns {
            key = key.within(ns);
        }
        store.get(&key)
    }

    /// The copies of a kind's objects in a namespace, by name.
    pub(super) fn list(&self, kind: &str, ns: &str) -> Vec<Arc<DynamicObject>> {
        let Some((_, store)) = self.kinds.get(kind) else {
            return Vec::new();
        };
        let mut objects = store.state_filter(|o| o.metadata.namespace.as_deref() == Some(ns));
        objects.sort_by_key(|o| o.name_any());
        objects
    }

    /// Remembers that a write to `kind`/`ns`/`name`, for `tenant`, replaced
    /// version `before` with `after`. A write that changed nothing (same
    /// version) is not waited for.
    pub(super) fn expect(
        &self,
        tenant: &str,
        kind: &'static str,
        ns: Option<&str>,
        name: &str,
        before: Option<String>,
        after: Option<String>,
    ) {
        if before == after {
            return;
        }
        let now = Instant::now();
        let mut expected = lock(&self.expected);
        if !expected.contains_key(tenant) {
            // Tenants deleted meanwhile leave theirs behind.
            expected.retain(|_, e| e.until > now);
        }
        let e = expected
            .entry(tenant.to_owned())
            .or_insert_with(|| Expectation {
                replaced: HashMap::new(),
                until: now,
            });
        e.until = now + EXPECTATION_TTL;
        e.replaced
            .entry((kind, ns.unwrap_or("").to_owned(), name.to_owned()))
            .or_default()
            .push(before);
    }

    /// Whether the copies (and `tenant`, the controller's copy of it) still
    /// show a version a write of this tenant replaced: then how long to wait
    /// at most. Forgets the tenant's expectations once met or expired.
    pub(super) fn awaiting(&self, tenant: &Tenant) -> Option<Duration> {
        let name = tenant.name_any();
        let mut expected = lock(&self.expected);
        let e = expected.get(&name)?;
        let now = Instant::now();
        let waiting = e.until > now
            && e.replaced.iter().any(|((kind, ns, n), replaced)| {
                let current = if *kind == "Tenant" {
                    tenant.meta().resource_version.clone()
                } else {
                    let ns = (!ns.is_empty()).then_some(ns.as_str());
                    self.get(kind, ns, n)
                        .and_then(|o| o.metadata.resource_version.clone())
                };
                replaced.contains(&current)
            });
        if waiting {
            Some(e.until - now)
        } else {
            expected.remove(&name);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_workload_namespace_names_its_tenant() {
        assert_eq!(
            tenant_of_namespace("coplane-acme"),
            Some(ObjectRef::new("acme"))
        );
        assert_eq!(tenant_of_namespace("coplane-"), None);
        assert_eq!(tenant_of_namespace("kube-system"), None);
    }

    #[test]
    fn a_workload_copy_keeps_only_what_suspension_reads() {
        let mut o: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": { "name": "web", "annotations": { "a": "b" } },
            "spec": { "replicas": 3, "template": { "spec": { "containers": [] } } },
            "status": { "availableReplicas": 3 },
        }))
        .unwrap();
        trim_workload(&mut o);
        assert_eq!(o.data, json!({ "spec": { "replicas": 3 } }));
        assert_eq!(o.annotations()["a"], "b");
    }
}
