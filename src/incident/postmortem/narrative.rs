//! The narrative parts of a postmortem: derived from the facts when there is no model (or its
//! answer is unusable), and the check a model's answer passes before it replaces them.

use std::collections::BTreeSet;

use super::model::*;
use crate::chat::cards::human_duration;
use crate::correlate::default_weight;
use crate::detect::SignalName;
use crate::llm::PostmortemOutput;

/// Longest summary, impact or root cause the model may write, in characters.
const MAX_PARAGRAPH: usize = 1_500;
/// Longest lesson or prevention item.
const MAX_ITEM: usize = 400;
const MAX_ITEMS: usize = 8;

/// Why the model's narrative was refused (the facts' narrative stays).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NarrativeError {
    #[error("{0} is empty")]
    Empty(String),
    #[error("{field} is too long ({len} > {max} characters)")]
    TooLong {
        field: String,
        len: usize,
        max: usize,
    },
    #[error("{field} has {len} items (at most {max})")]
    TooMany {
        field: &'static str,
        len: usize,
        max: usize,
    },
}

impl Postmortem {
    /// The model's narrative in place of the assembled one, if it passes: every part present
    /// and non-empty, lengths and item counts bounded. Facts (timeline, actions, rejections)
    /// are never the model's.
    pub fn with_narrative(
        mut self,
        output: PostmortemOutput,
        model: &str,
    ) -> Result<Self, NarrativeError> {
        let paragraph = |field: &str, s: String| -> Result<String, NarrativeError> {
            let s = s.trim().to_string();
            let len = s.chars().count();
            if len == 0 {
                return Err(NarrativeError::Empty(field.to_string()));
            }
            if len > MAX_PARAGRAPH {
                return Err(NarrativeError::TooLong {
                    field: field.to_string(),
                    len,
                    max: MAX_PARAGRAPH,
                });
            }
            Ok(s)
        };
        let list = |field: &'static str, items: Vec<String>| {
            if items.is_empty() {
                return Err(NarrativeError::Empty(field.to_string()));
            }
            if items.len() > MAX_ITEMS {
                return Err(NarrativeError::TooMany {
                    field,
                    len: items.len(),
                    max: MAX_ITEMS,
                });
            }
            items
                .into_iter()
                .enumerate()
                .map(|(i, s)| {
                    let s = s.trim().to_string();
                    let len = s.chars().count();
                    let name = || format!("{field}[{i}]");
                    match len {
                        0 => Err(NarrativeError::Empty(name())),
                        _ if len > MAX_ITEM => Err(NarrativeError::TooLong {
                            field: name(),
                            len,
                            max: MAX_ITEM,
                        }),
                        _ => Ok(s),
                    }
                })
                .collect::<Result<Vec<_>, _>>()
        };
        self.narrative = Narrative {
            summary: paragraph("summary", output.summary)?,
            impact: paragraph("impact", output.impact)?,
            root_cause: paragraph("root_cause", output.root_cause)?,
            lessons_learned: list("lessons_learned", output.lessons_learned)?,
            prevention: list("prevention", output.prevention)?,
            source: NarrativeSource::Model {
                model: model.to_string(),
            },
        };
        Ok(self)
    }
}

/// Stands in until [`deterministic`] has the facts to work from.
pub(super) fn placeholder() -> Narrative {
    Narrative {
        summary: String::new(),
        impact: String::new(),
        root_cause: String::new(),
        lessons_learned: vec![],
        prevention: vec![],
        source: NarrativeSource::Facts { fallback: None },
    }
}

/// The narrative told from the facts alone. `one_line` is the incident's one-line diagnosis,
/// used when the timeline holds no analysis.
pub(super) fn deterministic(
    pm: &Postmortem,
    one_line: Option<&str>,
    signals: &BTreeSet<SignalName>,
) -> Narrative {
    let root_cause = pm
        .diagnosis
        .as_ref()
        .map(|d| d.root_cause.clone())
        .or_else(|| one_line.map(String::from))
        .unwrap_or_else(|| "Not determined: no diagnosis was recorded for this incident.".into());
    let mut heaviest: Vec<SignalName> = signals.iter().copied().collect();
    heaviest.sort_by_key(|n| std::cmp::Reverse((default_weight(*n), *n)));

    let mut lessons: Vec<String> = Vec::new();
    let mut prevention: Vec<String> = Vec::new();
    for name in heaviest.iter().take(2) {
        let (lesson, prevent) = by_signal(*name);
        push_new(&mut lessons, lesson);
        for p in prevent {
            push_new(&mut prevention, p);
        }
    }
    for lesson in from_facts(pm) {
        push_new(&mut lessons, &lesson);
    }
    if lessons.is_empty() {
        lessons.push(
            "Nothing Lookout recorded explains this incident; look at what changed around it."
                .into(),
        );
    }
    if prevention.is_empty() {
        prevention.push(
            "Write a runbook for this kind of incident so the fix is one approval next time."
                .into(),
        );
    }
    lessons.truncate(MAX_ITEMS);
    prevention.truncate(MAX_ITEMS);
    Narrative {
        summary: summary(pm),
        impact: impact(pm),
        root_cause,
        lessons_learned: lessons,
        prevention,
        source: NarrativeSource::Facts { fallback: None },
    }
}

