//! One pod on a simulated node: its sandbox (volumes, IP), its init and app containers in the
//! kubelet's order, eviction, and the `status` a kubelet would report for it. No IO: the kubelet
//! loop feeds it the current objects and time and carries out the effects it returns.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus, Pod, PodCondition, PodIP, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::annotations::ContainerKind;
use super::config::SimTiming;
use super::container::{ContainerRt, Effect, Now, PodCtx, Restart, State, Termination};
use super::health::{self, World};
use super::images::{self, ImageRules};

/// An effect of one container (`field_path` names it, like kubelet events do) or of the pod.
#[derive(Debug, Clone)]
pub struct PodEffect {
    pub field_path: Option<String>,
    pub container: Option<String>,
    pub effect: Effect,
}

/// The kubelet's memory of one pod.
#[derive(Debug)]
pub struct PodRuntime {
    pub uid: String,
    started: Timestamp,
    pod_ip: String,
    /// When the sandbox (volumes mounted, IP assigned) became ready.
    sandbox_ready: Option<Instant>,
    next_mount_retry: Option<Instant>,
    pub init: Vec<ContainerRt>,
    pub app: Vec<ContainerRt>,
    /// The eviction message, once evicted: the pod is then finished.
    pub evicted: Option<String>,
    /// Condition type -> (status, since): lastTransitionTime only moves on a change.
    transitions: BTreeMap<&'static str, (bool, Timestamp)>,
    /// The status last written, to write only changes.
    pub last_written: Option<serde_json::Value>,
    pub delete_requested: Option<Instant>,
    /// Marked not ready because its node went down (what the node controller does).
    pub marked_unready: bool,
}

impl PodRuntime {
    pub fn new(pod: &Pod, now: Now) -> Self {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let spec = pod.spec.clone().unwrap_or_default();
        let rt = |c: &k8s_openapi::api::core::v1::Container, kind| {
            let image = c.image.clone().unwrap_or_default();
            let always = c.image_pull_policy.as_deref() == Some("Always");
            ContainerRt::new(&c.name, &image, kind, always)
        };
        Self {
            pod_ip: pod_ip(&uid),
            uid,
            started: now.wall,
            sandbox_ready: None,
            next_mount_retry: None,
            init: spec
                .init_containers
                .iter()
                .flatten()
                .map(|c| rt(c, ContainerKind::Init))
                .collect(),
            app: spec
                .containers
                .iter()
                .map(|c| rt(c, ContainerKind::App))
                .collect(),
            evicted: None,
            transitions: BTreeMap::new(),
            last_written: None,
            delete_requested: None,
            marked_unready: false,
        }
    }

    /// Whether the pod has reached a final phase (nothing will run again).
    pub fn finished(&self, restart: Restart) -> bool {
        if self.evicted.is_some() {
            return true;
        }
        let statuses = self.app_statuses();
        let init = self.init_statuses();
        matches!(phase(restart, &init, &statuses), "Succeeded" | "Failed")
    }

    /// Advances the pod to `now`.
    pub fn step(
        &mut self,
        pod: &Pod,
        world: &dyn World,
        images: &ImageRules,
        timing: &SimTiming,
        now: Now,
    ) -> Vec<PodEffect> {
        let mut out = Vec::new();
        if self.evicted.is_some() {
            return out;
        }
        let Some(spec) = pod.spec.as_ref() else {
            return out;
        };
        let restart = Restart::from_spec(spec.restart_policy.as_deref());
        if self.finished(restart) {
            return out;
        }
        if self.sandbox_ready.is_none() {
            let failures = health::mount_failures(pod, world);
            if failures.is_empty() {
                self.sandbox_ready = Some(now.instant + timing.start_delay);
                self.next_mount_retry = None;
            } else {
                if self.next_mount_retry.is_none_or(|at| at <= now.instant) {
                    for f in failures {
                        out.push(PodEffect {
                            field_path: None,
                            container: None,
                            effect: Effect::Event {
                                warning: true,
                                reason: "FailedMount",
                                message: f.message,
                            },
                        });
                    }
                    self.next_mount_retry = Some(now.instant + timing.sync);
                }
                return out;
            }
        }
        if self.sandbox_ready.is_some_and(|at| at > now.instant) {
            return out;
        }
        let full_name = format!(
            "{}_{}({})",
            pod.metadata.name.as_deref().unwrap_or(""),
            pod.metadata.namespace.as_deref().unwrap_or(""),
            self.uid
        );
        let ctx = PodCtx {
            uid: &self.uid,
            full_name: &full_name,
            restart,
            timing,
        };
        // Init containers run one at a time, in order; app containers only after all succeeded.
        for (i, c) in self.init.iter_mut().enumerate() {
            if c.succeeded() {
                continue;
            }
            let Some(container) = spec.init_containers.as_ref().and_then(|l| l.get(i)) else {
                break;
            };
            let outcome = health::container_outcome(pod, container, c.kind, world, images);
            let mut fx = Vec::new();
            c.step(&outcome, &ctx, now, &mut fx);
            push_all(&mut out, &fx, "initContainers", &c.name);
            if !c.succeeded() {
                return out;
            }
        }
        for (c, container) in self.app.iter_mut().zip(spec.containers.iter()) {
            let outcome = health::container_outcome(pod, container, c.kind, world, images);
            let mut fx = Vec::new();
            c.step(&outcome, &ctx, now, &mut fx);
            push_all(&mut out, &fx, "containers", &c.name);
        }
        out
    }

