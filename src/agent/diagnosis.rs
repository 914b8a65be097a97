//! Diagnoses: what is wrong and what to do, typed and validated. The model's analysis is
//! parsed into [`Diagnosis`] and checked before use; without a model (or when its answer is
//! unusable) a deterministic diagnosis per signal takes its place, so Lookout always explains
//! what it sees.

use serde::{Deserialize, Serialize};

use crate::correlate;
use crate::detect::{Signal, SignalName};
use crate::incident::Incident;

/// Where a diagnosis came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// Rules per signal: no model configured, or its answer was unusable.
    Rules,
    /// A model's analysis.
    Model { model: String },
}

/// An action the diagnosis suggests (it still goes through planning, guards and approval).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuggestedAction {
    /// A registered action name (`deployment.adjust_resources`).
    pub action: String,
    /// Its parameters, checked against the action's schema before use.
    pub params: serde_json::Value,
    /// Why, in one sentence.
    pub reason: String,
}

/// What the model must return (the `diagnosis.hbs` prompt asks for exactly this).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Analysis {
    pub root_cause: String,
    /// 0.0 to 1.0.
    pub confidence: f64,
    #[serde(default)]
    pub evidence: Vec<String>,
    #[serde(default)]
    pub recommendations: Vec<String>,
    #[serde(default)]
    pub suggested_actions: Vec<SuggestedAction>,
}

/// A diagnosis in use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnosis {
    #[serde(flatten)]
    pub analysis: Analysis,
    pub source: Source,
}

/// Why an analysis was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiagnosisError {
    #[error("root_cause is empty")]
    NoRootCause,
    #[error("confidence {0} is outside 0..=1")]
    Confidence(String),
    #[error("{field} is too long ({len} > {max} characters)")]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("suggested action {index}: {reason}")]
    Action { index: usize, reason: String },
}

const MAX_TEXT: usize = 2_000;
const MAX_ITEMS: usize = 10;

impl Analysis {
    /// Checks shape and sizes; `check_action` validates each suggested action (known name,
    /// parameters matching its schema) and says why not.
    pub fn validate(
        &self,
        check_action: impl Fn(&SuggestedAction) -> Result<(), String>,
    ) -> Result<(), DiagnosisError> {
        if self.root_cause.trim().is_empty() {
            return Err(DiagnosisError::NoRootCause);
        }
        if !(0.0..=1.0).contains(&self.confidence) || self.confidence.is_nan() {
            return Err(DiagnosisError::Confidence(self.confidence.to_string()));
        }
        let long = |field: &'static str, s: &str| {
            let len = s.chars().count();
            (len > MAX_TEXT).then_some(DiagnosisError::TooLong {
                field,
                len,
                max: MAX_TEXT,
            })
        };
        if let Some(e) = long("root_cause", &self.root_cause) {
            return Err(e);
        }
        for (field, list) in [
            ("evidence", &self.evidence),
            ("recommendations", &self.recommendations),
        ] {
            if list.len() > MAX_ITEMS {
                return Err(DiagnosisError::TooLong {
                    field,
                    len: list.len(),
                    max: MAX_ITEMS,
                });
            }
            if let Some(e) = list.iter().find_map(|s| long(field, s)) {
                return Err(e);
            }
        }
        if self.suggested_actions.len() > MAX_ITEMS {
            return Err(DiagnosisError::TooLong {
                field: "suggested_actions",
                len: self.suggested_actions.len(),
                max: MAX_ITEMS,
            });
        }
        for (index, a) in self.suggested_actions.iter().enumerate() {
            check_action(a).map_err(|reason| DiagnosisError::Action { index, reason })?;
        }
        Ok(())
    }
}

impl Diagnosis {
    /// One line for the incident card.
    pub fn one_line(&self) -> String {
        let first = self
            .analysis
            .root_cause
            .split_terminator(['\n', '.'])
            .next()
            .unwrap_or_default()
            .trim();
        let mut line: String = first.chars().take(200).collect();
        if let Source::Model { .. } = self.source {
            line.push_str(&format!(
                " ({:.0}% confidence)",
                self.analysis.confidence * 100.0
            ));
        }
        line
    }
}

