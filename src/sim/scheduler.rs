//! The scheduler: binds the Pending pods of the sim's namespaces to its own nodes through the
//! `pods/binding` subresource, or marks them Unschedulable with the real `FailedScheduling`
//! message and tries again after `timing.schedule_retry` (capacity may have freed up). It only
//! ever binds pods of its namespaces to its nodes, so several sims share a cluster.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use tokio::time::{Duration, Instant};
use tracing::{debug, info, warn};

use super::error::within;
use super::events::{Source, Target};
use super::fit::{self, Candidate, Resources};
use super::handle::Shared;
use super::nodes;

/// A binding made but not yet seen in the pod store.
struct Assumed {
    node: String,
    requests: Resources,
    at: Instant,
}

/// Forget an assumed binding the store never confirmed after this long.
const ASSUME_TTL: Duration = Duration::from_secs(30);

pub async fn run(shared: Arc<Shared>) {
    tokio::select! {
        _ = shared.cancel.cancelled() => return,
        _ = shared.view.ready() => {},
    }
    debug!("scheduler started");
    let mut assumed: HashMap<String, Assumed> = HashMap::new();
    let mut retry_at: HashMap<String, Instant> = HashMap::new();
    let mut failure_message: HashMap<String, String> = HashMap::new();
    loop {
        pass(&shared, &mut assumed, &mut retry_at, &mut failure_message).await;
        let next = retry_at
            .values()
            .min()
            .copied()
            .unwrap_or_else(|| Instant::now() + shared.config.timing.resync)
            .max(Instant::now() + Duration::from_millis(10));
        tokio::select! {
            _ = shared.cancel.cancelled() => return,
            _ = shared.wake_scheduler.notified() => {},
            _ = tokio::time::sleep_until(next) => {},
        }
    }
}

async fn pass(
    shared: &Shared,
    assumed: &mut HashMap<String, Assumed>,
    retry_at: &mut HashMap<String, Instant>,
    failure_message: &mut HashMap<String, String>,
) {
    let pods = shared.view.pods();
    let node_names = shared.table().names();
    let nodes: Vec<Arc<Node>> = node_names
        .iter()
        .filter_map(|n| shared.view.node(n))
        .collect();

    // What each node already carries: bound, non-terminal pods, plus bindings in flight.
    let mut requested: HashMap<String, Resources> = HashMap::new();
    let live_uids: std::collections::HashSet<String> =
        pods.iter().filter_map(|p| p.metadata.uid.clone()).collect();
    assumed.retain(|uid, a| live_uids.contains(uid) && a.at.elapsed() < ASSUME_TTL);
    retry_at.retain(|uid, _| live_uids.contains(uid));
    failure_message.retain(|uid, _| live_uids.contains(uid));
    for p in &pods {
        let uid = p.metadata.uid.clone().unwrap_or_default();
        let bound = p.spec.as_ref().and_then(|s| s.node_name.clone());
        if let Some(node) = &bound {
            assumed.remove(&uid);
            let phase = p.status.as_ref().and_then(|s| s.phase.as_deref());
            if !matches!(phase, Some("Succeeded" | "Failed")) {
                *requested.entry(node.clone()).or_default() += fit::pod_requests(p);
            }
        }
    }
    for a in assumed.values() {
        *requested.entry(a.node.clone()).or_default() += a.requests;
    }

    let mut pending: Vec<&Arc<Pod>> = pods
        .iter()
        .filter(|p| wants_scheduling(p, assumed))
        .collect();
    pending.sort_by_key(|p| {
        let priority = p.spec.as_ref().and_then(|s| s.priority).unwrap_or(0);
        (
            std::cmp::Reverse(priority),
            p.metadata.creation_timestamp.clone().map(|t| t.0),
        )
    });
    let now = Instant::now();
    for pod in pending {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        if retry_at.get(&uid).is_some_and(|at| *at > now) {
            continue;
        }
        let candidates: Vec<Candidate<'_>> = nodes
            .iter()
            .map(|n| {
                let name = n.metadata.name.clone().unwrap_or_default();
                let config = shared.config.nodes.iter().find(|c| c.name == name);
                let (cpu, memory, pods) = config.map(nodes::allocatable).unwrap_or_default();
                Candidate {
                    node: n,
                    allocatable: Resources { cpu, memory, pods },
                    requested: requested.get(&name).copied().unwrap_or_default(),
                }
            })
            .collect();
        match fit::choose(pod, &candidates) {
            Ok(node) => {
                let node = node.metadata.name.clone().unwrap_or_default();
                if within("binding", bind(shared, pod, &node)).await == Some(true) {
                    let requests = fit::pod_requests(pod);
                    *requested.entry(node.clone()).or_default() += requests;
                    assumed.insert(
                        uid.clone(),
                        Assumed {
                            node,
                            requests,
                            at: Instant::now(),
                        },
                    );
                    retry_at.remove(&uid);
                    failure_message.remove(&uid);
                } else {
                    retry_at.insert(uid, Instant::now() + shared.config.timing.schedule_retry);
                }
            }
            Err(message) => {
                let changed = failure_message.get(&uid) != Some(&message);
                within(
                    "unschedulable",
                    unschedulable(shared, pod, &message, changed),
                )
                .await;
                failure_message.insert(uid.clone(), message);
                retry_at.insert(uid, Instant::now() + shared.config.timing.schedule_retry);
            }
        }
    }
}