    /// Stops every running container: the pod is being deleted or evicted.
    pub fn kill(&mut self, now: Now) -> Vec<PodEffect> {
        let mut out = Vec::new();
        for (section, list) in [
            ("initContainers", &mut self.init),
            ("containers", &mut self.app),
        ] {
            for c in list.iter_mut() {
                let mut fx = Vec::new();
                c.kill(now, &mut fx);
                push_all(&mut out, &fx, section, &c.name);
            }
        }
        out
    }

    /// When the pod next needs a step without an outside change.
    pub fn next_wake(&self) -> Option<Instant> {
        if self.evicted.is_some() {
            return None;
        }
        let sandbox = match self.sandbox_ready {
            None => self.next_mount_retry,
            Some(at) => Some(at),
        };
        self.init
            .iter()
            .chain(self.app.iter())
            .filter_map(ContainerRt::next_wake)
            .chain(sandbox)
            .min()
    }

    /// The status a kubelet reports now (phase derived from container states like the
    /// kubelet's `getPhase`).
    pub fn render(&mut self, pod: &Pod, now: Now) -> PodStatus {
        let restart =
            Restart::from_spec(pod.spec.as_ref().and_then(|s| s.restart_policy.as_deref()));
        let init = self.init_statuses();
        let app = self.app_statuses();
        let mut phase = phase(restart, &init, &app).to_string();
        let (mut reason, mut message) = (None, None);
        if let Some(m) = &self.evicted {
            phase = "Failed".into();
            reason = Some("Evicted".to_string());
            message = Some(m.clone());
        }
        let finished = matches!(phase.as_str(), "Succeeded" | "Failed");
        let initialized = self.init.iter().all(ContainerRt::succeeded);
        let unready: Vec<&str> = self
            .app
            .iter()
            .filter(|c| !(c.ready && c.is_running()))
            .map(|c| c.name.as_str())
            .collect();
        let incomplete: Vec<&str> = self
            .init
            .iter()
            .filter(|c| !c.succeeded())
            .map(|c| c.name.as_str())
            .collect();
        let ready = unready.is_empty() && !finished;
        let not_ready_why = if finished {
            (Some("PodCompleted"), None)
        } else {
            (
                Some("ContainersNotReady"),
                Some(format!(
                    "containers with unready status: [{}]",
                    unready.join(" ")
                )),
            )
        };
        let mut conditions = vec![
            self.condition(
                "Initialized",
                initialized,
                now,
                if initialized || finished {
                    (finished.then_some("PodCompleted"), None)
                } else {
                    (
                        Some("ContainersNotInitialized"),
                        Some(format!(
                            "containers with incomplete status: [{}]",
                            incomplete.join(" ")
                        )),
                    )
                },
            ),
            self.condition("Ready", ready, now, not_ready_why.clone()),
            self.condition("ContainersReady", ready, now, not_ready_why),
        ];
        conditions.push(self.condition("PodScheduled", true, now, (None, None)));
        let sandbox = self.sandbox_ready.is_some();
        PodStatus {
            phase: Some(phase),
            reason,
            message,
            conditions: Some(conditions),
            host_ip: Some("127.0.0.1".into()),
            pod_ip: sandbox.then(|| self.pod_ip.clone()),
            pod_ips: sandbox.then(|| {
                vec![PodIP {
                    ip: self.pod_ip.clone(),
                }]
            }),
            start_time: Some(Time(self.started)),
            init_container_statuses: (!init.is_empty()).then_some(init),
            container_statuses: Some(app),
            qos_class: pod.status.as_ref().and_then(|s| s.qos_class.clone()),
            ..PodStatus::default()
        }
    }

    fn condition(
        &mut self,
        kind: &'static str,
        status: bool,
        now: Now,
        (reason, message): (Option<&str>, Option<String>),
    ) -> PodCondition {
        let since = match self.transitions.get(kind) {
            Some((s, at)) if *s == status => *at,
            _ => {
                self.transitions.insert(kind, (status, now.wall));
                now.wall
            }
        };
        let (reason, message) = if status {
            (None, None)
        } else {
            (reason, message)
        };
        PodCondition {
            type_: kind.into(),
            status: if status { "True" } else { "False" }.into(),
            last_transition_time: Some(Time(since)),
            reason: reason.map(str::to_string),
            message,
            ..PodCondition::default()
        }
    }

    fn init_statuses(&self) -> Vec<ContainerStatus> {
        self.init.iter().map(container_status).collect()
    }

    fn app_statuses(&self) -> Vec<ContainerStatus> {
        self.app.iter().map(container_status).collect()
    }

