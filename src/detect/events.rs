//! Event facts: the little Lookout keeps of Kubernetes events. The watcher classifies each
//! event as it arrives and keeps, per involved object, a [`FactSet`] — never the Event objects.
//! Detection takes an object's facts as input (probe failures, mount failures, quota
//! refusals...).

use chrono::{DateTime, Utc};

use crate::model::Event;

use super::causes::{
    exhausted_quota, missing_object, pull_error_class, quoted_image, registry_host,
};
use super::signal::Cause;

/// What an event tells about its object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FactKind {
    /// `Unhealthy`: a readiness, liveness or startup probe failed.
    ProbeFailed,
    /// `FailedMount`: a volume could not be mounted.
    MountFailed,
    /// `FailedAttachVolume`: a volume could not be attached to the node.
    AttachFailed,
    /// `FailedScheduling`: the scheduler found no node.
    SchedulingFailed,
    /// `FailedCreate`: a controller (ReplicaSet, StatefulSet, DaemonSet, Job) could not create
    /// a pod, e.g. refused by a quota.
    CreateFailed,
    /// `Failed` with `Failed to pull image ...`: the pull error the back-off message hides.
    PullFailed,
    /// `BackoffLimitExceeded` / `DeadlineExceeded`: a Job gave up.
    JobFailed,
    /// `ProvisioningFailed`: a claim's volume could not be provisioned.
    ProvisioningFailed,
    /// `WaitForFirstConsumer`: a claim waits, normally, for a pod to use it.
    WaitingForConsumer,
}

/// One kind of event about one object, merged over repetitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFact {
    pub kind: FactKind,
    /// The event's reason (`FailedMount`, `BackoffLimitExceeded`...).
    pub reason: &'static str,
    /// The most informative message seen (one naming a cause is kept over a vaguer later one).
    pub message: String,
    /// The highest count any one event of this kind reported.
    pub count: u32,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// The involved object's uid, so facts about a deleted pod do not stick to its same-named
    /// successor.
    pub object_uid: Option<String>,
    /// The container, for container events (`spec.containers{app}`).
    pub container: Option<String>,
    /// A cause parsed from the message: a missing object (mounts), a quota (FailedCreate), a
    /// registry (pulls).
    pub cause: Option<Cause>,
}

/// Classifies an event into a fact, or `None` for events detection does not use (most Normal
/// events: Scheduled, Pulled, Created, Started...).
pub fn classify(event: &Event) -> Option<EventFact> {
    let message = event.message();
    let namespace = event
        .involved_object
        .namespace
        .as_deref()
        .or(event.metadata.namespace.as_deref())
        .unwrap_or_default();
    let (kind, reason, cause) = match event.reason() {
        "Unhealthy" => (FactKind::ProbeFailed, "Unhealthy", None),
        "FailedMount" => (
            FactKind::MountFailed,
            "FailedMount",
            missing_object(message, namespace).map(|m| m.cause()),
        ),
        "FailedAttachVolume" => (FactKind::AttachFailed, "FailedAttachVolume", None),
        "FailedScheduling" => (FactKind::SchedulingFailed, "FailedScheduling", None),
        "FailedCreate" => (
            FactKind::CreateFailed,
            "FailedCreate",
            exhausted_quota(message, namespace),
        ),
        "Failed" if message.starts_with("Failed to pull image") => {
            let cause = quoted_image(message).map(|image| Cause::ImageRegistry {
                host: registry_host(image).to_string(),
                error: pull_error_class("ErrImagePull", message).to_string(),
            });
            (FactKind::PullFailed, "Failed", cause)
        }
        "BackoffLimitExceeded" => (FactKind::JobFailed, "BackoffLimitExceeded", None),
        "DeadlineExceeded" => (FactKind::JobFailed, "DeadlineExceeded", None),
        "ProvisioningFailed" => (FactKind::ProvisioningFailed, "ProvisioningFailed", None),
        "WaitForFirstConsumer" => (FactKind::WaitingForConsumer, "WaitForFirstConsumer", None),
        _ => return None,
    };
    let last_seen = event.last_seen()?;
    Some(EventFact {
        kind,
        reason,
        message: message.to_string(),
        count: event.occurrences(),
        first_seen: event.first_seen().unwrap_or(last_seen).min(last_seen),
        last_seen,
        object_uid: event.involved_object.uid.clone(),
        container: event.container().map(str::to_string),
        cause,
    })
}

impl EventFact {
    /// Folds a later report of the same kind into this one.
    fn merge(&mut self, other: EventFact) {
        self.first_seen = self.first_seen.min(other.first_seen);
        self.count = self.count.max(other.count);
        if other.last_seen < self.last_seen {
            return;
        }
        self.last_seen = other.last_seen;
        // A message that names a cause is worth more than a later vague one ("timed out
        // waiting for the condition" after "secret \"db\" not found").
        if other.cause.is_some() || self.cause.is_none() {
            self.message = other.message;
            self.cause = other.cause;
            self.reason = other.reason;
        }
    }

    /// Whether the fact is about this incarnation of the object (same uid, when both know it).
    pub fn concerns(&self, uid: Option<&str>) -> bool {
        match (self.object_uid.as_deref(), uid) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        }
    }
}

/// The facts about one object, one per kind (and container).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FactSet {
    facts: Vec<EventFact>,
}

impl FactSet {
    /// Records a fact, merging it with the one of the same kind, object and container.
    pub fn record(&mut self, fact: EventFact) {
        match self.facts.iter_mut().find(|f| {
            f.kind == fact.kind && f.object_uid == fact.object_uid && f.container == fact.container
        }) {
            Some(existing) => existing.merge(fact),
            None => self.facts.push(fact),
        }
    }

    /// Forgets facts last seen before `cutoff` (call with `now - event_window`). Returns
    /// whether the set is now empty, so the caller can drop it.
    pub fn prune(&mut self, cutoff: DateTime<Utc>) -> bool {
        self.facts.retain(|f| f.last_seen >= cutoff);
        self.facts.is_empty()
    }

    pub fn as_slice(&self) -> &[EventFact] {
        &self.facts
    }

    pub fn is_empty(&self) -> bool {
        self.facts.is_empty()
    }
}

impl std::ops::Deref for FactSet {
    type Target = [EventFact];

    fn deref(&self) -> &[EventFact] {
        &self.facts
    }
}
