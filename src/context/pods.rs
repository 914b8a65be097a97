//! PURE: pods as facts — phase, conditions that are not True, each container's state and last
//! state, restarts, image and resources — how troubled each one is, and which containers'
//! logs tell the story.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStatus, Pod, ResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::model::{ConditionFacts, ContainerFacts, PodFacts, StateFacts};
use crate::model::meta::to_chrono;

pub fn time(t: Option<&Time>) -> Option<DateTime<Utc>> {
    t.map(to_chrono)
}

/// A pod reduced to what the context shows.
pub fn pod_facts(pod: &Pod) -> PodFacts {
    let meta = &pod.metadata;
    let status = pod.status.clone().unwrap_or_default();
    let spec = pod.spec.clone().unwrap_or_default();
    let statuses = |list: &Option<Vec<ContainerStatus>>| list.clone().unwrap_or_default();
    let init_statuses = statuses(&status.init_container_statuses);
    let app_statuses = statuses(&status.container_statuses);
    let mut containers: Vec<ContainerFacts> = Vec::new();
    for c in spec.init_containers.iter().flatten() {
        let s = init_statuses.iter().find(|s| s.name == c.name);
        containers.push(container_facts(c, s, true));
    }
    for c in &spec.containers {
        let s = app_statuses.iter().find(|s| s.name == c.name);
        containers.push(container_facts(c, s, false));
    }
    // Init containers that ran fine are noise.
    containers.retain(|c| !c.init || c.failing || c.restarts > 0);
    let conditions: Vec<ConditionFacts> = status
        .conditions
        .iter()
        .flatten()
        .filter(|c| c.status != "True")
        .map(|c| ConditionFacts {
            type_: c.type_.clone(),
            status: c.status.clone(),
            reason: c.reason.clone().unwrap_or_default(),
            message: c.message.clone().unwrap_or_default(),
            since: time(c.last_transition_time.as_ref()),
            healthy: false,
        })
        .collect();
    let phase = status.phase.clone().unwrap_or_else(|| "Pending".into());
    let mut facts = PodFacts {
        namespace: meta.namespace.clone().unwrap_or_default(),
        name: meta.name.clone().unwrap_or_default(),
        phase,
        reason: status.reason.clone().unwrap_or_default(),
        message: status.message.clone().unwrap_or_default(),
        node: spec.node_name.clone(),
        created: time(meta.creation_timestamp.as_ref()),
        deleting: meta.deletion_timestamp.is_some(),
        trouble: 0,
        conditions,
        containers,
    };
    facts.trouble = trouble(&facts);
    facts
}

/// 2: broken now (not running as it should, failing containers, a pod-level reason such as
/// Evicted); 1: restarted before but fine now; 0: healthy.
fn trouble(p: &PodFacts) -> u8 {
    let done = p.phase == "Succeeded";
    let broken = matches!(p.phase.as_str(), "Pending" | "Failed" | "Unknown")
        || !p.reason.is_empty()
        || p.containers.iter().any(|c| c.failing)
        || (!done && p.conditions.iter().any(|c| c.type_ == "Ready"));
    if broken {
        2
    } else if p.containers.iter().any(|c| c.restarts > 0) {
        1
    } else {
        0
    }
}

fn quantities(m: Option<&BTreeMap<String, Quantity>>) -> BTreeMap<String, String> {
    m.into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect()
}

/// Requests and limits as strings.
pub fn resources(
    r: Option<&ResourceRequirements>,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    (
        quantities(r.and_then(|r| r.requests.as_ref())),
        quantities(r.and_then(|r| r.limits.as_ref())),
    )
}

