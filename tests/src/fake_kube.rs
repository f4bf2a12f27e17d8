//! A stateful fake Kubernetes API server for the real kube-rs client.
//!
//! One generic store keyed by kind, namespace and name — not a handler per
//! kind. It keeps `resourceVersion`, `generation`, `uid`, labels,
//! finalizers and `deletionTimestamp`, and serves discovery, GET, LIST with
//! label selectors, WATCH (replay from a resourceVersion, then live events,
//! with bookmarks), create, replace, JSON merge patch, server-side apply
//! (fields owned per manager, conflicts unless forced), DELETE honouring
//! finalizers (a namespace takes its objects with it) and the status
//! subresource. Faults can be injected (status codes, delays, dropped
//! watches) and every request is recorded, so tests can count writes.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Map, Value, json};
use tokio::sync::{broadcast, watch};

/// A kind the server knows.
#[derive(Debug)]
pub struct Kind {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    status: bool,
}

const fn k(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    status: bool,
) -> Kind {
    Kind {
        group,
        version,
        kind,
        plural,
        namespaced,
        status,
    }
}

/// The kinds coplane manages, and those its tenants' workloads use.
pub const KINDS: &[Kind] = &[
    k("", "v1", "Namespace", "namespaces", false, true),
    k("", "v1", "ResourceQuota", "resourcequotas", true, true),
    k("", "v1", "LimitRange", "limitranges", true, false),
    k("", "v1", "Service", "services", true, true),
    k("", "v1", "Secret", "secrets", true, false),
    k("", "v1", "ConfigMap", "configmaps", true, false),
    k(
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
        true,
    ),
    k(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
        false,
    ),
    k(
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        true,
        true,
    ),
    k(
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        "roles",
        true,
        false,
    ),
    k(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        true,
        false,
    ),
    k("apps", "v1", "Deployment", "deployments", true, true),
    k("apps", "v1", "StatefulSet", "statefulsets", true, true),
    k("batch", "v1", "CronJob", "cronjobs", true, true),
    k("coplane.io", "v1alpha1", "Tenant", "tenants", false, true),
    k(
        "coplane.io",
        "v1alpha1",
        "AppInstall",
        "appinstalls",
        true,
        true,
    ),
];

impl Kind {
    fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// A request as received.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// `GET`, `PATCH`…
    pub method: String,
    /// The path.
    pub path: String,
    /// The query string.
    pub query: String,
}

