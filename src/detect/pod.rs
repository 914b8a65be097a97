//! Pod signals: container failures (crash loop, OOM kill, image pull, config and run errors,
//! many restarts), scheduling, readiness and probes, eviction, volume mounts.
//!
//! Every pod signal carries the pod's root owner and node. When a container cannot run at all
//! (crash loop, pull, config or run error), the pod's readiness signals are left out: they
//! would only restate it.

use chrono::{DateTime, Utc};

use crate::model::{ContainerStatus, MetaExt, Pod, Terminated};

use super::causes::{missing_object, pull_error_class, registry_host};
use super::detector::{Detection, Detector, Draft, Subject};
use super::events::{EventFact, FactKind};
use super::owners::OwnerLookup;
use super::signal::{Cause, Evidence, SignalName};

const IMAGE_PULL: &[&str] = &[
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "ErrImageNeverPull",
];
const RUN_ERRORS: &[&str] = &[
    "RunContainerError",
    "CreateContainerError",
    "PreCreateHookError",
    "PreStartHookError",
    "PostStartHookError",
];
/// Termination reasons of a container that never started (the runtime could not run it).
const START_FAILURES: &[&str] = &["StartError", "ContainerCannotRun"];
/// Signals that mean a container cannot run; readiness signals would only restate them.
const BLOCKING: &[SignalName] = &[
    SignalName::CrashLoop,
    SignalName::ImagePull,
    SignalName::ContainerConfigError,
    SignalName::RunContainerError,
];

impl Detector {
    /// The signals of one pod. `facts` are the pod's event facts (see [`super::FactSet`]).
    pub fn pod(
        &self,
        pod: &Pod,
        facts: &[EventFact],
        lookup: &(impl OwnerLookup + ?Sized),
        now: DateTime<Utc>,
    ) -> Detection {
        let mut out = Detection::default();
        if pod.is_deleting() || !self.scope.namespace_in_scope(pod.namespace()) {
            return out;
        }
        let mut drafts = Vec::new();
        for status in pod.container_statuses() {
            self.container(pod, status, facts, now, &mut out, &mut drafts);
        }
        let blocked = drafts.iter().any(|d| BLOCKING.contains(&d.name));
        match pod.phase() {
            "Failed" => self.evicted(pod, now, &mut out, &mut drafts),
            "Pending" => {
                self.unschedulable(pod, facts, now, &mut out, &mut drafts);
                if !blocked {
                    self.mount_failed(pod, facts, now, &mut out, &mut drafts);
                }
            }
            "Running" if !blocked => self.readiness(pod, facts, now, &mut out, &mut drafts),
            _ => {}
        }
        let subject = Subject::new("Pod", pod).on_node(pod.node_name());
        self.finish(&mut out, drafts, subject, pod, lookup);
        out
    }