/// The rules' diagnosis: the heaviest active signal explains the incident.
pub fn deterministic(incident: &Incident) -> Diagnosis {
    let mut active: Vec<&Signal> = incident.active_signals().collect();
    if active.is_empty() {
        active = incident.signals.values().map(|e| &e.signal).collect();
    }
    active.sort_by_key(|s| std::cmp::Reverse((correlate::default_weight(s.name), s.name)));
    let analysis = match active.first() {
        Some(s) => explain(s, incident),
        None => Analysis {
            root_cause: "No signal is left to explain this incident.".into(),
            confidence: 0.2,
            evidence: vec![],
            recommendations: vec![],
            suggested_actions: vec![],
        },
    };
    Diagnosis {
        analysis,
        source: Source::Rules,
    }
}

fn detail<'a>(s: &'a Signal, key: &str) -> &'a str {
    s.evidence
        .details
        .get(key)
        .map(String::as_str)
        .unwrap_or("")
}

fn explain(s: &Signal, incident: &Incident) -> Analysis {
    let what = s.object.to_string();
    let owner = s.owner.to_string();
    let container = s
        .evidence
        .container
        .clone()
        .unwrap_or_else(|| "its container".into());
    let message = s.evidence.message.trim();
    let quote = |m: &str| {
        if m.is_empty() {
            String::new()
        } else {
            format!(" ({m})")
        }
    };
    let deploy = s.owner.kind == "Deployment";
    let (root_cause, recommendations, suggested): (String, Vec<String>, Vec<SuggestedAction>) =
        match s.name {
            SignalName::OomKilled => {
                let limit = detail(s, "memory_limit");
                let root = if limit.is_empty() {
                    format!("Container {container} of {what} was OOM-killed with no memory limit: the node ran out of memory.")
                } else {
                    format!("Container {container} of {what} was OOM-killed at its memory limit of {limit}: it needs more memory than it is given, or it leaks.")
                };
                (
                    root,
                    vec![
                        "Raise the memory limit within reason, then watch whether usage keeps growing (a leak).".into(),
                        "Compare with the memory the application needs at peak (heap settings, caches).".into(),
                    ],
                    if deploy && !limit.is_empty() {
                        vec![SuggestedAction {
                            action: "deployment.adjust_resources".into(),
                            params: serde_json::json!({
                                "namespace": s.owner.namespace, "name": s.owner.name,
                                "container": container, "memory_limit": doubled(limit),
                            }),
                            reason: format!("raise the memory limit of {container} from {limit}"),
                        }]
                    } else {
                        vec![]
                    },
                )
            }
            SignalName::CrashLoop | SignalName::RunContainerError | SignalName::HighRestarts => (
                format!(
                    "Container {container} of {what} keeps failing{}; its previous logs show why.",
                    quote(message)
                ),
                vec![
                    "Read the previous container's logs for the error.".into(),
                    "If it started right after a rollout, roll back.".into(),
                ],
                vec![],
            ),
            SignalName::ImagePull => (
                format!(
                    "{what} cannot pull image {}{}.",
                    detail(s, "image"),
                    quote(message)
                ),
                vec![
                    "Check the image name and tag, and the registry's credentials (imagePullSecrets).".into(),
                    "If a rollout introduced the image, roll back.".into(),
                ],
                vec![],
            ),
            SignalName::ContainerConfigError | SignalName::MountFailed => (
                format!(
                    "{what} references configuration that does not exist{}.",
                    quote(message)
                ),
                vec!["Create the missing ConfigMap or Secret (or key), or fix the reference; the pods start by themselves once it exists.".into()],
                vec![],
            ),
            SignalName::Unschedulable => (
                format!("No node can take pods of {owner}{}.", quote(message)),
                vec!["Lower the requests, add capacity, or fix selectors, taints and affinity.".into()],
                vec![],
            ),
            SignalName::NotReady | SignalName::ProbeFailing => (
                format!("Pods of {owner} run but do not become Ready{}.", quote(message)),
                vec!["Check the readiness probe and what it depends on (databases, downstream services).".into()],
                vec![],
            ),
            SignalName::Evicted => (
                format!("Pods of {owner} were evicted{}.", quote(message)),
                vec!["Check the node's pressure and the pods' requests.".into()],
                vec![],
            ),
            SignalName::RolloutStuck | SignalName::ReplicasUnavailable => (
                format!("{owner} cannot reach its desired replicas{}.", quote(message)),
                vec!["Look at the newest ReplicaSet's pods; if the last rollout caused it, roll back.".into()],
                if deploy {
                    vec![SuggestedAction {
                        action: "deployment.rollback".into(),
                        params: serde_json::json!({"namespace": s.owner.namespace, "name": s.owner.name}),
                        reason: "the rollout does not progress".into(),
                    }]
                } else {
                    vec![]
                },
            ),
            SignalName::ReplicaFailure => (
                format!("{owner} cannot create pods{}.", quote(message)),
                vec!["Check the namespace's ResourceQuota and LimitRange.".into()],
                vec![],
            ),
            SignalName::StatefulsetNotReady | SignalName::DaemonsetNotReady => (
                format!("{owner} has pods that are not ready{}.", quote(message)),
                vec!["Look at the unready pods' state and events.".into()],
                vec![],
            ),
            SignalName::JobFailed | SignalName::CronjobFailed => (
                format!("{what} failed{}.", quote(message)),
                vec!["Read the failed pods' logs; retry once the cause is fixed.".into()],
                vec![],
            ),
            SignalName::NodeNotReady => (
                format!(
                    "{what} is not Ready{}; {} pods are on it.",
                    quote(message),
                    detail(s, "pods")
                ),
                vec!["Cordon the node so nothing new lands on it, then drain it so its pods run elsewhere.".into()],
                vec![],
            ),
            SignalName::NodePressure => (
                format!("{what} is under {}{}.", s.evidence.reason, quote(message)),
                vec!["Find what uses the resource on that node; move pods or add capacity.".into()],
                vec![],
            ),
            SignalName::PvcPending | SignalName::PvcLost => (
                format!("{what} is not bound{}.", quote(message)),
                vec!["Check the StorageClass and its provisioner.".into()],
                vec![],
            ),
            SignalName::HpaMaxed | SignalName::HpaUnable => (
                format!("{what}: {}{}.", s.evidence.reason, quote(message)),
                vec!["Check the autoscaler's metrics and bounds.".into()],
                vec![],
            ),
            SignalName::Alert => (
                format!("Alertmanager reports {}{}.", s.evidence.reason, quote(message)),
                vec!["Follow the alert's runbook or dashboard.".into()],
                vec![],
            ),
        };
    let mut evidence = vec![format!("{}: {} on {}", s.name, s.evidence.reason, what)];
    if let Some(count) = s.evidence.count {
        evidence.push(format!("count: {count}"));
    }
    let others = incident.signal_counts();
    if others.len() > 1 {
        evidence.push(format!(
            "also: {}",
            others
                .keys()
                .filter(|n| **n != s.name)
                .map(|n| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Analysis {
        root_cause,
        confidence: 0.6,
        evidence,
        recommendations,
        suggested_actions: suggested,
    }
}

/// Twice a Kubernetes memory quantity (`64Mi` -> `128Mi`); the input when it cannot be read.
pub fn doubled(q: &str) -> String {
    let q = q.trim();
    let split = q
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(q.len());
    let (n, unit) = q.split_at(split);
    match n.parse::<f64>() {
        Ok(v) => {
            let d = v * 2.0;
            if d.fract() == 0.0 {
                format!("{}{unit}", d as u64)
            } else {
                format!("{d}{unit}")
            }
        }
        Err(_) => q.to_string(),
    }
}

#[cfg(test)]
mod tests;
