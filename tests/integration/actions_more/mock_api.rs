//! A small in-memory Kubernetes API for what the real 1.20 server cannot show: the current API
//! versions (batch/v1 CronJob, autoscaling/v2 HPA, policy/v1 Eviction) and Job suspension.
//! kube's tower-test pattern — a `tower` service behind `kube::Client::new` — with state: it
//! keeps objects by path and answers get, list (with name, node and label selectors), a watch
//! that stays open, merge patches with dry-run and resourceVersion preconditions, create,
//! delete and scripted evictions, and records every request for the test to read.

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use serde_json::{Value, json};

/// One request as the mock saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: Value,
}

#[derive(Default)]
struct State {
    objects: BTreeMap<String, Value>,
    version: u64,
    requests: Vec<Recorded>,
    evictions: VecDeque<(u16, Value)>,
}

#[derive(Clone, Default)]
pub struct MockApi(Arc<Mutex<State>>);

type Body = BoxBody<Bytes, Infallible>;

impl MockApi {
    pub fn client(&self) -> kube::Client {
        let api = self.clone();
        let service = tower::service_fn(move |req: Request<kube::client::Body>| {
            let api = api.clone();
            async move { Ok::<_, Infallible>(api.handle(req).await) }
        });
        kube::Client::new(service, "default")
    }

    /// Stores an object under its API path (`/apis/batch/v1/namespaces/ns/jobs/x`), with a uid
    /// and resourceVersion.
    pub fn insert(&self, path: &str, mut obj: Value) {
        let mut s = self.0.lock().unwrap();
        s.version += 1;
        obj["metadata"]["resourceVersion"] = json!(s.version.to_string());
        if obj["metadata"]["uid"].is_null() {
            obj["metadata"]["uid"] = json!(format!("uid-{}", s.version));
        }
        s.objects.insert(path.to_string(), obj);
    }

    pub fn get(&self, path: &str) -> Option<Value> {
        self.0.lock().unwrap().objects.get(path).cloned()
    }

    /// Changes a stored object as a controller would (status), bumping its resourceVersion.
    pub fn update(&self, path: &str, change: impl FnOnce(&mut Value)) {
        let mut s = self.0.lock().unwrap();
        s.version += 1;
        let v = s.version.to_string();
        if let Some(obj) = s.objects.get_mut(path) {
            change(obj);
            obj["metadata"]["resourceVersion"] = json!(v);
        }
    }

    /// The next evictions answer with these codes and bodies (then 201 Success).
    pub fn script_eviction(&self, code: u16, body: Value) {
        self.0.lock().unwrap().evictions.push_back((code, body));
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.0.lock().unwrap().requests.clone()
    }

    async fn handle(&self, req: Request<kube::client::Body>) -> Response<Body> {
        let method = req.method().to_string();
        let path = req.uri().path().to_string();
        let query = req.uri().query().unwrap_or("").to_string();
        let bytes = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let params: BTreeMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let mut s = self.0.lock().unwrap();
        s.requests.push(Recorded {
            method: method.clone(),
            path: path.clone(),
            query: query.clone(),
            body: body.clone(),
        });
        let dry_run = params.get("dryRun").is_some_and(|d| d == "All");
        if path == "/api/v1" {
            return reply(
                200,
                json!({"kind": "APIResourceList", "groupVersion": "v1", "resources": [
                    {"name": "pods", "singularName": "", "namespaced": true, "kind": "Pod", "verbs": ["get", "list"]},
                    {"name": "pods/eviction", "singularName": "", "namespaced": true, "group": "policy",
                     "version": "v1", "kind": "Eviction", "verbs": ["create"]},
                ]}),
            );
        }
        match method.as_str() {
            "GET" if params.get("watch").is_some_and(|w| w == "true") => watch_forever(),
            "GET" => match s.objects.get(&path) {
                Some(obj) => reply(200, obj.clone()),
                None if is_collection(&path) => {
                    let items: Vec<Value> = s
                        .objects
                        .iter()
                        .filter(|(p, o)| in_collection(&path, p) && selected(o, &params))
                        .map(|(_, o)| o.clone())
                        .collect();
                    let rv = s.version.to_string();
                    reply(
                        200,
                        json!({"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": rv}, "items": items}),
                    )
                }
                None => not_found(&path),
            },
            "PATCH" => {
                let Some(current) = s.objects.get(&path).cloned() else {
                    return not_found(&path);
                };
                let want_rv = body.pointer("/metadata/resourceVersion").cloned();
                if want_rv.is_some()
                    && want_rv.as_ref() != current.pointer("/metadata/resourceVersion")
                {
                    return reply(409, status(409, "Conflict", "the object has been modified"));
                }
                let mut next = current.clone();
                merge_patch(&mut next, &body);
                if !dry_run {
                    s.version += 1;
                    next["metadata"]["resourceVersion"] = json!(s.version.to_string());
                    if next["spec"] != current["spec"] {
                        let g = current["metadata"]["generation"].as_i64().unwrap_or(1) + 1;
                        next["metadata"]["generation"] = json!(g);
                    }
                    s.objects.insert(path, next.clone());
                }
                reply(200, next)
            }
            "POST" if path.ends_with("/eviction") => {
                let pod = path.trim_end_matches("/eviction").to_string();
                let (code, answer) = s.evictions.pop_front().unwrap_or((
                    201,
                    json!({"kind": "Status", "status": "Success", "code": 201}),
                ));
                if code < 300 && !dry_run {
                    s.objects.remove(&pod);
                }
                reply(code, answer)
            }
            "POST" => {
                let name = body
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let at = format!("{path}/{name}");
                if s.objects.contains_key(&at) {
                    return reply(409, status(409, "AlreadyExists", "already exists"));
                }
                let mut obj = body.clone();
                s.version += 1;
                obj["metadata"]["uid"] = json!(format!("uid-{}", s.version));
                obj["metadata"]["resourceVersion"] = json!(s.version.to_string());
                obj["metadata"]["generation"] = json!(1);
                if !dry_run {
                    s.objects.insert(at, obj.clone());
                }
                reply(201, obj)
            }
            "DELETE" => match s.objects.get(&path).cloned() {
                Some(obj) => {
                    if !dry_run {
                        s.objects.remove(&path);
                    }
                    reply(200, obj)
                }
                None => not_found(&path),
            },
            _ => reply(405, status(405, "MethodNotAllowed", "not in the mock")),
        }
    }
}

