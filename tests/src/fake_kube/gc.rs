//! Garbage collection: what happens to dependents and namespaced objects
//! once their owner or namespace is gone.

use serde_json::Value;
use tokio::sync::broadcast;

use super::store::{Event, Key, Store, Stored};

/// Removes an object at once, announcing it; returns what was stored.
pub(super) fn remove(
    store: &mut Store,
    events: &broadcast::Sender<Event>,
    key: &Key,
) -> Option<Stored> {
    let gone = store.remove(key)?;
    store.rv += 1;
    let e = Event {
        rv: store.rv,
        kind: key.0,
        namespace: key.1.clone(),
        kind_of_event: "DELETED",
        object: gone.object.clone(),
    };
    store.log.push(e.clone());
    let _ = events.send(e);
    Some(gone)
}

/// Whether `object` names owners and none of them exists.
pub(super) fn orphaned(store: &Store, object: &Value) -> bool {
    let Some(refs) = object["metadata"]["ownerReferences"].as_array() else {
        return false;
    };
    !refs.is_empty()
        && refs
            .iter()
            .all(|r| !r["uid"].as_str().is_some_and(|uid| store.has_uid(uid)))
}

/// What the API server and its garbage collector do after a deletion: a
/// deleted namespace takes its objects with it, and a deleted owner its
/// dependents (those naming its uid in `ownerReferences`), transitively.
pub(super) fn cascade(
    store: &mut Store,
    events: &broadcast::Sender<Event>,
    namespace: Option<String>,
    deleted: &Value,
) {
    let mut owners: Vec<String> = deleted["metadata"]["uid"]
        .as_str()
        .map(str::to_owned)
        .into_iter()
        .collect();
    let owned_by = |object: &Value, uid: &str| {
        object["metadata"]["ownerReferences"]
            .as_array()
            .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid))
    };
    let mut keys: Vec<Key> = match &namespace {
        Some(ns) => store
            .objects
            .keys()
            .filter(|(_, n, _)| n == ns)
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    loop {
        for uid in owners.drain(..) {
            keys.extend(
                store
                    .objects
                    .iter()
                    .filter(|(_, s)| owned_by(&s.object, &uid))
                    .map(|(k, _)| k.clone()),
            );
        }
        if keys.is_empty() {
            break;
        }
        for key in keys.drain(..) {
            if let Some(s) = remove(store, events, &key)
                && let Some(uid) = s.object["metadata"]["uid"].as_str()
            {
                owners.push(uid.to_owned());
            }
        }
    }
}