fn wants_scheduling(pod: &Pod, assumed: &HashMap<String, Assumed>) -> bool {
    let Some(spec) = pod.spec.as_ref() else {
        return false;
    };
    let uid = pod.metadata.uid.as_deref().unwrap_or("");
    spec.node_name.as_deref().unwrap_or("").is_empty()
        && pod.metadata.deletion_timestamp.is_none()
        && spec
            .scheduler_name
            .as_deref()
            .unwrap_or("default-scheduler")
            == "default-scheduler"
        && !matches!(
            pod.status.as_ref().and_then(|s| s.phase.as_deref()),
            Some("Succeeded" | "Failed")
        )
        && !assumed.contains_key(uid)
}

/// Creates the Binding. False when it failed (tried again later).
async fn bind(shared: &Shared, pod: &Pod, node: &str) -> bool {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(shared.client.clone(), &ns);
    let binding = json!({
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": name, "namespace": ns, "uid": pod.metadata.uid},
        "target": {"apiVersion": "v1", "kind": "Node", "name": node},
    });
    let result: Result<serde_json::Value, kube::Error> = api
        .create_subresource("binding", &name, &PostParams::default(), &binding)
        .await;
    match result {
        Ok(_) => {
            info!(pod = %name, namespace = %ns, node, "bound pod");
            let message = format!("Successfully assigned {ns}/{name} to {node}");
            shared
                .recorder
                .record(
                    Source::Scheduler,
                    &Target::pod(pod),
                    false,
                    "Scheduled",
                    &message,
                )
                .await;
            true
        }
        Err(kube::Error::Api(s)) if s.is_conflict() || s.is_not_found() => {
            debug!(pod = %name, namespace = %ns, reason = %s.message, "pod already bound or gone");
            true
        }
        Err(e) => {
            warn!(pod = %name, namespace = %ns, node, error = %e, "binding failed");
            false
        }
    }
}

/// PodScheduled=False/Unschedulable (written when the message changes) and a FailedScheduling
/// event (every attempt; repeats aggregate).
async fn unschedulable(shared: &Shared, pod: &Pod, message: &str, write_condition: bool) {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    debug!(pod = %name, namespace = %ns, message, "unschedulable");
    if write_condition {
        let api: Api<Pod> = Api::namespaced(shared.client.clone(), &ns);
        let patch = json!({
            "metadata": {"uid": pod.metadata.uid},
            "status": {
                "phase": "Pending",
                "conditions": [{
                    "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                    "message": message, "lastProbeTime": null,
                    "lastTransitionTime": Time(Timestamp::now()),
                }],
            },
        });
        if let Err(e) = api
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            debug!(pod = %name, namespace = %ns, error = %e, "could not mark pod unschedulable");
        }
    }
    shared
        .recorder
        .record(
            Source::Scheduler,
            &Target::pod(pod),
            true,
            "FailedScheduling",
            message,
        )
        .await;
}