    fn container(
        &self,
        pod: &Pod,
        status: &ContainerStatus,
        facts: &[EventFact],
        now: DateTime<Utc>,
        out: &mut Detection,
        drafts: &mut Vec<Draft>,
    ) {
        let waiting = status.state.waiting.as_ref();
        let reason = waiting
            .and_then(|w| w.reason.as_deref())
            .unwrap_or_default();
        let message = waiting
            .and_then(|w| w.message.as_deref())
            .unwrap_or_default();
        let crash_looping = reason == "CrashLoopBackOff";
        let last = status.last_state.terminated.as_ref();
        let since = unready_since(pod);
        let image = image_of(pod, status);
        let base = |reason: &str, message: &str| {
            Evidence::new(reason, message)
                .with_container(&status.name)
                .with_count(status.restart_count)
                .with_since(since)
                .with_detail("image", image)
        };

        // Between two crashes a crash-looping container runs for a moment; within the hold
        // after its last crash it still counts as crash-looping, so the signal does not flap
        // (and high_restarts does not take its place for those moments).
        let held = !crash_looping
            && status.restart_count >= 2
            && last
                .and_then(|t| t.finished_at)
                .is_some_and(|at| out.still_recent(at, self.config.crash_loop_hold, now));
        if held {
            let text = format!(
                "container {} restarted {} times; running again for now",
                status.name, status.restart_count
            );
            let mut evidence = base("CrashLoopBackOff", &text);
            if let Some(t) = last {
                evidence = with_termination(evidence, t);
            }
            push(drafts, Draft::new(SignalName::CrashLoop, evidence));
        }
        let crash_looping = crash_looping || held;

        if crash_looping && !held {
            let mut evidence = base(reason, message);
            if let Some(t) = last {
                evidence = with_termination(evidence, t);
            }
            push(drafts, Draft::new(SignalName::CrashLoop, evidence));
            if let Some(t) = last.filter(|t| START_FAILURES.contains(&t.reason())) {
                let message = t.message.as_deref().unwrap_or(message);
                push(
                    drafts,
                    Draft::new(SignalName::RunContainerError, base(t.reason(), message)),
                );
            }
        } else if IMAGE_PULL.contains(&reason) {
            push(
                drafts,
                self.image_pull(
                    pod,
                    status,
                    reason,
                    message,
                    facts,
                    now,
                    out,
                    base(reason, message),
                ),
            );
        } else if reason == "CreateContainerConfigError" {
            let missing = missing_object(message, pod.namespace());
            let mut evidence = base(reason, message);
            if let Some(m) = &missing {
                evidence = evidence
                    .with_detail("missing", format!("{} {}/{}", m.kind, m.namespace, m.name))
                    .with_detail("key", m.key.unwrap_or_default());
            }
            let draft = Draft::new(SignalName::ContainerConfigError, evidence)
                .with_cause(missing.map(|m| m.cause()));
            push(drafts, draft);
        } else if RUN_ERRORS.contains(&reason) {
            push(
                drafts,
                Draft::new(SignalName::RunContainerError, base(reason, message)),
            );
        }

        if let Some(t) = self.oom_kill(status, crash_looping, now, out) {
            let container = pod.container(&status.name);
            let limit = container.and_then(|c| c.resources.limits.get("memory"));
            let request = container.and_then(|c| c.resources.requests.get("memory"));
            let text = match limit {
                Some(limit) => format!(
                    "container {} was OOM-killed (exit code {}) at its memory limit of {limit}",
                    status.name, t.exit_code
                ),
                None => format!(
                    "container {} was OOM-killed (exit code {}) with no memory limit: the node ran out of memory",
                    status.name, t.exit_code
                ),
            };
            let message = t
                .message
                .as_deref()
                .filter(|m| !m.is_empty())
                .unwrap_or(&text);
            let evidence = base("OOMKilled", message)
                .with_since(t.finished_at.or(since))
                .with_detail("exit_code", t.exit_code)
                .with_detail(
                    "memory_limit",
                    limit.map(String::as_str).unwrap_or_default(),
                )
                .with_detail(
                    "memory_request",
                    request.map(String::as_str).unwrap_or_default(),
                );
            push(drafts, Draft::new(SignalName::OomKilled, evidence));
        }

        if !crash_looping && status.restart_count >= self.config.high_restarts_threshold {
            let recent = last
                .and_then(|t| t.finished_at)
                .is_none_or(|at| out.still_recent(at, self.config.recent_failure_window, now));
            if recent {
                let last_reason = last.map(Terminated::reason).unwrap_or("Restarted");
                let text = format!(
                    "container {} restarted {} times; last exit: {}",
                    status.name,
                    status.restart_count,
                    last.map(|t| format!("{} (exit code {})", t.reason(), t.exit_code))
                        .unwrap_or_else(|| "unknown".into())
                );
                let mut evidence = base(last_reason, &text);
                if let Some(t) = last {
                    evidence = with_termination(evidence, t).with_since(t.finished_at.or(since));
                }
                push(drafts, Draft::new(SignalName::HighRestarts, evidence));
            }
        }
    }

