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

mod gc;
mod http;
mod kinds;
mod patch;
mod store;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use actix_web::{App, HttpServer, web};
use serde_json::{Value, json};
use tokio::sync::{broadcast, watch};

pub use kinds::{KINDS, Kind};

use kinds::kind_index;
use patch::{apply, merge};
use store::{Event, Store};

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
                .default_service(web::to(http::handle))
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