impl Recorded {
    /// Whether it could change something.
    pub fn is_write(&self) -> bool {
        matches!(self.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE")
    }
}

/// What an injected fault does.
#[derive(Clone, Debug)]
pub enum FaultKind {
    /// Answer with this status (409 Conflict, 500…), changing nothing.
    Status(u16),
    /// Wait this long, then serve the request.
    Delay(Duration),
}

/// A fault for the next `times` requests that match.
#[derive(Clone, Debug)]
pub struct Fault {
    /// Only this method (`PATCH`…), or any.
    pub method: Option<&'static str>,
    /// Only paths containing this.
    pub path_contains: String,
    /// What happens.
    pub kind: FaultKind,
    /// How many requests it hits.
    pub times: usize,
}

type Path = Vec<String>;
type Key = (usize, String, String);

struct Stored {
    object: Value,
    managed: BTreeMap<String, BTreeSet<Path>>,
}

#[derive(Clone)]
struct Event {
    rv: u64,
    kind: usize,
    namespace: String,
    kind_of_event: &'static str,
    object: Value,
}

#[derive(Default)]
struct Store {
    rv: u64,
    objects: BTreeMap<Key, Stored>,
    log: Vec<Event>,
}

struct Shared {
    store: Mutex<Store>,
    events: broadcast::Sender<Event>,
    faults: Mutex<Vec<Fault>>,
    requests: Mutex<Vec<Recorded>>,
    drop_watches: watch::Sender<u64>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running fake API server.
pub struct FakeKube {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    shared: Arc<Shared>,
    handle: actix_web::dev::ServerHandle,
}

impl FakeKube {
    /// Starts one on a free port.
    pub async fn start() -> Self {
        let (events, _) = broadcast::channel(16_384);
        let shared = Arc::new(Shared {
            store: Mutex::new(Store::default()),
            events,
            faults: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
            drop_watches: watch::channel(0).0,
        });
        let data = web::Data::new(shared.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(16 << 20))
                .default_service(web::to(handle))
        })
        .workers(2)
        .disable_signals()
        .shutdown_timeout(1)
        .bind("127.0.0.1:0")
        .expect("bind the fake API server");
        let url = format!("http://{}", server.addrs()[0]);
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            url,
            shared,
            handle,
        }
    }

    /// A kube-rs client for it.
    pub fn client(&self) -> kube::Client {
        let config = kube::Config::new(self.url.parse().expect("a URL"));
        kube::Client::try_from(config).expect("a client")
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared.requests).clone()
    }

    /// Requests so far that could change something.
    pub fn writes(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(Recorded::is_write)
            .collect()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.shared.requests).clear();
    }

    /// Injects a fault.
    pub fn inject(&self, fault: Fault) {
        lock(&self.shared.faults).push(fault);
    }

    /// Ends every open watch, as a restarting API server does.
    pub fn drop_watches(&self) {
        self.shared.drop_watches.send_modify(|g| *g += 1);
    }

    /// An object, straight from the store.
    pub fn get(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        let k = KINDS.iter().position(|x| x.kind == kind)?;
        let store = lock(&self.shared.store);
        store
            .objects
            .get(&(k, namespace.unwrap_or("").to_owned(), name.to_owned()))
            .map(|s| s.object.clone())
    }

    /// Objects of a kind, straight from the store.
    pub fn list(&self, kind: &str, namespace: Option<&str>) -> Vec<Value> {
        let Some(k) = KINDS.iter().position(|x| x.kind == kind) else {
            return Vec::new();
        };
        let store = lock(&self.shared.store);
        store
            .objects
            .iter()
            .filter(|((kk, ns, _), _)| *kk == k && namespace.is_none_or(|n| n == ns))
            .map(|(_, s)| s.object.clone())
            .collect()
    }

    /// Writes an object as another actor would (`kubectl apply` by `manager`):
    /// creates or server-side applies it, with force.
    pub fn apply_as(&self, manager: &str, object: Value) -> Value {
        let kind = kind_index(object["kind"].as_str().unwrap_or(""));
        let ns = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        let name = object["metadata"]["name"]
            .as_str()
            .expect("a name")
            .to_owned();
        let mut store = lock(&self.shared.store);
        let result = apply(
            &mut store,
            &self.shared.events,
            kind,
            &ns,
            &name,
            object,
            manager,
            true,
            false,
        );
        result.expect("apply")
    }

    /// Sets an object's status as its controller would (a Deployment's
    /// availability, an install's readiness).
    pub fn set_status(&self, kind: &str, namespace: Option<&str>, name: &str, status: Value) {
        let k = kind_index(kind);
        let mut store = lock(&self.shared.store);
        merge(
            &mut store,
            &self.shared.events,
            k,
            namespace.unwrap_or(""),
            name,
            json!({ "status": status }),
            true,
        )
        .expect("the object exists");
    }

    /// Plays the Deployment controller for one Deployment: its current
    /// generation rolled out, with `available` of its replicas available.
    /// Returns false when there is no such Deployment.
    pub fn roll_out(&self, namespace: &str, name: &str, available: i64) -> bool {
        let Some(d) = self.get("Deployment", Some(namespace), name) else {
            return false;
        };
        let replicas = d["spec"]["replicas"].as_i64().unwrap_or(1);
        self.set_status(
            "Deployment",
            Some(namespace),
            name,
            json!({
                "observedGeneration": d["metadata"]["generation"],
                "replicas": replicas,
                "updatedReplicas": replicas,
                "availableReplicas": available,
            }),
        );
        true
    }

    /// Merge-patches an object as another actor would.
    pub fn merge_patch(&self, kind: &str, namespace: Option<&str>, name: &str, patch: Value) {
        let k = kind_index(kind);
        let mut store = lock(&self.shared.store);
        merge(
            &mut store,
            &self.shared.events,
            k,
            namespace.unwrap_or(""),
            name,
            patch,
            false,
        )
        .expect("the object exists");
    }

    /// Stops the server.
    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

