//! The sim's Nodes: registration (only an InternalIP 127.0.0.1 address and the log endpoint's
//! port, so the API server's log proxy reaches us), the heartbeat that keeps Ready fresh, and
//! simulated node problems. A problem comes from the handle ([`super::Sim::set_node_condition`])
//! or from the `sim.lookout.dev/condition` annotation on the Node, so another process can break
//! a node through the API. Like the node lifecycle controller (disabled on the test cluster),
//! problems also taint the node so the scheduler avoids it. A NotReady node's kubelet is down:
//! its conditions go Unknown, its heartbeat stops and its pods are no longer updated.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Taint};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;
use tokio::time::Instant;
use tracing::{info, warn};

use super::annotations::{NODE_CONDITION, SIMULATED_LABEL};
use super::config::NodeConfig;
use super::error::within;
use super::events::{Source, Target};
use super::handle::Shared;
use super::quantity;
use super::{Result, SimError};

/// A problem a simulated node can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeProblem {
    /// The kubelet is down: conditions Unknown, no heartbeat, pods frozen.
    NotReady,
    MemoryPressure,
    DiskPressure,
    PidPressure,
    NetworkUnavailable,
}

impl NodeProblem {
    pub const ALL: [NodeProblem; 5] = [
        NodeProblem::NotReady,
        NodeProblem::MemoryPressure,
        NodeProblem::DiskPressure,
        NodeProblem::PidPressure,
        NodeProblem::NetworkUnavailable,
    ];

    /// The name used in the `sim.lookout.dev/condition` annotation.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeProblem::NotReady => "NotReady",
            NodeProblem::MemoryPressure => "MemoryPressure",
            NodeProblem::DiskPressure => "DiskPressure",
            NodeProblem::PidPressure => "PIDPressure",
            NodeProblem::NetworkUnavailable => "NetworkUnavailable",
        }
    }

    /// The taint the node lifecycle controller would add.
    fn taint_key(self) -> &'static str {
        match self {
            NodeProblem::NotReady => "node.kubernetes.io/unreachable",
            NodeProblem::MemoryPressure => "node.kubernetes.io/memory-pressure",
            NodeProblem::DiskPressure => "node.kubernetes.io/disk-pressure",
            NodeProblem::PidPressure => "node.kubernetes.io/pid-pressure",
            NodeProblem::NetworkUnavailable => "node.kubernetes.io/network-unavailable",
        }
    }

    /// Every problem named in an annotation value (`"NotReady, MemoryPressure"`).
    pub fn parse_list(text: &str) -> BTreeSet<NodeProblem> {
        text.split(',')
            .filter_map(|p| p.trim().parse().ok())
            .collect()
    }
}

impl FromStr for NodeProblem {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        NodeProblem::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown node problem {s:?}"))
    }
}

impl fmt::Display for NodeProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The sim's knowledge of its nodes, shared by the loops.
#[derive(Debug, Default)]
pub struct NodeTable {
    nodes: BTreeMap<String, NodeState>,
}

#[derive(Debug)]
struct NodeState {
    config: NodeConfig,
    overrides: BTreeMap<NodeProblem, bool>,
    problems: BTreeSet<NodeProblem>,
    /// Problems as last written to the API, with the write's time.
    written: Option<(BTreeSet<NodeProblem>, Instant)>,
    taints_written: Option<BTreeSet<NodeProblem>>,
    last_heartbeat: Timestamp,
    since: BTreeMap<&'static str, (&'static str, Timestamp)>,
}

impl NodeTable {
    pub fn new(nodes: &[NodeConfig]) -> Self {
        let nodes = nodes
            .iter()
            .map(|n| {
                let state = NodeState {
                    config: n.clone(),
                    overrides: BTreeMap::new(),
                    problems: BTreeSet::new(),
                    written: None,
                    taints_written: None,
                    last_heartbeat: Timestamp::now(),
                    since: BTreeMap::new(),
                };
                (n.name.clone(), state)
            })
            .collect();
        Self { nodes }
    }

    pub fn names(&self) -> Vec<String> {
        self.nodes.keys().cloned().collect()
    }

    pub fn contains(&self, node: &str) -> bool {
        self.nodes.contains_key(node)
    }

