//! Signals: one observed fact about one object ("this pod is crash-looping"), with the evidence
//! and the root owner that correlation groups by. Names are a stable vocabulary used in JSON,
//! metrics, runbook triggers and config weights.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The catalogue of signal names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalName {
    CrashLoop,
    OomKilled,
    ImagePull,
    ContainerConfigError,
    RunContainerError,
    HighRestarts,
    Unschedulable,
    NotReady,
    ProbeFailing,
    Evicted,
    MountFailed,
    RolloutStuck,
    ReplicasUnavailable,
    ReplicaFailure,
    StatefulsetNotReady,
    DaemonsetNotReady,
    JobFailed,
    CronjobFailed,
    NodeNotReady,
    NodePressure,
    PvcPending,
    PvcLost,
    HpaMaxed,
    HpaUnable,
    Alert,
}

impl SignalName {
    /// Every signal name, in catalogue order.
    pub const ALL: [SignalName; 25] = [
        Self::CrashLoop,
        Self::OomKilled,
        Self::ImagePull,
        Self::ContainerConfigError,
        Self::RunContainerError,
        Self::HighRestarts,
        Self::Unschedulable,
        Self::NotReady,
        Self::ProbeFailing,
        Self::Evicted,
        Self::MountFailed,
        Self::RolloutStuck,
        Self::ReplicasUnavailable,
        Self::ReplicaFailure,
        Self::StatefulsetNotReady,
        Self::DaemonsetNotReady,
        Self::JobFailed,
        Self::CronjobFailed,
        Self::NodeNotReady,
        Self::NodePressure,
        Self::PvcPending,
        Self::PvcLost,
        Self::HpaMaxed,
        Self::HpaUnable,
        Self::Alert,
    ];

    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CrashLoop => "crash_loop",
            Self::OomKilled => "oom_killed",
            Self::ImagePull => "image_pull",
            Self::ContainerConfigError => "container_config_error",
            Self::RunContainerError => "run_container_error",
            Self::HighRestarts => "high_restarts",
            Self::Unschedulable => "unschedulable",
            Self::NotReady => "not_ready",
            Self::ProbeFailing => "probe_failing",
            Self::Evicted => "evicted",
            Self::MountFailed => "mount_failed",
            Self::RolloutStuck => "rollout_stuck",
            Self::ReplicasUnavailable => "replicas_unavailable",
            Self::ReplicaFailure => "replica_failure",
            Self::StatefulsetNotReady => "statefulset_not_ready",
            Self::DaemonsetNotReady => "daemonset_not_ready",
            Self::JobFailed => "job_failed",
            Self::CronjobFailed => "cronjob_failed",
            Self::NodeNotReady => "node_not_ready",
            Self::NodePressure => "node_pressure",
            Self::PvcPending => "pvc_pending",
            Self::PvcLost => "pvc_lost",
            Self::HpaMaxed => "hpa_maxed",
            Self::HpaUnable => "hpa_unable",
            Self::Alert => "alert",
        }
    }

    /// Parses a stable name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|n| n.as_str() == s)
    }
}

impl fmt::Display for SignalName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reference to a Kubernetes object (or, for alerts, an Alertmanager group).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjectRef {
    /// `Pod`, `Deployment`, `Node`, ... (`AlertGroup` for alerts that name no workload).
    pub kind: String,
    /// None for cluster-scoped objects (Node) and alert groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    pub fn new(kind: &str, namespace: Option<&str>, name: &str) -> Self {
        Self {
            kind: kind.to_string(),
            namespace: namespace.map(str::to_string),
            name: name.to_string(),
        }
    }

    pub fn namespaced(kind: &str, namespace: &str, name: &str) -> Self {
        Self::new(kind, Some(namespace), name)
    }

    pub fn cluster_scoped(kind: &str, name: &str) -> Self {
        Self::new(kind, None, name)
    }
}

impl fmt::Display for ObjectRef {
    /// `Deployment payments/checkout`, `Node node-1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// A cause several workloads can share; signals with the same cause within the correlation
/// window become one incident.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Cause {
    /// A ConfigMap or Secret (or a key of one) that pods reference but that does not exist.
    MissingObject {
        /// `ConfigMap` or `Secret`.
        kind: String,
        namespace: String,
        name: String,
    },
    /// Image pulls failing against one registry host with one class of error.
    ImageRegistry {
        host: String,
        /// A normalised error class: `not_found`, `unauthorized`, `unreachable`, `invalid_name`,
        /// `other`.
        error: String,
    },
    /// A namespace ResourceQuota that refuses new pods.
    QuotaExhausted { namespace: String, name: String },
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::MissingObject {
                kind,
                namespace,
                name,
            } => write!(f, "missing {kind} {namespace}/{name}"),
            Cause::ImageRegistry { host, error } => write!(f, "registry {host}: {error}"),
            Cause::QuotaExhausted { namespace, name } => {
                write!(f, "quota {namespace}/{name} exhausted")
            }
        }
    }
}

/// What was observed, as shown to people and to the model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The Kubernetes reason: `CrashLoopBackOff`, `OOMKilled`, `FailedScheduling`, ...
    pub reason: String,
    /// The human-readable message from the object or event.
    pub message: String,
    /// The container concerned, for container-level signals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Restart count, event count, or the number of unavailable replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// When the condition began, as far as the object tells.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// Further facts (exit code, memory limit, image, node...), keyed by a short name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, String>,
}

impl Evidence {
    /// Evidence with a reason and the message Kubernetes wrote.
    pub fn new(reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            message: message.into(),
            ..Self::default()
        }
    }

    pub fn with_container(mut self, container: impl Into<String>) -> Self {
        self.container = Some(container.into());
        self
    }

    pub fn with_count(mut self, count: impl TryInto<u32>) -> Self {
        self.count = count.try_into().ok();
        self
    }

    pub fn with_since(mut self, since: Option<DateTime<Utc>>) -> Self {
        self.since = since;
        self
    }

    /// Adds a detail; empty values are left out.
    pub fn with_detail(mut self, key: &str, value: impl ToString) -> Self {
        let value = value.to_string();
        if !value.is_empty() {
            self.details.insert(key.to_string(), value);
        }
        self
    }

    pub fn detail(&self, key: &str) -> Option<&str> {
        self.details.get(key).map(String::as_str)
    }
}

/// One observed problem with one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signal {
    pub name: SignalName,
    /// The object the signal is about (the pod, the node, the PVC...).
    pub object: ObjectRef,
    /// Its root owner: Pod -> ReplicaSet -> Deployment, Pod -> StatefulSet / DaemonSet /
    /// Job -> CronJob; the object itself when it has no owner.
    pub owner: ObjectRef,
    /// For pod signals: the node the pod is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// A cause other workloads may share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<Cause>,
    pub evidence: Evidence,
}

/// The identity of a signal: one name on one object. A signal is raised once per key and
/// cleared once; its evidence may change in between.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SignalKey {
    pub name: SignalName,
    pub object: ObjectRef,
}

impl Signal {
    pub fn key(&self) -> SignalKey {
        SignalKey {
            name: self.name,
            object: self.object.clone(),
        }
    }
}

impl fmt::Display for SignalKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {}", self.name, self.object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_their_stable_strings() {
        for n in SignalName::ALL {
            assert_eq!(SignalName::parse(n.as_str()), Some(n));
            assert_eq!(
                serde_json::to_string(&n).unwrap(),
                format!("\"{}\"", n.as_str())
            );
        }
        assert_eq!(SignalName::parse("nope"), None);
    }
}
