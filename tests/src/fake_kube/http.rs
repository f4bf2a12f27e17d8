//! The HTTP side: faults, routing, discovery, LIST and WATCH.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::kinds::KINDS;
use super::patch::{apply, merge};
use super::store::{Answer, Event, Store, create, delete, not_found, replace};
use super::{FaultKind, Recorded, Shared, lock};

fn status(code: u16, reason: &str, message: impl Into<String>) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .json(json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message.into(), "reason": reason, "code": code,
        }))
}

pub(super) async fn handle(
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