    /// The OOM kill that counts now: the current termination, or the last one while the
    /// container crash-loops or for a while after it.
    fn oom_kill<'a>(
        &self,
        status: &'a ContainerStatus,
        crash_looping: bool,
        now: DateTime<Utc>,
        out: &mut Detection,
    ) -> Option<&'a Terminated> {
        let window = self.config.recent_failure_window;
        let recent = |t: &Terminated, out: &mut Detection| {
            t.finished_at
                .is_none_or(|at| out.still_recent(at, window, now))
        };
        let oom = |t: &&Terminated| t.reason() == "OOMKilled";
        if let Some(t) = status.state.terminated.as_ref().filter(oom) {
            return recent(t, out).then_some(t);
        }
        let t = status.last_state.terminated.as_ref().filter(oom)?;
        (crash_looping || recent(t, out)).then_some(t)
    }

    #[allow(clippy::too_many_arguments)]
    fn image_pull(
        &self,
        pod: &Pod,
        status: &ContainerStatus,
        reason: &str,
        message: &str,
        facts: &[EventFact],
        now: DateTime<Utc>,
        out: &mut Detection,
        mut evidence: Evidence,
    ) -> Draft {
        let image = image_of(pod, status);
        // The back-off message names no error; the last pull failure event does.
        let fact = self
            .recent_facts(facts, pod.uid(), &[FactKind::PullFailed], now)
            .filter(|f| f.container.as_deref().is_none_or(|c| c == status.name))
            .max_by_key(|f| f.last_seen);
        let error = match fact {
            Some(f) if reason == "ImagePullBackOff" => {
                out.still_recent(f.last_seen, self.config.event_window, now);
                evidence.message = f.message.clone();
                match &f.cause {
                    Some(Cause::ImageRegistry { error, .. }) => error.clone(),
                    _ => pull_error_class("ErrImagePull", &f.message).to_string(),
                }
            }
            _ => pull_error_class(reason, message).to_string(),
        };
        let cause = Cause::ImageRegistry {
            host: registry_host(image).to_string(),
            error: error.clone(),
        };
        evidence = evidence.with_detail("pull_error", &error);
        Draft::new(SignalName::ImagePull, evidence).with_cause(Some(cause))
    }

    fn evicted(&self, pod: &Pod, now: DateTime<Utc>, out: &mut Detection, drafts: &mut Vec<Draft>) {
        if pod.status.reason.as_deref() != Some("Evicted") {
            return;
        }
        // An evicted pod object stays until collected; the eviction counts for a while.
        let at = pod
            .container_statuses()
            .filter_map(|c| c.state.terminated.as_ref()?.finished_at)
            .chain(
                pod.status
                    .conditions
                    .iter()
                    .filter_map(|c| c.last_transition_time),
            )
            .max();
        if let Some(at) = at
            && !out.still_recent(at, self.config.recent_failure_window, now)
        {
            return;
        }
        let evidence = Evidence::new("Evicted", pod.status.message.as_deref().unwrap_or_default())
            .with_since(at);
        drafts.push(Draft::new(SignalName::Evicted, evidence));
    }

    fn unschedulable(
        &self,
        pod: &Pod,
        facts: &[EventFact],
        now: DateTime<Utc>,
        out: &mut Detection,
        drafts: &mut Vec<Draft>,
    ) {
        let Some(scheduled) = pod
            .condition("PodScheduled")
            .filter(|c| c.is_false() && c.reason() == "Unschedulable")
        else {
            return;
        };
        let since = scheduled
            .last_transition_time
            .or(pod.created())
            .unwrap_or(now);
        if !out.grace_over(since, self.config.unschedulable_grace, now) {
            return;
        }
        let fact = self.latest_fact(facts, pod.uid(), &[FactKind::SchedulingFailed], now);
        let message = match scheduled.message() {
            "" => fact.map(|f| f.message.as_str()).unwrap_or_default(),
            m => m,
        };
        let mut evidence = Evidence::new("Unschedulable", message).with_since(Some(since));
        if let Some(f) = fact {
            evidence = evidence.with_count(f.count);
        }
        drafts.push(Draft::new(SignalName::Unschedulable, evidence));
    }

    fn mount_failed(
        &self,
        pod: &Pod,
        facts: &[EventFact],
        now: DateTime<Utc>,
        out: &mut Detection,
        drafts: &mut Vec<Draft>,
    ) {
        let creating = pod.node_name().is_some()
            && pod.container_statuses().all(|c| c.state.running.is_none());
        if !creating {
            return;
        }
        let kinds = &[FactKind::MountFailed, FactKind::AttachFailed];
        let Some(fact) = self.latest_fact(facts, pod.uid(), kinds, now) else {
            return;
        };
        let since = pod
            .condition("PodScheduled")
            .filter(|c| c.is_true())
            .and_then(|c| c.last_transition_time)
            .or(pod.status.start_time)
            .or(pod.created())
            .unwrap_or(fact.first_seen);
        if !out.grace_over(since, self.config.mount_failed_grace, now) {
            return;
        }
        out.still_recent(fact.last_seen, self.config.event_window, now);
        let evidence = Evidence::new(fact.reason, &fact.message)
            .with_count(fact.count)
            .with_since(Some(since));
        drafts.push(Draft::new(SignalName::MountFailed, evidence).with_cause(fact.cause.clone()));
    }

    fn readiness(
        &self,
        pod: &Pod,
        facts: &[EventFact],
        now: DateTime<Utc>,
        out: &mut Detection,
        drafts: &mut Vec<Draft>,
    ) {
        let Some(ready) = pod.condition("Ready").filter(|c| !c.is_true()) else {
            return;
        };
        let since = unready_since(pod).unwrap_or(now);
        if !out.grace_over(since, self.config.not_ready_grace, now) {
            return;
        }
        let unready: Vec<&str> = pod
            .status
            .container_statuses
            .iter()
            .filter(|c| !c.ready)
            .map(|c| c.name.as_str())
            .collect();
        let probe = self
            .recent_facts(facts, pod.uid(), &[FactKind::ProbeFailed], now)
            .max_by_key(|f| f.last_seen);
        let draft = match probe {
            Some(f) => {
                out.still_recent(f.last_seen, self.config.event_window, now);
                let mut evidence = Evidence::new(f.reason, &f.message)
                    .with_count(f.count)
                    .with_since(Some(since))
                    .with_detail("probe", probe_kind(&f.message));
                if let Some(c) = &f.container {
                    evidence = evidence.with_container(c);
                }
                Draft::new(SignalName::ProbeFailing, evidence)
            }
            None => {
                let reason = match ready.reason() {
                    "" => "NotReady",
                    r => r,
                };
                let evidence = Evidence::new(reason, ready.message())
                    .with_count(unready.len())
                    .with_since(Some(since))
                    .with_detail("containers", unready.join(","));
                Draft::new(SignalName::NotReady, evidence)
            }
        };
        drafts.push(draft);
    }
}