fn state_facts(s: &ContainerState) -> Option<StateFacts> {
    if let Some(t) = &s.terminated {
        return Some(StateFacts::Terminated {
            reason: t.reason.clone().unwrap_or_else(|| "Unknown".into()),
            exit_code: t.exit_code,
            signal: t.signal.filter(|s| *s != 0),
            message: t.message.clone().unwrap_or_default(),
            started: time(t.started_at.as_ref()),
            finished: time(t.finished_at.as_ref()),
        });
    }
    if let Some(w) = &s.waiting {
        return Some(StateFacts::Waiting {
            reason: w.reason.clone().unwrap_or_default(),
            message: without_pod_suffix(w.message.as_deref().unwrap_or_default()),
        });
    }
    s.running.as_ref().map(|r| StateFacts::Running {
        since: time(r.started_at.as_ref()),
    })
}

/// The kubelet ends back-off messages with ` pod=<name>_<namespace>(<uid>)`: the pod is
/// already named where the message is shown, and a uid is forty characters of noise.
fn without_pod_suffix(message: &str) -> String {
    match message.rfind(" pod=") {
        Some(at) if message.ends_with(')') => message[..at].to_string(),
        _ => message.to_string(),
    }
}

fn container_facts(c: &Container, s: Option<&ContainerStatus>, init: bool) -> ContainerFacts {
    let (requests, limits) = resources(c.resources.as_ref());
    let state = s.and_then(|s| s.state.as_ref()).and_then(state_facts);
    let last_state = s.and_then(|s| s.last_state.as_ref()).and_then(state_facts);
    let ready = s.is_some_and(|s| s.ready);
    let restarts = s.map_or(0, |s| s.restart_count);
    let failed_exit = |st: &Option<StateFacts>| matches!(st, Some(StateFacts::Terminated { exit_code, .. }) if *exit_code != 0);
    let failing = match &state {
        Some(StateFacts::Waiting { reason, .. }) => reason != "PodInitializing",
        Some(StateFacts::Terminated { .. }) => failed_exit(&state),
        // A running init container is not ready by design.
        Some(StateFacts::Running { .. }) => !init && (!ready || failed_exit(&last_state)),
        None => false,
    };
    ContainerFacts {
        name: c.name.clone(),
        init,
        image: c.image.clone().unwrap_or_default(),
        ready,
        restarts,
        requests,
        limits,
        state,
        last_state,
        failing,
    }
}

/// Unhealthy first (most troubled first), then by namespace and name.
pub fn sort_pods(pods: &mut [PodFacts]) {
    pods.sort_by(|a, b| {
        b.trouble
            .cmp(&a.trouble)
            .then_with(|| a.namespace.cmp(&b.namespace))
            .then_with(|| a.name.cmp(&b.name))
    });
}

/// A container log worth fetching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogTarget {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    /// The crashed instance rather than the current one.
    pub previous: bool,
    /// How that instance ended or is.
    pub instance: String,
}

fn ended(s: &StateFacts) -> Option<String> {
    match s {
        StateFacts::Terminated {
            reason, exit_code, ..
        } => Some(format!("{reason} exit {exit_code}")),
        _ => None,
    }
}

/// Logs of failing containers, in pod order: the previous instance of a restarted container
/// (what it printed before it died), the current one of a terminated or unready one. A
/// container that never started has none. Failures already covered (same container name,
/// same ending) are skipped: pods of one workload print the same story.
pub fn log_targets(pods: &[PodFacts], max: usize) -> Vec<LogTarget> {
    let mut out: Vec<LogTarget> = Vec::new();
    for p in pods.iter().filter(|p| p.trouble > 0) {
        for c in p.containers.iter().filter(|c| c.failing) {
            let target = match (&c.last_state, &c.state) {
                (Some(last), _) if ended(last).is_some() => (true, ended(last)),
                (_, Some(now)) if ended(now).is_some() => (false, ended(now)),
                (_, Some(StateFacts::Running { .. })) => (false, Some("running, not ready".into())),
                _ => continue,
            };
            let (previous, Some(instance)) = target else {
                continue;
            };
            if out
                .iter()
                .any(|t| t.container == c.name && t.instance == instance)
            {
                continue;
            }
            if out.len() == max {
                return out;
            }
            out.push(LogTarget {
                namespace: p.namespace.clone(),
                pod: p.name.clone(),
                container: c.name.clone(),
                previous,
                instance,
            });
        }
    }
    out
}