    /// Whether `node`'s kubelet is up (it is ours and not NotReady).
    pub fn kubelet_up(&self, node: &str) -> bool {
        self.nodes
            .get(node)
            .is_some_and(|n| !n.problems.contains(&NodeProblem::NotReady))
    }

    pub fn has(&self, node: &str, problem: NodeProblem) -> bool {
        self.nodes
            .get(node)
            .is_some_and(|n| n.problems.contains(&problem))
    }

    /// Sets (`Some`) or clears (`None`, back to the annotation) an override.
    pub fn set_override(
        &mut self,
        node: &str,
        problem: NodeProblem,
        active: Option<bool>,
    ) -> Result<()> {
        let n = self
            .nodes
            .get_mut(node)
            .ok_or_else(|| SimError::UnknownNode(node.to_string()))?;
        match active {
            Some(a) => n.overrides.insert(problem, a),
            None => n.overrides.remove(&problem),
        };
        Ok(())
    }
}

/// Creates (or adopts, after a restart) every node and writes its first status.
pub async fn register(shared: &Shared) -> Result<()> {
    let api: Api<Node> = Api::all(shared.client.clone());
    for config in &shared.config.nodes {
        let mut labels: BTreeMap<String, String> = [
            ("kubernetes.io/hostname", config.name.as_str()),
            ("kubernetes.io/os", "linux"),
            ("kubernetes.io/arch", "amd64"),
            ("beta.kubernetes.io/os", "linux"),
            ("beta.kubernetes.io/arch", "amd64"),
            (SIMULATED_LABEL, "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        labels.extend(config.labels.clone());
        let node: Node = serde_json::from_value(json!({
            "metadata": {"name": config.name, "labels": labels},
            "spec": {},
        }))
        .map_err(|e| SimError::Config(e.to_string()))?;
        match api.create(&PostParams::default(), &node).await {
            Ok(_) => info!(node = %config.name, "registered node"),
            Err(kube::Error::Api(s)) if s.is_already_exists() => {
                let patch = json!({"metadata": {"labels": labels}});
                api.patch(&config.name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await?;
                info!(node = %config.name, "adopted existing node");
            }
            Err(e) => return Err(e.into()),
        }
        let target = Target::node(&config.name);
        shared
            .recorder
            .record(
                Source::Kubelet,
                &target,
                false,
                "Starting",
                "Starting kubelet.",
            )
            .await;
        reconcile(shared, &config.name).await?;
    }
    Ok(())
}

/// Keeps every node's status and taints in line with its problems until cancelled.
pub async fn run(shared: Arc<Shared>) {
    let names = shared.table().names();
    loop {
        for name in &names {
            if let Some(Err(e)) = within("node status", reconcile(&shared, name)).await {
                warn!(node = %name, error = %e, "node status update failed");
            }
        }
        tokio::select! {
            _ = shared.cancel.cancelled() => return,
            _ = shared.wake_nodes.notified() => {},
            _ = tokio::time::sleep(shared.config.timing.heartbeat) => {},
        }
    }
}

/// Deletes the nodes (end of a test, `delete_nodes_on_stop`).
pub async fn delete_all(client: &kube::Client, names: &[String]) {
    let api: Api<Node> = Api::all(client.clone());
    for name in names {
        if let Err(e) = api.delete(name, &DeleteParams::default()).await {
            warn!(node = %name, error = %e, "could not delete node");
        }
    }
}

async fn reconcile(shared: &Shared, name: &str) -> Result<()> {
    let annotated = shared
        .view
        .node(name)
        .and_then(|n| {
            n.metadata
                .annotations
                .as_ref()?
                .get(NODE_CONDITION)
                .cloned()
        })
        .map(|v| NodeProblem::parse_list(&v))
        .unwrap_or_default();
    let heartbeat = shared.config.timing.heartbeat;
    let (problems, changed, due, taints_due) = {
        let mut table = shared.table();
        let Some(n) = table.nodes.get_mut(name) else {
            return Ok(());
        };
        let problems: BTreeSet<NodeProblem> = NodeProblem::ALL
            .into_iter()
            .filter(|p| n.overrides.get(p).copied().unwrap_or(annotated.contains(p)))
            .collect();
        let previous = std::mem::replace(&mut n.problems, problems.clone());
        let changed = n.written.as_ref().is_none_or(|(w, _)| *w != problems);
        let down = problems.contains(&NodeProblem::NotReady);
        let due = changed
            || (!down
                && n.written
                    .as_ref()
                    .is_some_and(|(_, at)| at.elapsed() >= heartbeat));
        if previous != problems {
            // The kubelet and the scheduler react at once to a node going bad or good.
            shared.wake_kubelet.notify_one();
            shared.wake_scheduler.notify_one();
        }
        let taints_due = n.taints_written.as_ref() != Some(&problems);
        (problems, changed, due, taints_due)
    };
    if due {
        write_status(shared, name, &problems).await?;
        if changed {
            node_events(shared, name, &problems).await;
        }
    }
    if taints_due {
        write_taints(shared, name, &problems).await?;
        if let Some(n) = shared.table().nodes.get_mut(name) {
            n.taints_written = Some(problems);
        }
    }
    Ok(())
}

async fn write_status(shared: &Shared, name: &str, problems: &BTreeSet<NodeProblem>) -> Result<()> {
    let now = Timestamp::now();
    let status = {
        let mut table = shared.table();
        let Some(n) = table.nodes.get_mut(name) else {
            return Ok(());
        };
        let down = problems.contains(&NodeProblem::NotReady);
        if !down {
            n.last_heartbeat = now;
        }
        let conditions = conditions(n, problems, now);
        let capacity = json!({
            "cpu": n.config.cpu,
            "memory": n.config.memory,
            "pods": n.config.pods.to_string(),
            "ephemeral-storage": "100Gi",
        });
        json!({
            "capacity": capacity,
            "allocatable": capacity,
            "conditions": conditions,
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": shared.port}},
            "nodeInfo": {
                "machineID": name, "systemUUID": name, "bootID": name,
                "kernelVersion": "5.10.0-sim", "osImage": "Lookout simulated node",
                "containerRuntimeVersion": "containerd://1.4.3",
                "kubeletVersion": "v1.20.2", "kubeProxyVersion": "v1.20.2",
                "operatingSystem": "linux", "architecture": "amd64",
            },
        })
    };
    let api: Api<Node> = Api::all(shared.client.clone());
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(&json!({"status": status})),
    )
    .await?;
    if let Some(n) = shared.table().nodes.get_mut(name) {
        n.written = Some((problems.clone(), Instant::now()));
    }
    Ok(())
}

/// The conditions a kubelet (or, for a dead kubelet, the node controller) would show.
fn conditions(
    n: &mut NodeState,
    problems: &BTreeSet<NodeProblem>,
    now: Timestamp,
) -> Vec<serde_json::Value> {
    let down = problems.contains(&NodeProblem::NotReady);
    let mut rows: Vec<(&'static str, &'static str, &'static str, String)> = Vec::new();
    let pressure = |p: NodeProblem,
                    ty,
                    bad: (&'static str, &'static str),
                    good: (&'static str, &'static str)| {
        let (reason, message) = if problems.contains(&p) { bad } else { good };
        let status = if problems.contains(&p) {
            "True"
        } else {
            "False"
        };
        (ty, status, reason, message.to_string())
    };
    if problems.contains(&NodeProblem::NetworkUnavailable)
        || n.since.contains_key("NetworkUnavailable")
    {
        rows.push(pressure(
            NodeProblem::NetworkUnavailable,
            "NetworkUnavailable",
            ("NoRouteCreated", "Node created without a route"),
            ("RouteCreated", "RouteController created a route"),
        ));
    }
    rows.push(pressure(
        NodeProblem::MemoryPressure,
        "MemoryPressure",
        (
            "KubeletHasInsufficientMemory",
            "kubelet has insufficient memory available",
        ),
        (
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
        ),
    ));
    rows.push(pressure(
        NodeProblem::DiskPressure,
        "DiskPressure",
        ("KubeletHasDiskPressure", "kubelet has disk pressure"),
        ("KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ));
    rows.push(pressure(
        NodeProblem::PidPressure,
        "PIDPressure",
        (
            "KubeletHasInsufficientPID",
            "kubelet has insufficient PID available",
        ),
        (
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available",
        ),
    ));
    rows.push((
        "Ready",
        "True",
        "KubeletReady",
        "kubelet is posting ready status".into(),
    ));
    if down {
        for row in rows.iter_mut().filter(|r| r.0 != "NetworkUnavailable") {
            row.1 = "Unknown";
            row.2 = "NodeStatusUnknown";
            row.3 = "Kubelet stopped posting node status.".into();
        }
    }
    rows.into_iter()
        .map(|(ty, status, reason, message)| {
            let since = match n.since.get(ty) {
                Some((s, at)) if *s == status => *at,
                _ => {
                    n.since.insert(ty, (status, now));
                    now
                }
            };
            json!({
                "type": ty, "status": status, "reason": reason, "message": message,
                "lastHeartbeatTime": k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(n.last_heartbeat),
                "lastTransitionTime": k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(since),
            })
        })
        .collect()
}

async fn node_events(shared: &Shared, name: &str, problems: &BTreeSet<NodeProblem>) {
    let target = Target::node(name);
    let mut events: Vec<(bool, &str, String)> = Vec::new();
    let status = |s: &str| format!("Node {name} status is now: {s}");
    if problems.contains(&NodeProblem::NotReady) {
        events.push((false, "NodeNotReady", status("NodeNotReady")));
    } else {
        events.push((false, "NodeReady", status("NodeReady")));
    }
    if problems.contains(&NodeProblem::MemoryPressure) {
        events.push((
            false,
            "NodeHasInsufficientMemory",
            status("NodeHasInsufficientMemory"),
        ));
        events.push((
            true,
            "EvictionThresholdMet",
            "Attempting to reclaim memory".into(),
        ));
    }
    if problems.contains(&NodeProblem::DiskPressure) {
        events.push((false, "NodeHasDiskPressure", status("NodeHasDiskPressure")));
    }
    if problems.contains(&NodeProblem::PidPressure) {
        events.push((
            false,
            "NodeHasInsufficientPID",
            status("NodeHasInsufficientPID"),
        ));
    }
    for (warning, reason, message) in events {
        shared
            .recorder
            .record(Source::Kubelet, &target, warning, reason, &message)
            .await;
    }
}

/// Replaces the taints the sim manages, keeping everyone else's; retried on conflicts.
async fn write_taints(shared: &Shared, name: &str, problems: &BTreeSet<NodeProblem>) -> Result<()> {
    let api: Api<Node> = Api::all(shared.client.clone());
    // The API server's TaintNodesByCondition admission gives every new node `not-ready`; the
    // node lifecycle controller (disabled on the test cluster) would lift it once Ready.
    let mut managed: Vec<&str> = NodeProblem::ALL.iter().map(|p| p.taint_key()).collect();
    managed.push("node.kubernetes.io/not-ready");
    for attempt in 0..5 {
        let node = api.get(name).await?;
        let current: Vec<Taint> = node
            .spec
            .as_ref()
            .and_then(|s| s.taints.clone())
            .unwrap_or_default();
        let mut wanted: Vec<Taint> = current
            .iter()
            .filter(|t| !managed.contains(&t.key.as_str()))
            .cloned()
            .collect();
        wanted.extend(problems.iter().map(|p| Taint {
            key: p.taint_key().into(),
            effect: "NoSchedule".into(),
            time_added: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                Timestamp::now(),
            )),
            ..Taint::default()
        }));
        let same = |a: &[Taint], b: &[Taint]| {
            a.len() == b.len()
                && a.iter()
                    .all(|t| b.iter().any(|u| u.key == t.key && u.effect == t.effect))
        };
        if same(&current, &wanted) {
            return Ok(());
        }
        let patch = json!({
            "metadata": {"resourceVersion": node.metadata.resource_version},
            "spec": {"taints": wanted},
        });
        match api
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => return Ok(()),
            Err(kube::Error::Api(s)) if s.is_conflict() && attempt < 4 => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Allocatable resources of a node config, for the scheduler.
pub fn allocatable(config: &NodeConfig) -> (i64, i64, i64) {
    (
        quantity::parse_cpu_millis(&config.cpu).unwrap_or(0),
        quantity::parse_bytes(&config.memory).unwrap_or(0),
        i64::from(config.pods),
    )
}

#[cfg(test)]
#[path = "tests/nodes.rs"]
mod tests;
