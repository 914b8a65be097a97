//! The kubelets of all the sim's nodes, as one loop: for every pod bound to a node whose kubelet
//! is up, step its [`PodRuntime`], carry out the effects (events, logs) and write the status
//! through the status subresource when it changed. It also finalises deleted pods (delete with
//! grace 0, so rollouts and drains complete) and evicts pods from nodes under memory pressure.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use serde_json::json;
use tokio::time::{Duration, Instant};
use tracing::{debug, info, warn};

use super::annotations::ContainerKind;
use super::container::{Effect, Now, Restart};
use super::error::within;
use super::events::{Source, Target};
use super::handle::Shared;
use super::health;
use super::log_lines;
use super::nodes::NodeProblem;
use super::pod::{PodEffect, PodRuntime};
use super::quantity;

/// How soon a failed pod deletion is tried again.
const DELETE_RETRY: Duration = Duration::from_secs(5);

pub async fn run(shared: Arc<Shared>) {
    tokio::select! {
        _ = shared.cancel.cancelled() => return,
        _ = shared.view.ready() => {},
    }
    debug!("kubelet started");
    let mut pods: HashMap<String, PodRuntime> = HashMap::new();
    let mut next_eviction: HashMap<String, Instant> = HashMap::new();
    loop {
        let next = pass(&shared, &mut pods, &mut next_eviction).await;
        let next = next
            .unwrap_or_else(|| Instant::now() + shared.config.timing.resync)
            .min(Instant::now() + shared.config.timing.resync)
            .max(Instant::now() + Duration::from_millis(5));
        tokio::select! {
            _ = shared.cancel.cancelled() => return,
            _ = shared.wake_kubelet.notified() => {},
            _ = tokio::time::sleep_until(next) => {},
        }
    }
}

/// One look at every pod on the sim's nodes. Returns when the next step is due.
async fn pass(
    shared: &Shared,
    runtimes: &mut HashMap<String, PodRuntime>,
    next_eviction: &mut HashMap<String, Instant>,
) -> Option<Instant> {
    let all = shared.view.pods();
    let mine: Vec<Arc<Pod>> = {
        let table = shared.table();
        all.into_iter()
            .filter(|p| {
                p.spec
                    .as_ref()
                    .and_then(|s| s.node_name.as_deref())
                    .is_some_and(|n| table.contains(n))
            })
            .collect()
    };
    let present: HashSet<String> = mine.iter().filter_map(|p| p.metadata.uid.clone()).collect();
    runtimes.retain(|uid, _| present.contains(uid));
    {
        let known: HashSet<(String, String)> = mine
            .iter()
            .map(|p| (ns_of(p).to_string(), name_of(p).to_string()))
            .collect();
        shared.logs().retain(|key| known.contains(key));
    }

    within(
        "eviction",
        evict_under_pressure(shared, &mine, runtimes, next_eviction),
    )
    .await;

    let mut next: Option<Instant> = next_eviction.values().min().copied();
    for pod in &mine {
        let node = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_default();
        if !shared.table().kubelet_up(&node) {
            let uid = pod.metadata.uid.as_deref().unwrap_or("");
            if let Some(rt) = runtimes.get_mut(uid).filter(|rt| !rt.marked_unready) {
                within("mark not ready", mark_not_ready(shared, pod)).await;
                rt.marked_unready = true;
                // Once the node is back, the kubelet's next status overwrites this.
                rt.last_written = None;
            }
            continue;
        }
        if let Some(rt) = runtimes.get_mut(pod.metadata.uid.as_deref().unwrap_or("")) {
            rt.marked_unready = false;
        }
        let synced = within("pod sync", sync_pod(shared, pod, runtimes)).await;
        if let Some(Some(at)) = synced {
            next = Some(next.map_or(at, |n| n.min(at)));
        }
    }
    next
}

/// Steps one pod and writes what changed. Returns when it next needs a step.
async fn sync_pod(
    shared: &Shared,
    pod: &Pod,
    runtimes: &mut HashMap<String, PodRuntime>,
) -> Option<Instant> {
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let now = Now::current();
    if pod.metadata.deletion_timestamp.is_some() {
        return finalize(shared, pod, runtimes.get_mut(&uid), now).await;
    }
    let restart = Restart::from_spec(pod.spec.as_ref().and_then(|s| s.restart_policy.as_deref()));
    if !runtimes.contains_key(&uid) {
        // A pod that already finished (before a sim restart) stays as it is.
        if matches!(phase(pod), Some("Succeeded" | "Failed")) {
            return None;
        }
        runtimes.insert(uid.clone(), PodRuntime::new(pod, now));
    }
    let rt = runtimes.get_mut(&uid)?;
    let effects = rt.step(
        pod,
        &shared.view,
        &shared.images,
        &shared.config.timing,
        now,
    );
    apply(shared, pod, &effects).await;
    write_status(shared, pod, rt, now).await;
    if rt.finished(restart) {
        return None;
    }
    rt.next_wake()
}

