//! The incident as stored and announced.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::IncidentState;
use crate::correlate::{self, Severity};
use crate::detect::{ObjectRef, Signal, SignalKey, SignalName};

/// One correlated problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// `<cluster>/INC-<number>`: short, human-friendly, usable in commands.
    pub id: String,
    pub number: u64,
    pub cluster: String,
    /// One line: what is wrong with what.
    pub title: String,
    /// What the incident is about: the root workload, the node, the alert group.
    pub primary: ObjectRef,
    pub state: IncidentState,
    pub severity: Severity,
    /// The severity score (0-100) behind `severity`; see `correlate`.
    pub score: u32,
    /// Every signal that joined, keyed by [`signal_id`]; cleared ones stay with `active: false`.
    pub signals: BTreeMap<String, SignalEntry>,
    /// Correlation keys this incident holds (`owner:...`, `node:...`, `cause:...`).
    pub keys: BTreeSet<String>,
    /// Shared causes and when each was last seen (for the correlation window).
    #[serde(default)]
    pub causes: BTreeMap<String, DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When it was announced in chat; None during the settle window.
    #[serde(default)]
    pub announced_at: Option<DateTime<Utc>>,
    /// When every signal had cleared (the quiet period runs from here).
    #[serde(default)]
    pub all_clear_since: Option<DateTime<Utc>>,
    #[serde(default)]
    pub resolved_at: Option<DateTime<Utc>>,
    /// Who ended it by hand (resolve / dismiss), if a person did.
    #[serde(default)]
    pub ended_by: Option<String>,
    #[serde(default)]
    pub merged_into: Option<String>,
    #[serde(default)]
    pub merged_from: Vec<String>,
    /// One-line diagnosis, once known.
    #[serde(default)]
    pub diagnosis: Option<String>,
    /// Who acknowledged it; reminders stop once someone has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acked: Option<Acknowledgement>,
    /// The silence covering it while one does (no reminders; the card says so).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silenced: Option<SilenceMark>,
    /// Bumped on every stored change.
    pub revision: u64,
}

/// Someone took the incident on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgement {
    /// A platform identity (`slack:U0123`).
    pub by: String,
    /// Their display name, when the platform sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub at: DateTime<Utc>,
}

/// The silence covering an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SilenceMark {
    /// The silence's id (`S-3`).
    pub silence: String,
    pub until: DateTime<Utc>,
    /// Who set it, for people (`Alice (slack:U1)`).
    pub by: String,
}

/// A signal in an incident, with its history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalEntry {
    pub signal: Signal,
    pub active: bool,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    #[serde(default)]
    pub cleared_at: Option<DateTime<Utc>>,
    /// How many times it was raised (again after clearing counts).
    pub occurrences: u32,
}

/// The stable id of a signal inside an incident: `name|kind|namespace|name`.
pub fn signal_id(key: &SignalKey) -> String {
    let o = &key.object;
    format!(
        "{}|{}|{}|{}",
        key.name,
        o.kind,
        o.namespace.as_deref().unwrap_or(""),
        o.name
    )
}

impl Incident {
    pub fn is_open(&self) -> bool {
        self.state.is_open()
    }

    pub fn is_announced(&self) -> bool {
        self.announced_at.is_some()
    }

    pub fn active_signals(&self) -> impl Iterator<Item = &Signal> + Clone {
        self.signals
            .values()
            .filter(|e| e.active)
            .map(|e| &e.signal)
    }

    pub fn has_active_signals(&self) -> bool {
        self.signals.values().any(|e| e.active)
    }

    /// Active signals by name.
    pub fn signal_counts(&self) -> BTreeMap<SignalName, usize> {
        let mut counts = BTreeMap::new();
        for s in self.active_signals() {
            *counts.entry(s.name).or_insert(0) += 1;
        }
        counts
    }

    /// Workloads (root owners) with signals, active or not.
    pub fn workloads(&self) -> BTreeSet<&ObjectRef> {
        self.signals
            .values()
            .map(|e| &e.signal.owner)
            .filter(|o| !matches!(o.kind.as_str(), "Node" | "AlertGroup"))
            .collect()
    }

    /// Pods with signals, active or not.
    pub fn pods(&self) -> BTreeSet<&ObjectRef> {
        self.signals
            .values()
            .map(|e| &e.signal.object)
            .filter(|o| o.kind == "Pod")
            .collect()
    }

    /// Namespaces involved.
    pub fn namespaces(&self) -> BTreeSet<&str> {
        self.signals
            .values()
            .filter_map(|e| e.signal.object.namespace.as_deref())
            .collect()
    }

