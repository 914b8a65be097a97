//! Correlation, the pure part: which incident keys a signal carries, and how severe a group of
//! signals is. The stateful grouping (settle, merge, quiet period) lives in
//! `incident::tracker`, which calls these.
//!
//! ## Severity
//! Every signal name has a weight (defaults below, all configurable). An incident's score is
//!
//! ```text
//! score = max(weight of its active signals)              one fault, one weight: a crash loop that
//!                                                          also makes pods unready is not four problems
//!       + min(15, round(5 * log2(pods affected)))         breadth: pods (for a node, the pods on it)
//!       + min(15, 5 * (workloads affected - 1))           breadth: workloads
//!       + min(15, 10 * (nodes affected - 1))              breadth: failing nodes
//!       + 15 if a namespace involved is a production one
//! ```
//!
//! capped at 100; >= 80 critical, >= 60 high, >= 40 medium, else low. Severity only rises while
//! an incident is open. Alerts take their weight from their `severity` label (critical 65,
//! warning = the `alert` weight, info 20).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::detect::{Cause, ObjectRef, Signal, SignalName};

/// How signals become incidents.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorrelationConfig {
    /// Signals sharing a cause (missing Secret/ConfigMap, failing registry, exhausted quota)
    /// within this window of each other form one incident.
    #[serde(with = "crate::config::duration")]
    pub window: Duration,
    /// A new incident waits this long before it is announced, so a storm coalesces first.
    #[serde(with = "crate::config::duration")]
    pub settle: Duration,
    /// An incident whose signals have all been clear this long resolves itself.
    #[serde(with = "crate::config::duration")]
    pub quiet_period: Duration,
    /// How long a dedup key lives in Redis (it is released early when its incident ends).
    #[serde(with = "crate::config::duration")]
    pub dedup_ttl: Duration,
    /// Weight overrides per signal name (0-100), e.g. `{ oom_killed: 50 }`.
    pub weights: BTreeMap<SignalName, u32>,
}

impl Default for CorrelationConfig {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(5 * 60),
            settle: Duration::from_secs(5),
            quiet_period: Duration::from_secs(10 * 60),
            dedup_ttl: Duration::from_secs(2 * 3600),
            weights: BTreeMap::new(),
        }
    }
}

/// The default weight of every signal name.
pub fn default_weight(name: SignalName) -> u32 {
    use SignalName::*;
    match name {
        CrashLoop => 40,
        OomKilled => 45,
        ImagePull => 40,
        ContainerConfigError => 40,
        RunContainerError => 40,
        HighRestarts => 25,
        Unschedulable => 35,
        NotReady => 30,
        ProbeFailing => 30,
        Evicted => 30,
        MountFailed => 35,
        RolloutStuck => 40,
        ReplicasUnavailable => 35,
        ReplicaFailure => 40,
        StatefulsetNotReady => 35,
        DaemonsetNotReady => 35,
        JobFailed => 30,
        CronjobFailed => 30,
        NodeNotReady => 65,
        NodePressure => 45,
        PvcPending => 20,
        PvcLost => 50,
        HpaMaxed => 30,
        HpaUnable => 35,
        Alert => 40,
    }
}