fn summary(pm: &Postmortem) -> String {
    let ended = match pm.outcome {
        Outcome::Resolved => format!("resolved after {}", human_duration(pm.duration())),
        Outcome::Escalated => format!(
            "escalated to people after {}",
            human_duration(pm.duration())
        ),
        Outcome::Dismissed => format!(
            "dismissed as a false alarm after {}",
            human_duration(pm.duration())
        ),
        Outcome::Merged => "merged into another incident".into(),
        Outcome::Ongoing => format!("still open after {}", human_duration(pm.duration())),
    };
    let mut s = format!(
        "{} (severity {}) was detected at {} and {ended}.",
        pm.title,
        pm.impact.severity,
        pm.opened_at.format("%Y-%m-%d %H:%M UTC")
    );
    if !pm.actions.is_empty() {
        let done: Vec<String> = pm
            .actions
            .iter()
            .map(|a| {
                let by = if a.approved_by.is_empty() {
                    String::new()
                } else {
                    format!(" (approved by {})", a.approved_by.join(" and "))
                };
                format!("{}{by}: {}", a.action, a.result_line())
            })
            .collect();
        s.push_str(&format!(" Remediation: {}.", done.join("; then ")));
    }
    match pm.rejected.len() {
        0 => {}
        1 => s.push_str(" One proposal did not go ahead."),
        n => s.push_str(&format!(" {n} proposals did not go ahead.")),
    }
    s
}

fn impact(pm: &Postmortem) -> String {
    let i = &pm.impact;
    let what = if i.workloads.is_empty() {
        pm.resource.clone()
    } else {
        i.workloads.join(", ")
    };
    let pods = match i.pod_count {
        0 => String::new(),
        1 => " (1 pod)".into(),
        n => format!(" ({n} pods)"),
    };
    let namespaces = match i.namespaces.len() {
        0 => String::new(),
        1 => format!(" in namespace {}", i.namespaces[0]),
        _ => format!(" in namespaces {}", i.namespaces.join(", ")),
    };
    format!(
        "{what}{pods}{namespaces} affected for {}; severity {} (score {}).",
        human_duration(pm.duration()),
        i.severity,
        i.score
    )
}

/// What this kind of incident teaches, and what keeps it from coming back.
fn by_signal(name: SignalName) -> (&'static str, &'static [&'static str]) {
    use SignalName::*;
    match name {
        OomKilled => (
            "The memory limit was below what the workload needs at peak.",
            &[
                "Size memory limits from observed peak usage, with headroom.",
                "Alert before memory usage reaches the limit (for example at 90%).",
            ],
        ),
        CrashLoop | RunContainerError | HighRestarts => (
            "The container kept failing on start; the previous container's logs held the reason.",
            &[
                "Gate rollouts on readiness and roll back automatically when new pods crash.",
                "Alert on the restart rate before it becomes a crash loop.",
            ],
        ),
        ImagePull => (
            "An image that could not be pulled reached the cluster.",
            &["Check in CI that the image and tag exist and that the cluster can pull them."],
        ),
        ContainerConfigError | MountFailed => (
            "The workload referenced configuration that did not exist.",
            &[
                "Ship ConfigMaps and Secrets before the workloads that use them, and check references in CI.",
            ],
        ),
        Unschedulable => (
            "No node could take the pods' requests or constraints.",
            &[
                "Keep spare capacity or a cluster autoscaler, and review requests, selectors and taints.",
            ],
        ),
        NotReady | ProbeFailing => (
            "The pods ran but did not become ready.",
            &[
                "Make readiness probes test the service itself, with timeouts that match its startup.",
            ],
        ),
        Evicted | NodePressure => (
            "A node ran short of resources and pods paid for it.",
            &["Set requests that match real usage, and alert on node pressure."],
        ),
        RolloutStuck | ReplicasUnavailable | ReplicaFailure | StatefulsetNotReady
        | DaemonsetNotReady => (
            "The workload could not reach its desired replicas.",
            &["Use progress deadlines with automatic rollback, and check quotas before scaling."],
        ),
        JobFailed | CronjobFailed => (
            "A job failed and its work was not done.",
            &["Alert on job failures, and make jobs idempotent so a retry is safe."],
        ),
        NodeNotReady => (
            "A node went down with pods on it.",
            &["Spread replicas across nodes (anti-affinity, PodDisruptionBudgets)."],
        ),
        PvcPending | PvcLost => (
            "A volume claim could not be bound.",
            &["Watch the StorageClass's provisioner, and alert on claims pending for minutes."],
        ),
        HpaMaxed | HpaUnable => (
            "The autoscaler could not add the capacity that was needed.",
            &["Review the autoscaler's bounds and metrics, and alert when it sits at its maximum."],
        ),
        Alert => (
            "Alertmanager saw this before the workloads' state did.",
            &["Link the alert to a runbook so the fix is repeatable."],
        ),
    }
}

/// Lessons from how the remediation went.
fn from_facts(pm: &Postmortem) -> Vec<String> {
    let mut out = Vec::new();
    let undone = pm.actions.iter().any(|a| {
        a.checks
            .iter()
            .any(|c| matches!(c.what.as_str(), "verification_failed" | "rolled_back"))
    });
    if undone {
        out.push("A fix did not hold; verification caught it and it was rolled back.".into());
    }
    if let Some(a) = pm.actions.iter().rev().find(|a| a.succeeded())
        && pm.outcome == Outcome::Resolved
    {
        out.push(format!("{} fixed it once approved.", a.action));
    }
    if !pm.rejected.is_empty() {
        out.push(
            "People turned down proposals; their reasons show what the automation did not know."
                .into(),
        );
    }
    match pm.outcome {
        Outcome::Escalated => {
            out.push("Lookout could not fix this on its own; people took it over.".into())
        }
        Outcome::Resolved if pm.actions.is_empty() => out
            .push("It cleared without any action; if it comes back, find what triggers it.".into()),
        _ => {}
    }
    out
}

fn push_new(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|i| i == item) {
        list.push(item.to_string());
    }
}