/// The index of a kind in [`KINDS`]; tests only name kinds it has.
fn kind_index(kind: &str) -> usize {
    KINDS
        .iter()
        .position(|x| x.kind == kind)
        .unwrap_or_else(|| panic!("the fake API server does not know {kind}"))
}

fn status(code: u16, reason: &str, message: impl Into<String>) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .json(json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message.into(), "reason": reason, "code": code,
        }))
}

type Answer = Result<Value, (u16, &'static str, String)>;

fn not_found(kind: &Kind, name: &str) -> (u16, &'static str, String) {
    (
        404,
        "NotFound",
        format!("{} \"{name}\" not found", kind.plural),
    )
}

async fn handle(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Arc<Shared>>,
) -> HttpResponse {
    let method = req.method().as_str().to_owned();
    let path = req.path().to_owned();
    let query: BTreeMap<String, String> =
        url::form_urlencoded::parse(req.query_string().as_bytes())
            .into_owned()
            .collect();
    lock(&shared.requests).push(Recorded {
        method: method.clone(),
        path: path.clone(),
        query: req.query_string().to_owned(),
    });

    let fault = {
        let mut faults = lock(&shared.faults);
        let hit = faults.iter().position(|f| {
            f.times > 0 && f.method.is_none_or(|m| m == method) && path.contains(&f.path_contains)
        });
        hit.map(|i| {
            faults[i].times -= 1;
            faults[i].kind.clone()
        })
    };
    match fault {
        Some(FaultKind::Status(code)) => {
            return status(
                code,
                if code == 409 {
                    "Conflict"
                } else {
                    "InternalError"
                },
                "injected fault",
            );
        }
        Some(FaultKind::Delay(d)) => tokio::time::sleep(d).await,
        None => {}
    }

    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest): (&str, &str, &[&str]) = match segments.as_slice() {
        ["api"] => return HttpResponse::Ok().json(
            json!({ "kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [] }),
        ),
        ["apis"] => return HttpResponse::Ok().json(group_list()),
        ["api", v] => return HttpResponse::Ok().json(resource_list("", v)),
        ["apis", g, v] => return HttpResponse::Ok().json(resource_list(g, v)),
        ["api", v, rest @ ..] => ("", v, rest),
        ["apis", g, v, rest @ ..] => (g, v, rest),
        _ => return status(404, "NotFound", format!("no route for {path}")),
    };
    let (namespace, rest) = if rest.len() >= 3 && rest[0] == "namespaces" {
        (rest[1], &rest[2..])
    } else {
        ("", rest)
    };
    let Some(kind) = KINDS
        .iter()
        .position(|k| k.group == group && k.version == version && Some(&k.plural) == rest.first())
    else {
        return status(
            404,
            "NotFound",
            format!("the server could not find the requested resource ({path})"),
        );
    };
    let name = rest.get(1).copied();
    let subresource = rest.get(2).copied();
    let is_status = subresource == Some("status");
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();

    if method == "GET" && name.is_none() {
        let watching = query.get("watch").is_some_and(|w| w == "true" || w == "1");
        let selector = query.get("labelSelector").cloned().unwrap_or_default();
        return if watching {
            watch_response(&shared, kind, namespace, &selector, &query)
        } else {
            HttpResponse::Ok().json(list(&lock(&shared.store), kind, namespace, &selector))
        };
    }
    let parsed: Option<Value> = if body.is_empty() {
        None
    } else {
        serde_json::from_slice(&body).ok()
    };
    let mut store = lock(&shared.store);
    let answer: Answer = match (method.as_str(), name) {
        ("GET", Some(name)) => store
            .objects
            .get(&(kind, namespace.to_owned(), name.to_owned()))
            .map(|s| s.object.clone())
            .ok_or_else(|| not_found(&KINDS[kind], name)),
        ("POST", None) => match parsed {
            Some(obj) => create(&mut store, &shared.events, kind, namespace, obj),
            None => Err((400, "BadRequest", "a body is required".into())),
        },
        ("PUT", Some(name)) => match parsed {
            Some(obj) => replace(
                &mut store,
                &shared.events,
                kind,
                namespace,
                name,
                obj,
                is_status,
            ),
            None => Err((400, "BadRequest", "a body is required".into())),
        },
        ("PATCH", Some(name)) => match parsed {
            Some(patch) if content_type.starts_with("application/apply-patch") => {
                let manager = query.get("fieldManager").cloned().unwrap_or_default();
                if manager.is_empty() {
                    Err((
                        422,
                        "Invalid",
                        "fieldManager is required for apply patches".into(),
                    ))
                } else {
                    let force = query.get("force").is_some_and(|f| f == "true");
                    apply(
                        &mut store,
                        &shared.events,
                        kind,
                        namespace,
                        name,
                        patch,
                        &manager,
                        force,
                        is_status,
                    )
                }
            }
            Some(patch)
                if content_type.starts_with("application/merge-patch")
                    || content_type.starts_with("application/strategic-merge-patch") =>
            {
                merge(
                    &mut store,
                    &shared.events,
                    kind,
                    namespace,
                    name,
                    patch,
                    is_status,
                )
            }
            Some(_) => Err((
                415,
                "UnsupportedMediaType",
                format!("unsupported patch type {content_type}"),
            )),
            None => Err((400, "BadRequest", "a body is required".into())),
        },
        ("DELETE", Some(name)) => delete(&mut store, &shared.events, kind, namespace, name),
        _ => Err((405, "MethodNotAllowed", format!("{method} {path}"))),
    };
    match answer {
        Ok(obj) => HttpResponse::Ok().json(obj),
        Err((code, reason, message)) => status(code, reason, message),
    }
}

fn group_list() -> Value {
    let mut groups: BTreeMap<&str, &str> = BTreeMap::new();
    for k in KINDS.iter().filter(|k| !k.group.is_empty()) {
        groups.insert(k.group, k.version);
    }
    json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": groups.iter().map(|(g, v)| {
        let gv = json!({ "groupVersion": format!("{g}/{v}"), "version": v });
        json!({ "name": g, "versions": [gv.clone()], "preferredVersion": gv })
    }).collect::<Vec<_>>() })
}