/// RFC 7386: objects merge, `null` removes, anything else replaces.
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

/// `/api/v1/namespaces/ns/pods` or `/api/v1/pods` (an even number of segments after the
/// group/version for a namespaced collection, as Kubernetes paths go).
fn is_collection(path: &str) -> bool {
    let rest = strip_group_version(path);
    let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    matches!(parts.as_slice(), [_plural] | ["namespaces", _, _plural])
}

fn strip_group_version(path: &str) -> &str {
    if let Some(r) = path.strip_prefix("/api/v1") {
        return r;
    }
    let r = path.strip_prefix("/apis/").unwrap_or(path);
    let mut it = r.splitn(3, '/');
    let _group = it.next();
    let _version = it.next();
    it.next().unwrap_or("")
}

/// Whether the object at `object` belongs to the collection `collection` (all namespaces when
/// the collection names none).
fn in_collection(collection: &str, object: &str) -> bool {
    let prefix_len = collection.len() - strip_group_version(collection).len();
    if object.len() < prefix_len || object[..prefix_len] != collection[..prefix_len] {
        return false;
    }
    let c: Vec<&str> = strip_group_version(collection)
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    let o: Vec<&str> = strip_group_version(object)
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    match (c.as_slice(), o.as_slice()) {
        (["namespaces", ns, plural], ["namespaces", ons, oplural, _]) => {
            ns == ons && plural == oplural
        }
        ([plural], ["namespaces", _, oplural, _]) => plural == oplural,
        ([plural], [oplural, _]) => plural == oplural,
        _ => false,
    }
}

/// Field selectors `metadata.name=` and `spec.nodeName=`, label selectors of `k=v` terms.
fn selected(obj: &Value, params: &BTreeMap<String, String>) -> bool {
    let fields_ok = params.get("fieldSelector").is_none_or(|f| {
        f.split(',').all(|term| match term.split_once('=') {
            Some(("metadata.name", v)) => obj["metadata"]["name"] == v,
            Some(("spec.nodeName", v)) => obj["spec"]["nodeName"] == v,
            _ => true,
        })
    });
    let labels_ok = params.get("labelSelector").is_none_or(|l| {
        l.split(',').all(|term| match term.split_once('=') {
            Some((k, v)) => obj["metadata"]["labels"][k] == v,
            None => true,
        })
    });
    fields_ok && labels_ok
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason, "message": message})
}

fn not_found(path: &str) -> Response<Body> {
    reply(404, status(404, "NotFound", &format!("{path} not found")))
}

fn reply(code: u16, body: Value) -> Response<Body> {
    let bytes = Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
    let mut r = Response::new(Full::new(bytes).boxed());
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}

/// A watch that never sends an event: the list before it already showed the state.
fn watch_forever() -> Response<Body> {
    let stream = futures::stream::pending::<Result<hyper::body::Frame<Bytes>, Infallible>>();
    Response::new(StreamBody::new(stream).boxed())
}
