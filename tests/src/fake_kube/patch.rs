//! JSON merge patch and server-side apply (fields owned per manager).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};
use tokio::sync::broadcast;

use super::kinds::KINDS;
use super::store::{Answer, Event, Path, Store, commit, not_found};

fn merge_patch(target: &mut Value, patch: &Value) {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(t), Some(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        _ => *target = patch.clone(),
    }
}

pub(super) fn merge(
    store: &mut Store,
    events: &broadcast::Sender<Event>,
    kind: usize,
    namespace: &str,
    name: &str,
    mut patch: Value,
    is_status: bool,
) -> Answer {
    let key = (kind, namespace.to_owned(), name.to_owned());
    let old = store
        .objects
        .get(&key)
        .ok_or_else(|| not_found(&KINDS[kind], name))?;
    if let Some(rv) = patch["metadata"]["resourceVersion"].as_str()
        && Some(rv) != old.object["metadata"]["resourceVersion"].as_str()
    {
        return Err((
            409,
            "Conflict",
            "the object has been modified; please apply your changes to the latest version".into(),
        ));
    }
    let mut object = old.object.clone();
    if is_status {
        patch = json!({ "status": patch["status"].take() });
    } else if KINDS[kind].status
        && let Some(p) = patch.as_object_mut()
    {
        p.remove("status");
    }
    // `get_mut`, not indexing: indexing would insert a null, and a null in
    // a merge patch deletes.
    if let Some(m) = patch.get_mut("metadata").and_then(Value::as_object_mut) {
        for f in [
            "uid",
            "resourceVersion",
            "generation",
            "creationTimestamp",
            "deletionTimestamp",
        ] {
            m.remove(f);
        }
    }
    merge_patch(&mut object, &patch);
    let managed = old.managed.clone();
    Ok(commit(store, events, key, object, managed))
}

/// The fields an applied object sets: leaves of maps; lists are atomic.
fn leaves(value: &Value, prefix: &mut Path, out: &mut BTreeSet<Path>) {
    match value.as_object() {
        Some(map) if !map.is_empty() => {
            for (k, v) in map {
                prefix.push(k.clone());
                leaves(v, prefix, out);
                prefix.pop();
            }
        }
        _ => {
            out.insert(prefix.clone());
        }
    }
}

fn applied_fields(applied: &Value, status_scope: bool, has_status: bool) -> BTreeSet<Path> {
    let mut all = BTreeSet::new();
    leaves(applied, &mut Vec::new(), &mut all);
    all.into_iter()
        .filter(|p| {
            let top = p.first().map(String::as_str).unwrap_or("");
            let meta_ok = top != "metadata"
                || matches!(
                    p.get(1).map(String::as_str),
                    Some("labels" | "annotations" | "finalizers" | "ownerReferences")
                );
            let scope_ok = if status_scope {
                top == "status"
            } else {
                !(has_status && top == "status")
            };
            top != "apiVersion" && top != "kind" && meta_ok && scope_ok
        })
        .collect()
}

fn get_path<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

fn set_path(v: &mut Value, path: &[String], value: Value) {
    let mut cur = v;
    for k in &path[..path.len().saturating_sub(1)] {
        if !cur.get(k).is_some_and(Value::is_object) {
            cur[k.as_str()] = Value::Object(Map::new());
        }
        cur = &mut cur[k.as_str()];
    }
    if let Some(last) = path.last() {
        cur[last.as_str()] = value;
    }
}

fn remove_path(v: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    if let Some(Value::Object(m)) = parents.iter().try_fold(&mut *v, |v, k| v.get_mut(k)) {
        m.remove(last);
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn apply(
    store: &mut Store,
    events: &broadcast::Sender<Event>,
    kind: usize,
    namespace: &str,
    name: &str,
    applied: Value,
    manager: &str,
    force: bool,
    is_status: bool,
) -> Answer {
    let key = (kind, namespace.to_owned(), name.to_owned());
    let k = &KINDS[kind];
    let scope_key = if is_status {
        format!("{manager}/status")
    } else {
        manager.to_owned()
    };
    let fields = applied_fields(&applied, is_status, k.status);
    if let (Some(rv), Some(s)) = (
        applied["metadata"]["resourceVersion"].as_str(),
        store.objects.get(&key),
    ) && Some(rv) != s.object["metadata"]["resourceVersion"].as_str()
    {
        return Err((
            409,
            "Conflict",
            "the object has been modified; please apply your changes to the latest version".into(),
        ));
    }
    let (mut object, mut managed) = match store.objects.get(&key) {
        Some(s) => (s.object.clone(), s.managed.clone()),
        None if is_status => return Err(not_found(k, name)),
        None => (
            json!({ "apiVersion": k.api_version(), "kind": k.kind, "metadata": { "name": name } }),
            BTreeMap::new(),
        ),
    };
    let conflicts: Vec<String> = fields
        .iter()
        .filter(|p| {
            managed
                .iter()
                .any(|(m, owned)| *m != scope_key && owned.contains(*p))
                && get_path(&object, p) != get_path(&applied, p)
        })
        .map(|p| p.join("."))
        .collect();
    if !conflicts.is_empty() && !force {
        return Err((
            409,
            "Conflict",
            format!(
                "Apply failed with {} conflicts: {}",
                conflicts.len(),
                conflicts.join(", ")
            ),
        ));
    }
    let previous = managed.remove(&scope_key).unwrap_or_default();
    for p in previous.difference(&fields) {
        if !managed.values().any(|owned| owned.contains(p)) {
            remove_path(&mut object, p);
        }
    }
    for p in &fields {
        let value = get_path(&applied, p).cloned();
        // An empty map asserts the map exists; other managers' keys stay.
        let asserts_map = value
            .as_ref()
            .is_some_and(|v| v.as_object().is_some_and(Map::is_empty));
        let has_map = get_path(&object, p).is_some_and(Value::is_object);
        match value {
            Some(_) if asserts_map && has_map => {}
            Some(v) => set_path(&mut object, p, v),
            None => {}
        }
        for owned in managed.values_mut() {
            owned.remove(p);
        }
    }
    managed.insert(scope_key, fields);
    Ok(commit(store, events, key, object, managed))
}