/// Adds a draft, or, when one of the same name exists (a second failing container), notes
/// the container on it.
fn push(drafts: &mut Vec<Draft>, draft: Draft) {
    let Some(existing) = drafts.iter_mut().find(|d| d.name == draft.name) else {
        drafts.push(draft);
        return;
    };
    let Some(container) = draft.evidence.container else {
        return;
    };
    let first = existing.evidence.container.clone().unwrap_or_default();
    let containers = existing
        .evidence
        .details
        .entry("containers".into())
        .or_insert(first);
    containers.push(',');
    containers.push_str(&container);
}

fn with_termination(evidence: Evidence, t: &Terminated) -> Evidence {
    evidence
        .with_detail("exit_code", t.exit_code)
        .with_detail("last_reason", t.reason())
        .with_detail("last_message", t.message.as_deref().unwrap_or_default())
}

/// Since when the pod is not ready: its Ready condition's transition, else its start.
fn unready_since(pod: &Pod) -> Option<DateTime<Utc>> {
    pod.condition("Ready")
        .filter(|c| !c.is_true())
        .and_then(|c| c.last_transition_time)
        .or(pod.status.start_time)
        .or(pod.created())
}

fn image_of<'a>(pod: &'a Pod, status: &'a ContainerStatus) -> &'a str {
    pod.container(&status.name)
        .map(|c| c.image.as_str())
        .filter(|i| !i.is_empty())
        .unwrap_or(&status.image)
}

/// `Readiness probe failed: ...` -> `readiness`.
fn probe_kind(message: &str) -> &'static str {
    if message.starts_with("Liveness") {
        "liveness"
    } else if message.starts_with("Startup") {
        "startup"
    } else {
        "readiness"
    }
}