    /// Every container status this pod reports (init first), for the log endpoint.
    pub fn all_statuses(&self) -> Vec<ContainerStatus> {
        self.init
            .iter()
            .chain(self.app.iter())
            .map(container_status)
            .collect()
    }

    /// Marks the pod evicted with `message` after killing its containers.
    pub fn evict(&mut self, message: String, now: Now) -> Vec<PodEffect> {
        let fx = self.kill(now);
        self.evicted = Some(message);
        fx
    }
}

fn push_all(out: &mut Vec<PodEffect>, fx: &[Effect], section: &str, name: &str) {
    out.extend(fx.iter().map(|e| PodEffect {
        field_path: Some(format!("spec.{section}{{{name}}}")),
        container: Some(name.to_string()),
        effect: e.clone(),
    }));
}

fn container_status(c: &ContainerRt) -> ContainerStatus {
    let terminated = |t: &Termination| ContainerStateTerminated {
        container_id: Some(t.id.clone()),
        exit_code: t.exit_code,
        reason: Some(t.reason.into()),
        message: t.message.clone(),
        started_at: Some(Time(t.started)),
        finished_at: Some(Time(t.finished)),
        ..ContainerStateTerminated::default()
    };
    let (state, id) = match &c.state {
        State::Pending { reason } => (
            ContainerState {
                waiting: Some(ContainerStateWaiting {
                    reason: Some((*reason).into()),
                    message: None,
                }),
                ..ContainerState::default()
            },
            c.last.as_ref().map(|t| t.id.clone()),
        ),
        State::Waiting {
            reason, message, ..
        } => (
            ContainerState {
                waiting: Some(ContainerStateWaiting {
                    reason: Some((*reason).into()),
                    message: Some(message.clone()),
                }),
                ..ContainerState::default()
            },
            c.last.as_ref().map(|t| t.id.clone()),
        ),
        State::Running { id, started, .. } => (
            ContainerState {
                running: Some(ContainerStateRunning {
                    started_at: Some(Time(*started)),
                }),
                ..ContainerState::default()
            },
            Some(id.clone()),
        ),
        State::Done(t) => (
            ContainerState {
                terminated: Some(terminated(t)),
                ..ContainerState::default()
            },
            Some(t.id.clone()),
        ),
    };
    let ready = match c.kind {
        ContainerKind::Init => c.succeeded(),
        ContainerKind::App => c.ready && c.is_running(),
    };
    ContainerStatus {
        name: c.name.clone(),
        image: c.image.clone(),
        image_id: if c.ever_created() {
            images::image_id(&c.image)
        } else {
            String::new()
        },
        container_id: id,
        state: Some(state),
        last_state: c.last.as_ref().map(|t| ContainerState {
            terminated: Some(terminated(t)),
            ..ContainerState::default()
        }),
        ready,
        restart_count: c.restart_count,
        started: Some(c.is_running()),
        ..ContainerStatus::default()
    }
}

/// The kubelet's `getPhase`, on the statuses it is about to report.
fn phase(restart: Restart, init: &[ContainerStatus], app: &[ContainerStatus]) -> &'static str {
    let term = |s: &ContainerStatus| s.state.as_ref().and_then(|st| st.terminated.clone());
    let last = |s: &ContainerStatus| s.last_state.as_ref().and_then(|st| st.terminated.clone());
    let state = |s: &ContainerStatus| s.state.clone().unwrap_or_default();
    let (mut pending_init, mut failed_init) = (0, 0);
    for s in init {
        let st = state(s);
        if st.running.is_some() {
            pending_init += 1;
        } else if let Some(t) = term(s) {
            if t.exit_code != 0 {
                failed_init += 1;
            }
        } else if let Some(t) = last(s) {
            if t.exit_code != 0 {
                failed_init += 1;
            }
        } else {
            pending_init += 1;
        }
    }
    let (mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0);
    for s in app {
        let st = state(s);
        if st.running.is_some() {
            running += 1;
        } else if let Some(t) = term(s) {
            stopped += 1;
            if t.exit_code == 0 {
                succeeded += 1;
            }
        } else if last(s).is_some() {
            stopped += 1;
        } else {
            waiting += 1;
        }
    }
    if failed_init > 0 && restart == Restart::Never {
        return "Failed";
    }
    if pending_init > 0 || waiting > 0 {
        return "Pending";
    }
    if running > 0 {
        return "Running";
    }
    if stopped > 0 {
        return match restart {
            Restart::Always => "Running",
            _ if stopped == succeeded => "Succeeded",
            Restart::Never => "Failed",
            Restart::OnFailure => "Running",
        };
    }
    "Pending"
}

/// A stable pod IP in 10.244.0.0/16 derived from the uid (collisions do not matter here).
fn pod_ip(uid: &str) -> String {
    let h = Sha256::digest(uid.as_bytes());
    format!("10.244.{}.{}", h[0], h[1].clamp(2, 254))
}

#[cfg(test)]
#[path = "tests/pod.rs"]
mod tests;