/// The kubelet's side of a deletion: stop the containers, then remove the object for good.
async fn finalize(
    shared: &Shared,
    pod: &Pod,
    rt: Option<&mut PodRuntime>,
    now: Now,
) -> Option<Instant> {
    let (ns, name) = (ns_of(pod), name_of(pod));
    if let Some(rt) = rt {
        if rt
            .delete_requested
            .is_some_and(|at| at.elapsed() < DELETE_RETRY)
        {
            return rt.delete_requested.map(|at| at + DELETE_RETRY);
        }
        let effects = rt.kill(now);
        apply(shared, pod, &effects).await;
        rt.delete_requested = Some(Instant::now());
    }
    let api: Api<Pod> = Api::namespaced(shared.client.clone(), ns);
    let params = DeleteParams {
        grace_period_seconds: Some(0),
        preconditions: Some(Preconditions {
            uid: pod.metadata.uid.clone(),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match api.delete(name, &params).await {
        Ok(_) => debug!(pod = %name, namespace = %ns, "pod finalised"),
        Err(kube::Error::Api(s)) if s.is_not_found() || s.is_conflict() => {}
        Err(e) => warn!(pod = %name, namespace = %ns, error = %e, "could not finalise pod"),
    }
    Some(Instant::now() + DELETE_RETRY)
}

/// Under MemoryPressure, the kubelet evicts one pod per interval: BestEffort first, then
/// Burstable, then Guaranteed; within a class the one using most over its request.
async fn evict_under_pressure(
    shared: &Shared,
    pods: &[Arc<Pod>],
    runtimes: &mut HashMap<String, PodRuntime>,
    next_eviction: &mut HashMap<String, Instant>,
) {
    let now = Instant::now();
    let names = shared.table().names();
    next_eviction.retain(|n, _| shared.table().has(n, NodeProblem::MemoryPressure));
    for node in names {
        let (pressure, up) = {
            let t = shared.table();
            (
                t.has(&node, NodeProblem::MemoryPressure),
                t.kubelet_up(&node),
            )
        };
        if !pressure || !up || next_eviction.get(&node).is_some_and(|at| *at > now) {
            continue;
        }
        next_eviction.insert(node.clone(), now + shared.config.timing.eviction_interval);
        let victim = pods
            .iter()
            .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node.as_str()))
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .filter(|p| {
                let uid = p.metadata.uid.as_deref().unwrap_or("");
                let restart =
                    Restart::from_spec(p.spec.as_ref().and_then(|s| s.restart_policy.as_deref()));
                runtimes.get(uid).is_some_and(|rt| !rt.finished(restart))
            })
            .max_by_key(|p| eviction_rank(shared, p));
        let Some(pod) = victim else {
            continue;
        };
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let Some(rt) = runtimes.get_mut(&uid) else {
            continue;
        };
        let message = eviction_message(shared, pod);
        info!(pod = %name_of(pod), namespace = %ns_of(pod), node = %node, "evicting pod under memory pressure");
        let now = Now::current();
        let effects = rt.evict(message.clone(), now);
        shared
            .recorder
            .record(
                Source::Kubelet,
                &Target::pod(pod),
                true,
                "Evicted",
                &message,
            )
            .await;
        apply(shared, pod, &effects).await;
        write_status(shared, pod, rt, now).await;
    }
}

/// What the node lifecycle controller does to the pods of a node that stopped reporting:
/// Ready=False and a `NodeNotReady` event. Their containers are not touched (nobody can).
async fn mark_not_ready(shared: &Shared, pod: &Pod) {
    let Some(mut conditions) = pod.status.as_ref().and_then(|s| s.conditions.clone()) else {
        return;
    };
    let Some(ready) = conditions
        .iter_mut()
        .find(|c| c.type_ == "Ready" && c.status == "True")
    else {
        return;
    };
    ready.status = "False".into();
    ready.last_transition_time = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        k8s_openapi::jiff::Timestamp::now(),
    ));
    let (ns, name) = (ns_of(pod), name_of(pod));
    let api: Api<Pod> = Api::namespaced(shared.client.clone(), ns);
    let patch =
        json!({"metadata": {"uid": pod.metadata.uid}, "status": {"conditions": conditions}});
    if let Err(e) = api
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        debug!(pod = %name, namespace = %ns, error = %e, "could not mark pod not ready");
        return;
    }
    shared
        .recorder
        .record(
            Source::NodeController,
            &Target::pod(pod),
            true,
            "NodeNotReady",
            "Node is not ready",
        )
        .await;
}

/// Higher evicts first.
fn eviction_rank(shared: &Shared, pod: &Pod) -> (u8, i64) {
    let class = match pod.status.as_ref().and_then(|s| s.qos_class.as_deref()) {
        Some("BestEffort") => 2,
        Some("Burstable") => 1,
        _ => 0,
    };
    let over: i64 = usage(shared, pod)
        .iter()
        .map(|(_, used, requested)| used - requested)
        .sum();
    (class, over)
}