    /// How long it lasted (until now if still open).
    pub fn duration(&self, now: DateTime<Utc>) -> chrono::Duration {
        self.resolved_at.unwrap_or(now) - self.created_at
    }

    /// Recomputes primary object and title from the signals.
    pub fn refresh_title(&mut self) {
        let (primary, title) = describe(self);
        self.primary = primary;
        self.title = title;
    }
}

/// Words for a signal in a title.
pub fn phrase(name: SignalName) -> &'static str {
    use SignalName::*;
    match name {
        CrashLoop => "crash loop",
        OomKilled => "OOMKilled",
        ImagePull => "image pull failing",
        ContainerConfigError => "container config error",
        RunContainerError => "container cannot start",
        HighRestarts => "restarting often",
        Unschedulable => "pods unschedulable",
        NotReady => "pods not ready",
        ProbeFailing => "probes failing",
        Evicted => "pods evicted",
        MountFailed => "volume mount failing",
        RolloutStuck => "rollout stuck",
        ReplicasUnavailable => "replicas unavailable",
        ReplicaFailure => "cannot create pods",
        StatefulsetNotReady => "not ready",
        DaemonsetNotReady => "not ready on every node",
        JobFailed => "job failed",
        CronjobFailed => "last run failed",
        NodeNotReady => "NotReady",
        NodePressure => "under pressure",
        PvcPending => "claim pending",
        PvcLost => "claim lost",
        HpaMaxed => "autoscaler at max",
        HpaUnable => "autoscaler cannot scale",
        Alert => "alert firing",
    }
}

/// Picks what an incident is about and titles it:
/// a failing node (`Node n1 NotReady (12 pods)`), a shared cause across workloads
/// (`missing Secret shop/db: 30 workloads failing`), or one workload
/// (`Deployment shop/web: crash loop, OOMKilled`).
fn describe(incident: &Incident) -> (ObjectRef, String) {
    let all: Vec<&Signal> = incident.signals.values().map(|e| &e.signal).collect();
    let active: Vec<&Signal> = incident.active_signals().collect();
    let pool = if active.is_empty() { &all } else { &active };

    if let Some(node) = pool.iter().find(|s| s.object.kind == "Node") {
        let what = node_phrase(node);
        let pods = node
            .evidence
            .details
            .get("pods")
            .cloned()
            .unwrap_or_default();
        let suffix = if pods.is_empty() || pods == "0" {
            String::new()
        } else {
            format!(" ({pods} pods)")
        };
        return (
            node.object.clone(),
            format!("Node {} {what}{suffix}", node.object.name),
        );
    }
    let workloads = incident.workloads();
    if workloads.len() > 1
        && let Some(cause) = pool.iter().find_map(|s| s.cause.as_ref())
    {
        let primary = match cause {
            crate::detect::Cause::MissingObject {
                kind,
                namespace,
                name,
            } => ObjectRef::namespaced(kind, namespace, name),
            crate::detect::Cause::QuotaExhausted { namespace, name } => {
                ObjectRef::namespaced("ResourceQuota", namespace, name)
            }
            crate::detect::Cause::ImageRegistry { host, .. } => {
                ObjectRef::cluster_scoped("Registry", host)
            }
        };
        return (
            primary,
            format!("{cause}: {} workloads failing", workloads.len()),
        );
    }
    // One workload (or alert group): its most serious signals, heaviest first.
    let mut names: Vec<SignalName> = pool.iter().map(|s| s.name).collect();
    names.sort_by_key(|n| std::cmp::Reverse((correlate::default_weight(*n), *n)));
    names.dedup();
    let owner = pool
        .first()
        .map(|s| s.owner.clone())
        .unwrap_or_else(|| incident.primary.clone());
    let alert_name = pool
        .iter()
        .find(|s| s.name == SignalName::Alert)
        .and_then(|s| s.evidence.details.get("alertname"));
    let words: Vec<String> = names
        .iter()
        .take(2)
        .map(|n| match (n, alert_name) {
            (SignalName::Alert, Some(a)) => format!("alert {a}"),
            _ => phrase(*n).to_string(),
        })
        .collect();
    let subject = if owner.kind == "AlertGroup" {
        alert_name
            .map(|a| format!("Alert {a}"))
            .unwrap_or_else(|| "Alert group".into())
    } else {
        owner.to_string()
    };
    (owner, format!("{subject}: {}", words.join(", ")))
}

fn node_phrase(node: &Signal) -> String {
    match node.name {
        SignalName::NodeNotReady => "NotReady".into(),
        // The condition's name (MemoryPressure, DiskPressure...) says more than the signal's.
        _ if !node.evidence.reason.is_empty() => node.evidence.reason.clone(),
        _ => phrase(node.name).into(),
    }
}
