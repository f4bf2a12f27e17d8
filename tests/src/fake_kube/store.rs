//! The store: objects keyed by kind, namespace and name, the event log,
//! and the writes that go through `commit` (create, replace, delete).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::gc::{cascade, orphaned, remove};
use super::kinds::{KINDS, Kind};

pub(super) type Path = Vec<String>;
pub(super) type Key = (usize, String, String);

pub(super) struct Stored {
    pub(super) object: Value,
    pub(super) managed: BTreeMap<String, BTreeSet<Path>>,
}

#[derive(Clone)]
pub(super) struct Event {
    pub(super) rv: u64,
    pub(super) kind: usize,
    pub(super) namespace: String,
    pub(super) kind_of_event: &'static str,
    pub(super) object: Value,
}

#[derive(Default)]
pub(super) struct Store {
    pub(super) rv: u64,
    pub(super) objects: BTreeMap<Key, Stored>,
    /// How many of `objects` have each uid, so that whether an owner still
    /// exists is found without scanning every object on every write (which
    /// made each write cost as much as the store is large; an API server's
    /// writes do not).
    uids: HashMap<String, usize>,
    pub(super) log: Vec<Event>,
}

/// An object's uid.
fn uid(object: &Value) -> Option<&str> {
    object["metadata"]["uid"].as_str()
}

impl Store {
    /// Stores `stored` under `key`, returning what it replaces.
    pub(super) fn insert(&mut self, key: Key, stored: Stored) -> Option<Stored> {
        if let Some(new) = uid(&stored.object) {
            *self.uids.entry(new.to_owned()).or_default() += 1;
        }
        let old = self.objects.insert(key, stored);
        if let Some(old) = &old {
            self.forget_uid(&old.object);
        }
        old
    }

    /// Removes what is stored under `key`.
    pub(super) fn remove(&mut self, key: &Key) -> Option<Stored> {
        let gone = self.objects.remove(key)?;
        self.forget_uid(&gone.object);
        Some(gone)
    }

    fn forget_uid(&mut self, object: &Value) {
        if let Some(u) = uid(object)
            && let Some(n) = self.uids.get_mut(u)
        {
            *n -= 1;
            if *n == 0 {
                self.uids.remove(u);
            }
        }
    }

    /// Whether an object with this uid is stored.
    pub(super) fn has_uid(&self, uid: &str) -> bool {
        self.uids.contains_key(uid)
    }
}

