//! core/v1 Events as the kubelet and the scheduler write them: one object per distinct
//! (object, source, reason, message), a repeat bumps `count` and `lastTimestamp` instead of
//! creating another object — the aggregation `kubectl describe` shows as `(x4 over 2m)`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use tokio::time::Instant;
use tracing::debug;

use super::error::within;

/// Who reports an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Kubelet,
    Scheduler,
    /// The node lifecycle controller, whose part the sim plays for its own nodes.
    NodeController,
}

impl Source {
    fn component(self) -> &'static str {
        match self {
            Source::Kubelet => "kubelet",
            Source::Scheduler => "default-scheduler",
            Source::NodeController => "node-controller",
        }
    }
}

/// The object an event is about.
#[derive(Debug, Clone)]
pub struct Target {
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub field_path: Option<String>,
    /// The node whose kubelet reports (`source.host`).
    pub host: Option<String>,
}

impl Target {
    pub fn pod(pod: &k8s_openapi::api::core::v1::Pod) -> Self {
        Self {
            kind: "Pod",
            namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            name: pod.metadata.name.clone().unwrap_or_default(),
            uid: pod.metadata.uid.clone().unwrap_or_default(),
            field_path: None,
            host: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
        }
    }

    /// A Node: node events live in `default` and carry the node name as uid, like the
    /// kubelet's.
    pub fn node(name: &str) -> Self {
        Self {
            kind: "Node",
            namespace: "default".into(),
            name: name.into(),
            uid: name.into(),
            field_path: None,
            host: Some(name.into()),
        }
    }

    pub fn with_field_path(mut self, path: Option<String>) -> Self {
        self.field_path = path;
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    namespace: String,
    uid: String,
    field_path: Option<String>,
    source: Source,
    warning: bool,
    reason: String,
    message: String,
}

#[derive(Debug)]
struct Seen {
    name: String,
    count: i32,
    first: Timestamp,
    last_seen: Instant,
}

/// Writes events, aggregating repeats.
pub struct Recorder {
    client: kube::Client,
    seen: Mutex<HashMap<Key, Seen>>,
}

/// Remembered distinct events; beyond this the oldest are forgotten (a repeat then starts a
/// new object, as it would after a kubelet restart).
const MAX_REMEMBERED: usize = 4096;
/// Events expire on the server after an hour; a repeat after that starts a new object.
const FORGET_AFTER: Duration = Duration::from_secs(3600);

impl Recorder {
    pub fn new(client: kube::Client) -> Self {
        Self {
            client,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Records one occurrence. Failures are logged, never returned: losing an event must not
    /// stop a kubelet.
    pub async fn record(
        &self,
        source: Source,
        target: &Target,
        warning: bool,
        reason: &str,
        message: &str,
    ) {
        let key = Key {
            namespace: target.namespace.clone(),
            uid: target.uid.clone(),
            field_path: target.field_path.clone(),
            source,
            warning,
            reason: reason.into(),
            message: message.into(),
        };
        let now = Timestamp::now();
        let api: Api<Event> = Api::namespaced(self.client.clone(), &target.namespace);
        let repeat = self.bump(&key);
        if let Some((name, count, first)) = repeat {
            let patch = serde_json::json!({
                "count": count,
                "lastTimestamp": Time(now),
                "firstTimestamp": Time(first),
            });
            let (params, patch) = (PatchParams::default(), Patch::Merge(&patch));
            match within("event", api.patch(&name, &params, &patch)).await {
                Some(Ok(_)) | None => return,
                Some(Err(e)) => {
                    debug!(error = %e, event = %name, "event repeat failed; creating anew")
                }
            }
        }
        let name = format!("{}.{:x}", target.name, now.as_nanosecond());
        let event = Event {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(target.namespace.clone()),
                ..ObjectMeta::default()
            },
            involved_object: ObjectReference {
                api_version: Some("v1".into()),
                kind: Some(target.kind.into()),
                name: Some(target.name.clone()),
                namespace: (target.kind != "Node").then(|| target.namespace.clone()),
                uid: Some(target.uid.clone()),
                field_path: target.field_path.clone(),
                ..ObjectReference::default()
            },
            reason: Some(reason.into()),
            message: Some(message.into()),
            type_: Some(if warning { "Warning" } else { "Normal" }.into()),
            source: Some(EventSource {
                component: Some(source.component().into()),
                host: target.host.clone().filter(|_| source == Source::Kubelet),
            }),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            count: Some(1),
            event_time: None::<MicroTime>,
            reporting_component: Some(source.component().into()),
            reporting_instance: target.host.clone().filter(|_| source == Source::Kubelet),
            ..Event::default()
        };
        match within("event", api.create(&PostParams::default(), &event)).await {
            Some(Ok(_)) => self.remember(key, name, now),
            Some(Err(e)) => debug!(error = %e, reason, "event not recorded"),
            None => {}
        }
    }

    /// On a repeat: the event's name, its new count and first time.
    fn bump(&self, key: &Key) -> Option<(String, i32, Timestamp)> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let entry = seen.get_mut(key)?;
        if entry.last_seen.elapsed() > FORGET_AFTER {
            seen.remove(key);
            return None;
        }
        entry.count += 1;
        entry.last_seen = Instant::now();
        Some((entry.name.clone(), entry.count, entry.first))
    }

    fn remember(&self, key: Key, name: String, first: Timestamp) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= MAX_REMEMBERED {
            seen.retain(|_, s| s.last_seen.elapsed() < Duration::from_secs(600));
            if seen.len() >= MAX_REMEMBERED {
                seen.clear();
            }
        }
        seen.insert(
            key,
            Seen {
                name,
                count: 1,
                first,
                last_seen: Instant::now(),
            },
        );
    }
}