fn resource_list(group: &str, version: &str) -> Value {
    let mut resources = Vec::new();
    for k in KINDS
        .iter()
        .filter(|k| k.group == group && k.version == version)
    {
        let verbs = [
            "create", "delete", "get", "list", "patch", "update", "watch",
        ];
        resources.push(json!({ "name": k.plural, "singularName": k.kind.to_lowercase(), "namespaced": k.namespaced, "kind": k.kind, "verbs": verbs }));
        if k.status {
            resources.push(json!({ "name": format!("{}/status", k.plural), "singularName": "", "namespaced": k.namespaced, "kind": k.kind, "verbs": ["get", "patch", "update"] }));
        }
    }
    let gv = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    json!({ "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources })
}

fn matches_selector(object: &Value, selector: &str) -> bool {
    let labels = &object["metadata"]["labels"];
    selector
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .all(|term| {
            if let Some((k, v)) = term.split_once("!=") {
                labels[k.trim()].as_str() != Some(v.trim())
            } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                labels[k.trim()].as_str() == Some(v.trim())
            } else if let Some(k) = term.strip_prefix('!') {
                labels.get(k).is_none()
            } else {
                labels.get(term).is_some()
            }
        })
}

fn list(store: &Store, kind: usize, namespace: &str, selector: &str) -> Value {
    let k = &KINDS[kind];
    let items: Vec<Value> = store
        .objects
        .iter()
        .filter(|((kk, ns, _), s)| {
            *kk == kind
                && (namespace.is_empty() || ns == namespace)
                && matches_selector(&s.object, selector)
        })
        .map(|(_, s)| s.object.clone())
        .collect();
    json!({ "apiVersion": k.api_version(), "kind": format!("{}List", k.kind), "metadata": { "resourceVersion": store.rv.to_string() }, "items": items })
}

fn watch_response(
    shared: &Arc<Shared>,
    kind: usize,
    namespace: &str,
    selector: &str,
    query: &BTreeMap<String, String>,
) -> HttpResponse {
    let since: u64 = query
        .get("resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let bookmarks = query
        .get("allowWatchBookmarks")
        .is_some_and(|b| b == "true");
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|t| t.parse().ok())
        .unwrap_or(300u64);
    let matching = {
        let (ns, sel) = (namespace.to_owned(), selector.to_owned());
        move |e: &Event| {
            e.kind == kind
                && (ns.is_empty() || e.namespace == ns)
                && matches_selector(&e.object, &sel)
        }
    };
    // Subscribe before reading the log, so nothing falls between them.
    let rx = shared.events.subscribe();
    let drop_rx = shared.drop_watches.subscribe();
    let mut queue = VecDeque::new();
    {
        let store = lock(&shared.store);
        if since == 0 {
            for ((kk, ns, _), s) in &store.objects {
                if *kk == kind
                    && (namespace.is_empty() || ns == namespace)
                    && matches_selector(&s.object, selector)
                {
                    queue.push_back(json!({ "type": "ADDED", "object": s.object }));
                }
            }
        } else {
            for e in store.log.iter().filter(|e| e.rv > since && matching(e)) {
                queue.push_back(json!({ "type": e.kind_of_event, "object": e.object }));
            }
        }
        if bookmarks {
            let k = &KINDS[kind];
            queue.push_back(json!({ "type": "BOOKMARK", "object": { "apiVersion": k.api_version(), "kind": k.kind, "metadata": { "resourceVersion": store.rv.to_string() } } }));
        }
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
    let state = (queue, rx, drop_rx, matching);
    let stream = futures::stream::unfold(
        state,
        move |(mut queue, mut rx, mut drop_rx, matching)| async move {
            loop {
                if let Some(line) = queue.pop_front() {
                    let mut bytes = serde_json::to_vec(&line).unwrap_or_default();
                    bytes.push(b'\n');
                    return Some((
                        Ok::<_, actix_web::Error>(web::Bytes::from(bytes)),
                        (queue, rx, drop_rx, matching),
                    ));
                }
                tokio::select! {
                    event = rx.recv() => match event {
                        Ok(e) if matching(&e) => queue.push_back(json!({ "type": e.kind_of_event, "object": e.object })),
                        Ok(_) => {}
                        Err(_) => return None,
                    },
                    _ = drop_rx.changed() => return None,
                    () = tokio::time::sleep_until(deadline) => return None,
                }
            }
        },
    );
    HttpResponse::Ok()
        .content_type("application/json")
        .streaming(stream)
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
fn commit(
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
        store.objects.remove(&key);
        "DELETED"
    } else {
        store.objects.insert(
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

/// Removes an object at once, announcing it; returns what was stored.
fn remove(store: &mut Store, events: &broadcast::Sender<Event>, key: &Key) -> Option<Stored> {
    let gone = store.objects.remove(key)?;
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
fn orphaned(store: &Store, object: &Value) -> bool {
    let Some(refs) = object["metadata"]["ownerReferences"].as_array() else {
        return false;
    };
    !refs.is_empty()
        && refs.iter().all(|r| {
            !store
                .objects
                .values()
                .any(|s| s.object["metadata"]["uid"] == r["uid"])
        })
}

/// What the API server and its garbage collector do after a deletion: a
/// deleted namespace takes its objects with it, and a deleted owner its
/// dependents (those naming its uid in `ownerReferences`), transitively.
fn cascade(
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

fn create(
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

fn replace(
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

fn merge(
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
fn apply(
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

fn delete(
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
