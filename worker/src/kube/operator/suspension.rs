//! Suspension and resumption of a tenant's workloads, decided on the
//! operator's copies of them.
//!
//! The record is the annotation on each workload, written in the same patch
//! that scales it; the tenant's status keeps a copy, used when an annotation
//! is missing or not a count. One workload that cannot be patched does not
//! stop the others: the first error is returned after all were tried.

use std::collections::BTreeMap;

use kube::ResourceExt;
use kube::api::{DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

use super::super::controller::Error;
use super::super::render::{SUSPENDED_CRONJOB, SUSPENDED_REPLICAS};
use super::super::target::dynamic_api;
use super::Operator;

/// The patch that brings a Deployment or StatefulSet to where suspension
/// wants it, and the count to record for it (when suspended). `None` for
/// the patch: nothing to change; `Err`: its record is unreadable and it is
/// left alone.
fn scale(
    suspended: bool,
    object: &DynamicObject,
    prior: Option<i64>,
) -> Result<(Option<Value>, Option<i64>), ()> {
    let replicas = object.data["spec"]["replicas"].as_i64().unwrap_or(1);
    let annotation = object.annotations().get(SUSPENDED_REPLICAS);
    let annotated: Option<i64> = annotation
        .and_then(|v| v.parse().ok())
        .filter(|n: &i64| *n >= 0);
    let before = annotated.or(prior);
    // Marked but unreadable, with no record to fall back on: the count is
    // unknown, and the current (zero) count must not stand in for it.
    if annotation.is_some() && before.is_none() {
        return Err(());
    }
    let patch = match (suspended, before) {
        (true, None) => Some(json!({
            "metadata": { "annotations": { SUSPENDED_REPLICAS: replicas.to_string() } },
            "spec": { "replicas": 0 },
        })),
        // Scaled up while suspended, or the annotation was lost: back to
        // zero, and the record back on the workload.
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
    Ok((patch, suspended.then(|| before.unwrap_or(replicas))))
}

/// The patch that suspends a CronJob (recording its `suspend`) or gives it
/// back what was recorded.
fn suspend_cronjob(suspended: bool, object: &DynamicObject) -> Option<Value> {
    let was = object.data["spec"]["suspend"].as_bool().unwrap_or(false);
    let before: Option<bool> = object
        .annotations()
        .get(SUSPENDED_CRONJOB)
        .and_then(|v| v.parse().ok());
    match (suspended, before) {
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
    }
}

impl Operator {
    /// Scales `namespace`'s workloads to zero (recording what they had) or
    /// back to what was recorded. Returns the recorded counts by
    /// `Kind/name`.
    pub(super) async fn suspension(
        &self,
        tenant: &str,
        namespace: &str,
        suspended: bool,
        prior: &BTreeMap<String, i32>,
    ) -> Result<BTreeMap<String, i32>, Error> {
        let mut recorded = BTreeMap::new();
        let mut first_error: Option<Error> = None;
        for kind in ["Deployment", "StatefulSet", "CronJob"] {
            for object in self.caches.list(kind, namespace) {
                let name = object.name_any();
                let key = format!("{kind}/{name}");
                let patch = if kind == "CronJob" {
                    suspend_cronjob(suspended, &object)
                } else {
                    let prior = prior.get(&key).map(|n| i64::from(*n));
                    match scale(suspended, &object, prior) {
                        Ok((patch, record)) => {
                            if let Some(n) = record {
                                recorded.insert(key, i32::try_from(n).unwrap_or(i32::MAX));
                            }
                            patch
                        }
                        Err(()) => {
                            tracing::warn!(%namespace, workload = %name, "suspension record unreadable; left as it is");
                            continue;
                        }
                    }
                };
                let Some(patch) = patch else { continue };
                let api = dynamic_api(&self.ctx.client, kind, Some(namespace))?;
                match api
                    .patch(&name, &PatchParams::default(), &Patch::Merge(patch))
                    .await
                {
                    Ok(written) => self.caches.expect(
                        tenant,
                        kind,
                        Some(namespace),
                        &name,
                        object.resource_version(),
                        written.resource_version(),
                    ),
                    Err(e) => {
                        tracing::warn!(%namespace, workload = %name, error.message = %e, "suspending or resuming a workload failed");
                        first_error.get_or_insert(e.into());
                    }
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(recorded),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload(replicas: i64, annotation: Option<&str>) -> DynamicObject {
        let mut o: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": { "name": "web" },
            "spec": { "replicas": replicas },
        }))
        .unwrap();
        if let Some(a) = annotation {
            o.annotations_mut()
                .insert(SUSPENDED_REPLICAS.to_owned(), a.to_owned());
        }
        o
    }

    #[test]
    fn suspension_records_the_count_in_the_patch_that_scales_to_zero() {
        let (patch, record) = scale(true, &workload(3, None), None).unwrap();
        assert_eq!(
            patch.unwrap(),
            json!({ "metadata": { "annotations": { SUSPENDED_REPLICAS: "3" } }, "spec": { "replicas": 0 } })
        );
        assert_eq!(record, Some(3));
        assert_eq!(
            scale(true, &workload(0, Some("3")), None).unwrap(),
            (None, Some(3))
        );
    }

    #[test]
    fn resumption_restores_the_record_or_the_status_copy() {
        let (patch, record) = scale(false, &workload(0, Some("3")), None).unwrap();
        assert_eq!(patch.unwrap()["spec"]["replicas"], 3);
        assert_eq!(record, None);
        let (patch, _) = scale(false, &workload(0, Some("-7")), Some(4)).unwrap();
        assert_eq!(patch.unwrap()["spec"]["replicas"], 4);
        assert!(scale(false, &workload(0, Some("x")), None).is_err());
        assert_eq!(
            scale(false, &workload(2, None), None).unwrap(),
            (None, None)
        );
    }
}