/// Incident severity.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    #[default]
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] = [Self::Low, Self::Medium, Self::High, Self::Critical];

    pub fn from_score(score: u32) -> Self {
        match score {
            80.. => Self::Critical,
            60..=79 => Self::High,
            40..=59 => Self::Medium,
            _ => Self::Low,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The weight of one signal under `config`.
pub fn weight(config: &CorrelationConfig, signal: &Signal) -> u32 {
    if signal.name == SignalName::Alert {
        // Alertmanager already says how bad it is.
        match signal.evidence.details.get("severity").map(String::as_str) {
            Some("critical" | "page") => return 65,
            Some("info" | "none") => return 20,
            _ => {}
        }
    }
    config
        .weights
        .get(&signal.name)
        .copied()
        .unwrap_or_else(|| default_weight(signal.name))
        .min(100)
}

/// What an incident's active signals touch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Breadth {
    pub pods: usize,
    pub workloads: usize,
    pub nodes: usize,
    pub production: bool,
}

/// Measures the breadth of a set of active signals.
pub fn breadth<'a>(
    signals: impl IntoIterator<Item = &'a Signal>,
    production_namespaces: &BTreeSet<String>,
) -> Breadth {
    let mut pods = BTreeSet::new();
    let mut workloads = BTreeSet::new();
    let mut nodes = BTreeSet::new();
    let mut pods_on_failing_nodes = 0usize;
    let mut production = false;
    for s in signals {
        if s.object.kind == "Pod" {
            pods.insert(&s.object);
        }
        if s.object.kind == "Node" {
            nodes.insert(&s.object.name);
            let on_node = s
                .evidence
                .details
                .get("pods")
                .and_then(|p| p.parse::<usize>().ok())
                .unwrap_or(0);
            pods_on_failing_nodes = pods_on_failing_nodes.max(on_node);
        }
        if !matches!(s.owner.kind.as_str(), "Node" | "AlertGroup") {
            workloads.insert(&s.owner);
        }
        for ns in [&s.object.namespace, &s.owner.namespace]
            .into_iter()
            .flatten()
        {
            production |= production_namespaces.contains(ns);
        }
    }
    Breadth {
        pods: pods.len().max(pods_on_failing_nodes),
        workloads: workloads.len(),
        nodes: nodes.len(),
        production,
    }
}

/// The score of a group of signals whose highest weight is `max_weight`.
pub fn score(max_weight: u32, b: &Breadth) -> u32 {
    let pods = if b.pods > 1 {
        ((5.0 * (b.pods as f64).log2()).round() as u32).min(15)
    } else {
        0
    };
    let workloads = (5 * b.workloads.saturating_sub(1) as u32).min(15);
    let nodes = (10 * b.nodes.saturating_sub(1) as u32).min(15);
    let production = if b.production { 15 } else { 0 };
    (max_weight + pods + workloads + nodes + production).min(100)
}

/// Scores a set of active signals.
pub fn score_signals<'a>(
    config: &CorrelationConfig,
    signals: impl IntoIterator<Item = &'a Signal> + Clone,
    production_namespaces: &BTreeSet<String>,
) -> u32 {
    let max_weight = signals
        .clone()
        .into_iter()
        .map(|s| weight(config, s))
        .max()
        .unwrap_or(0);
    score(max_weight, &breadth(signals, production_namespaces))
}

/// The keys by which a signal can join an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalKeys {
    /// The root owner: signals of one workload are one incident.
    pub owner: String,
    /// For node signals: the node. Pods on a failing node join its incident.
    pub node: Option<String>,
    /// For pod signals: the node the pod runs on (joins a node incident if one is open).
    pub on_node: Option<String>,
    /// A shared cause (joins an incident with the same cause within the window).
    pub cause: Option<String>,
}

pub fn owner_key(owner: &ObjectRef) -> String {
    format!(
        "owner:{}/{}/{}",
        owner.kind,
        owner.namespace.as_deref().unwrap_or(""),
        owner.name
    )
}

pub fn node_key(node: &str) -> String {
    format!("node:{node}")
}

pub fn cause_key(cause: &Cause) -> String {
    match cause {
        Cause::MissingObject {
            kind,
            namespace,
            name,
        } => format!("cause:missing:{kind}/{namespace}/{name}"),
        Cause::ImageRegistry { host, error } => format!("cause:registry:{host}:{error}"),
        Cause::QuotaExhausted { namespace, name } => format!("cause:quota:{namespace}/{name}"),
    }
}

pub fn keys(signal: &Signal) -> SignalKeys {
    let is_node = signal.object.kind == "Node";
    SignalKeys {
        owner: owner_key(&signal.owner),
        node: is_node.then(|| node_key(&signal.object.name)),
        on_node: if is_node {
            None
        } else {
            signal.node.as_deref().map(node_key)
        },
        cause: signal.cause.as_ref().map(cause_key),
    }
}

/// The dedup key of a signal: SHA-256 of `cluster|signal|namespace|kind|name`, hex.
pub fn dedup_key(cluster: &str, signal: &crate::detect::SignalKey) -> String {
    use sha2::{Digest, Sha256};
    let o = &signal.object;
    let mut h = Sha256::new();
    h.update(
        format!(
            "{cluster}|{}|{}|{}|{}",
            signal.name,
            o.namespace.as_deref().unwrap_or(""),
            o.kind,
            o.name
        )
        .as_bytes(),
    );
    format!("dedup:{}", hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests;