pub(super) type Answer = Result<Value, (u16, &'static str, String)>;

pub(super) fn not_found(kind: &Kind, name: &str) -> (u16, &'static str, String) {
    (
        404,
        "NotFound",
        format!("{} \"{name}\" not found", kind.plural),
    )
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Everything but metadata and status: what `generation` counts.
fn spec_of(object: &Value) -> Value {
    let mut v = object.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("metadata");
        m.remove("status");
    }
    v
}

/// The object without what the server maintains, for "did anything change".
fn comparable(object: &Value) -> Value {
    let mut v = object.clone();
    if let Some(m) = v["metadata"].as_object_mut() {
        m.remove("resourceVersion");
        m.remove("generation");
    }
    v
}

/// Stores `object` under `key`, keeping server fields; emits the event.
pub(super) fn commit(
    store: &mut Store,
    events: &broadcast::Sender<Event>,
    key: Key,
    mut object: Value,
    managed: BTreeMap<String, BTreeSet<Path>>,
) -> Value {
    let kind = key.0;
    let old = store.objects.get(&key);
    if let Some(old) = old
        && comparable(&old.object) == comparable(&object)
    {
        let current = old.object.clone();
        if let Some(s) = store.objects.get_mut(&key) {
            s.managed = managed;
        }
        return current;
    }
    store.rv += 1;
    let generation = match old {
        None => 1,
        Some(o) => {
            let g = o.object["metadata"]["generation"].as_i64().unwrap_or(1);
            if spec_of(&o.object) == spec_of(&object) {
                g
            } else {
                g + 1
            }
        }
    };
    let meta = object["metadata"]
        .as_object_mut()
        .map(std::mem::take)
        .unwrap_or_default();
    let mut meta = meta;
    meta.insert("resourceVersion".into(), json!(store.rv.to_string()));
    meta.insert("generation".into(), json!(generation));
    meta.entry("uid")
        .or_insert_with(|| json!(uuid::Uuid::new_v4().to_string()));
    meta.entry("creationTimestamp")
        .or_insert_with(|| json!(now()));
    let k = &KINDS[kind];
    if k.namespaced {
        meta.insert("namespace".into(), json!(key.1));
    }
    object["metadata"] = Value::Object(meta);
    object["apiVersion"] = json!(k.api_version());
    object["kind"] = json!(k.kind);
    let deleting = object["metadata"]["deletionTimestamp"].is_string();
    let finalizers_empty = object["metadata"]["finalizers"]
        .as_array()
        .is_none_or(Vec::is_empty);
    let created = old.is_none();
    let event = if deleting && finalizers_empty {
        store.remove(&key);
        "DELETED"
    } else {
        store.insert(
            key.clone(),
            Stored {
                object: object.clone(),
                managed,
            },
        );
        if created { "ADDED" } else { "MODIFIED" }
    };
    let e = Event {
        rv: store.rv,
        kind,
        namespace: key.1.clone(),
        kind_of_event: event,
        object: object.clone(),
    };
    store.log.push(e.clone());
    let _ = events.send(e);
    if event == "DELETED" {
        let namespace = (k.kind == "Namespace").then(|| key.2.clone());
        cascade(store, events, namespace, &object);
    } else if orphaned(store, &object) {
        // The garbage collector removes a dependent whose owners are all
        // gone (here at once, in the cluster shortly after).
        remove(store, events, &key);
    }
    object
}

pub(super) fn create(
    store: &mut Store,
    events: &broadcast::Sender<Event>,
    kind: usize,
    namespace: &str,
    object: Value,
) -> Answer {
    let name = object["metadata"]["name"]
        .as_str()
        .ok_or((422, "Invalid", "metadata.name is required".to_owned()))?
        .to_owned();
    let key = (kind, namespace.to_owned(), name.clone());
    if store.objects.contains_key(&key) {
        return Err((
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", KINDS[kind].plural),
        ));
    }
    Ok(commit(store, events, key, object, BTreeMap::new()))
}

pub(super) fn replace(
    store: &mut Store,
    events: &broadcast::Sender<Event>,
    kind: usize,
    namespace: &str,
    name: &str,
    mut object: Value,
    is_status: bool,
) -> Answer {
    let key = (kind, namespace.to_owned(), name.to_owned());
    let old = store
        .objects
        .get(&key)
        .ok_or_else(|| not_found(&KINDS[kind], name))?;
    let sent_rv = object["metadata"]["resourceVersion"]
        .as_str()
        .map(str::to_owned);
    if sent_rv
        .is_some_and(|rv| Some(rv.as_str()) != old.object["metadata"]["resourceVersion"].as_str())
    {
        return Err((
            409,
            "Conflict",
            "the object has been modified; please apply your changes to the latest version".into(),
        ));
    }
    let merged = if is_status {
        let mut o = old.object.clone();
        o["status"] = object["status"].take();
        o
    } else {
        if KINDS[kind].status {
            object["status"] = old.object["status"].clone();
        }
        keep_server_metadata(&old.object, object)
    };
    let managed = old.managed.clone();
    Ok(commit(store, events, key, merged, managed))
}

fn keep_server_metadata(old: &Value, mut new: Value) -> Value {
    for f in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "generation",
    ] {
        if !old["metadata"][f].is_null() {
            new["metadata"][f] = old["metadata"][f].clone();
        }
    }
    new
}

pub(super) fn delete(
    store: &mut Store,
    events: &broadcast::Sender<Event>,
    kind: usize,
    namespace: &str,
    name: &str,
) -> Answer {
    let key = (kind, namespace.to_owned(), name.to_owned());
    let old = store
        .objects
        .get(&key)
        .ok_or_else(|| not_found(&KINDS[kind], name))?;
    let mut object = old.object.clone();
    if object["metadata"]["deletionTimestamp"].is_null() {
        object["metadata"]["deletionTimestamp"] = json!(now());
    }
    let managed = old.managed.clone();
    Ok(commit(store, events, key, object, managed))
}
