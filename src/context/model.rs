//! The context as data: what was read about an incident, already reduced to the facts worth
//! showing (no managedFields, no empty fields, no whole objects). Rendering and truncation
//! work on these types only, so they are tested without a cluster.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::config::Budget;
use crate::detect::ObjectRef;

/// Everything shown about one incident, section by section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Context {
    /// `prod/INC-12: Deployment shop/web: OOMKilled, crash loop`.
    pub incident: String,
    /// Ages are rendered relative to this instant (when the cluster was read).
    pub now: DateTime<Utc>,
    /// How much may be shown; carried so the context renders the same wherever it goes.
    pub budget: Budget,
    /// The primary resource's status and conditions; None when it could not be read (see
    /// `unavailable`) or is not a Kubernetes object (an alert group, a registry).
    pub resource: Option<ResourceFacts>,
    /// From the first pod shown up to its root owner: Pod, ReplicaSet, Deployment.
    pub owners: Vec<ObjectRef>,
    /// Pods shown, unhealthy first, then by name.
    pub pods: Vec<PodFacts>,
    /// How many pods belong to the incident in all (`pods` shows at most `max_pods`).
    pub pods_total: usize,
    /// Deduplicated events, newest first.
    pub events: Vec<EventFacts>,
    /// Distinct events found in all, before `max_events`.
    pub events_total: usize,
    /// Logs of failing containers (the previous instance for crash loops).
    pub logs: Vec<LogFacts>,
    /// ReplicaSets of the Deployment by revision, newest first.
    pub rollout: Option<RolloutFacts>,
    /// The nodes the pods shown run on.
    pub nodes: Vec<NodeFacts>,
    /// What could not be read, and why.
    pub unavailable: Vec<Unavailable>,
}

/// A status condition, kind-independent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConditionFacts {
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    pub reason: String,
    pub message: String,
    pub since: Option<DateTime<Utc>>,
    /// Whether this status is the good one for this condition type (`Ready=True`,
    /// `MemoryPressure=False`).
    pub healthy: bool,
}

/// The primary resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceFacts {
    pub object: ObjectRef,
    pub created: Option<DateTime<Utc>>,
    /// Kind-specific facts in a fixed order: (`replicas`, `1 desired, 0 ready, ...`).
    pub facts: Vec<(String, String)>,
    /// Moments worth an age: (`last scheduled`, when), (`started`, when).
    pub times: Vec<(String, DateTime<Utc>)>,
    pub conditions: Vec<ConditionFacts>,
}

/// One pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodFacts {
    pub namespace: String,
    pub name: String,
    pub phase: String,
    /// The pod-level reason and message (`Evicted`, `The node was low on resource: memory`).
    pub reason: String,
    pub message: String,
    pub node: Option<String>,
    pub created: Option<DateTime<Utc>>,
    pub deleting: bool,
    /// 2 broken (waiting, failed, not ready), 1 restarted lately or pending, 0 healthy.
    pub trouble: u8,
    /// Conditions that are not True.
    pub conditions: Vec<ConditionFacts>,
    /// Init containers first, then app containers, in spec order.
    pub containers: Vec<ContainerFacts>,
}

/// One container of a pod: its spec's image and resources, its status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerFacts {
    pub name: String,
    pub init: bool,
    pub image: String,
    pub ready: bool,
    pub restarts: i32,
    /// `cpu` -> `100m`, `memory` -> `64Mi`.
    pub requests: BTreeMap<String, String>,
    pub limits: BTreeMap<String, String>,
    pub state: Option<StateFacts>,
    pub last_state: Option<StateFacts>,
    /// Waiting, failed, restarting or not ready: the evidence to keep.
    pub failing: bool,
}

/// A container state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StateFacts {
    Running {
        since: Option<DateTime<Utc>>,
    },
    Waiting {
        reason: String,
        message: String,
    },
    Terminated {
        reason: String,
        exit_code: i32,
        signal: Option<i32>,
        message: String,
        started: Option<DateTime<Utc>>,
        finished: Option<DateTime<Utc>>,
    },
}

/// Events with the same type, reason and message, merged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventFacts {
    /// `Warning` or `Normal`.
    pub type_: String,
    pub reason: String,
    pub message: String,
    /// Occurrences, summed over the merged events.
    pub count: u32,
    /// `pod/web-1`, `deployment/web`: the objects the merged events are about, sorted.
    pub objects: Vec<String>,
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
}

/// The log of one container instance, as fetched (tail-limited); rendering excerpts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogFacts {
    pub pod: String,
    pub container: String,
    /// The previous (crashed) instance rather than the current one.
    pub previous: bool,
    /// How that instance ended or is: `OOMKilled exit 137`, `running, not ready`.
    pub instance: String,
    pub text: String,
}

/// A Deployment's rollout history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutFacts {
    pub deployment: String,
    /// Newest revision first; the first one is current.
    pub revisions: Vec<RevisionFacts>,
    /// ReplicaSets found in all (`revisions` is capped by `max_revisions`).
    pub total: usize,
}

/// One ReplicaSet of a Deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionFacts {
    pub revision: u64,
    pub replicaset: String,
    pub created: Option<DateTime<Utc>>,
    pub replicas: i32,
    pub ready: i32,
    /// (container, image), in spec order.
    pub images: Vec<(String, String)>,
    /// (container, `requests cpu=100m memory=64Mi; limits memory=128Mi`), in spec order.
    pub resources: Vec<(String, String)>,
    /// `kubernetes.io/change-cause`, when someone recorded one.
    pub change_cause: Option<String>,
}

/// One node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeFacts {
    pub name: String,
    pub healthy: bool,
    pub unschedulable: bool,
    /// `node.kubernetes.io/unreachable:NoExecute`.
    pub taints: Vec<String>,
    pub conditions: Vec<ConditionFacts>,
}

/// Something the builder could not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unavailable {
    /// `events of pod shop/web-1`, `logs of pod shop/web-1 container app (previous)`.
    pub what: String,
    /// `forbidden: ...`, `not found (deleted meanwhile?)`, `timed out after 10s`.
    pub why: String,
}

impl ContainerFacts {
    /// Requests and limits in one line: `requests cpu=100m memory=64Mi; limits memory=128Mi`.
    pub fn resources_line(&self) -> String {
        resources_line(&self.requests, &self.limits)
    }
}

/// `requests cpu=100m memory=64Mi; limits memory=128Mi`; empty when neither is set.
pub fn resources_line(
    requests: &BTreeMap<String, String>,
    limits: &BTreeMap<String, String>,
) -> String {
    let part = |label: &str, m: &BTreeMap<String, String>| {
        (!m.is_empty()).then(|| {
            let kv: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{label} {}", kv.join(" "))
        })
    };
    [part("requests", requests), part("limits", limits)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("; ")
}