/// Per app container: (name, used bytes, requested bytes).
fn usage(shared: &Shared, pod: &Pod) -> Vec<(String, i64, i64)> {
    let default = quantity::parse_bytes(&shared.config.default_memory_usage).unwrap_or(0);
    pod.spec
        .iter()
        .flat_map(|s| s.containers.iter())
        .map(|c| {
            let used = health::memory_need(pod, &c.name, ContainerKind::App).unwrap_or(default);
            let requested = health::resource(c, "memory", false)
                .and_then(|q| quantity::parse_bytes(&q))
                .unwrap_or(0);
            (c.name.clone(), used, requested)
        })
        .collect()
}

/// `The node was low on resource: memory. Container app was using 300Mi, which exceeds its
/// request of 64Mi. ` — the 1.20 kubelet's wording, trailing space included.
fn eviction_message(shared: &Shared, pod: &Pod) -> String {
    let mut message = "The node was low on resource: memory. ".to_string();
    for (name, used, requested) in usage(shared, pod) {
        if used > requested {
            message.push_str(&format!(
                "Container {name} was using {}, which exceeds its request of {}. ",
                quantity::format_bytes(used),
                quantity::format_bytes(requested)
            ));
        }
    }
    message
}

/// Records the events and log output the pod's containers produced.
async fn apply(shared: &Shared, pod: &Pod, effects: &[PodEffect]) {
    let (ns, name) = (ns_of(pod), name_of(pod));
    let uid = pod.metadata.uid.as_deref().unwrap_or("");
    for fx in effects {
        let container = fx.container.as_deref().unwrap_or("");
        let (kind, spec) = container_spec(pod, container);
        let image = spec.and_then(|c| c.image.clone()).unwrap_or_default();
        match &fx.effect {
            Effect::Event {
                warning,
                reason,
                message,
            } => {
                let target = Target::pod(pod).with_field_path(fx.field_path.clone());
                shared
                    .recorder
                    .record(Source::Kubelet, &target, *warning, reason, message)
                    .await;
            }
            Effect::Started { id, at, ran } => {
                let lines = if *ran {
                    log_lines::startup(pod, container, kind, &image, *at)
                } else {
                    Vec::new()
                };
                shared.logs().start(ns, name, uid, id, lines);
            }
            Effect::Ended { id, how, at } => {
                let limit = spec.and_then(health::memory_limit);
                let lines = log_lines::ending(pod, container, kind, &image, *how, limit, *at);
                shared.logs().append(ns, name, uid, id, lines);
            }
        }
    }
}

fn container_spec<'a>(
    pod: &'a Pod,
    name: &str,
) -> (
    ContainerKind,
    Option<&'a k8s_openapi::api::core::v1::Container>,
) {
    let spec = pod.spec.as_ref();
    if let Some(c) = spec.and_then(|s| s.containers.iter().find(|c| c.name == name)) {
        return (ContainerKind::App, Some(c));
    }
    let init = spec.and_then(|s| s.init_containers.as_ref()?.iter().find(|c| c.name == name));
    (ContainerKind::Init, init)
}

/// Writes the rendered status when it differs from the last one written. The patch carries the
/// pod's uid as a precondition (a replaced pod of the same name must not get this status);
/// like the real kubelet it does not pin the resourceVersion, so the kubelet never fights the
/// controllers that update the pod's metadata.
async fn write_status(shared: &Shared, pod: &Pod, rt: &mut PodRuntime, now: Now) {
    let status = rt.render(pod, now);
    let Ok(value) = serde_json::to_value(&status) else {
        return;
    };
    let (ns, name) = (ns_of(pod), name_of(pod));
    shared
        .logs()
        .record_statuses(ns, name, &rt.uid, rt.all_statuses());
    if rt.last_written.as_ref() == Some(&value) {
        return;
    }
    let api: Api<Pod> = Api::namespaced(shared.client.clone(), ns);
    let mut fresh = None;
    for attempt in 0..3 {
        // After a conflict, render again from the fresh object (its spec may have moved on).
        let body = match &fresh {
            Some(p) => serde_json::to_value(rt.render(p, now)).unwrap_or(value.clone()),
            None => value.clone(),
        };
        let patch = json!({"metadata": {"uid": rt.uid}, "status": body});
        match api
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => {
                rt.last_written = Some(body);
                return;
            }
            Err(kube::Error::Api(s)) if s.is_not_found() => return,
            Err(kube::Error::Api(s)) if s.is_conflict() && attempt < 2 => {
                match api.get_opt(name).await {
                    Ok(Some(p)) if p.metadata.uid.as_deref() == Some(rt.uid.as_str()) => {
                        fresh = Some(p);
                    }
                    // Gone or replaced by a pod of the same name: not ours to write.
                    Ok(_) => return,
                    Err(e) => {
                        warn!(pod = %name, namespace = %ns, error = %e, "status update failed");
                        return;
                    }
                }
            }
            Err(e) => {
                warn!(pod = %name, namespace = %ns, error = %e, "status update failed");
                return;
            }
        }
    }
}

fn phase(pod: &Pod) -> Option<&str> {
    pod.status.as_ref().and_then(|s| s.phase.as_deref())
}

fn ns_of(pod: &Pod) -> &str {
    pod.metadata.namespace.as_deref().unwrap_or("default")
}

fn name_of(pod: &Pod) -> &str {
    pod.metadata.name.as_deref().unwrap_or("")
}
