//! The postmortem as stored and rendered: facts Lookout recorded, and a narrative written by
//! the model or derived from those facts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::chat::redact::Redact;
use crate::correlate::Severity;
use crate::detect::SignalName;

/// One incident's postmortem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Postmortem {
    /// `prod-eu-1/INC-2041`: also the key it is stored under.
    pub incident_id: String,
    pub cluster: String,
    pub title: String,
    /// What the incident is about (`Deployment shop/web`, `Node n1`).
    pub resource: String,
    pub outcome: Outcome,
    pub opened_at: DateTime<Utc>,
    /// When it resolved or escalated (the assembly time while still open).
    pub ended_at: DateTime<Utc>,
    pub impact: Impact,
    /// The latest diagnosis recorded, if any.
    #[serde(default)]
    pub diagnosis: Option<DiagnosisFacts>,
    /// The compact timeline, oldest first.
    pub timeline: Vec<Moment>,
    /// Actions that were executed (or refused at execution), in order.
    pub actions: Vec<ActionTaken>,
    /// Proposals people rejected, or that expired unanswered.
    pub rejected: Vec<Rejected>,
    pub narrative: Narrative,
}

/// How the incident ended, as far as the postmortem is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Resolved,
    Escalated,
    Dismissed,
    Merged,
    /// Still open (a postmortem asked for early).
    Ongoing,
}

/// What was affected, and how badly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Impact {
    pub severity: Severity,
    /// The severity score (0-100).
    pub score: u32,
    pub duration_secs: i64,
    /// Root workloads with signals (`Deployment shop/web`).
    pub workloads: Vec<String>,
    /// Pods with signals (`shop/web-5d8f-x1`), at most a few; `pod_count` has them all.
    pub pods: Vec<String>,
    pub pod_count: usize,
    pub namespaces: Vec<String>,
    pub nodes: Vec<String>,
    /// Every signal name seen, heaviest first.
    pub signals: Vec<SignalSeen>,
}

/// A signal name and how many objects raised it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalSeen {
    pub name: SignalName,
    pub count: usize,
}

/// The diagnosis behind the root cause.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiagnosisFacts {
    pub at: DateTime<Utc>,
    pub root_cause: String,
    #[serde(default)]
    pub confidence: Option<f64>,
    /// `rules` or `model gpt-4o`.
    pub source: String,
    #[serde(default)]
    pub evidence: Vec<String>,
}

/// One line of the compact timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moment {
    pub at: DateTime<Utc>,
    pub kind: MomentKind,
    /// A person (`slack:U0123`); absent for Lookout itself.
    #[serde(default)]
    pub actor: Option<String>,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MomentKind {
    Detected,
    Severity,
    Analysis,
    Proposal,
    Decision,
    Action,
    Verification,
    Resolution,
    Escalation,
    /// Any other state transition.
    State,
    Merge,
    Note,
    /// Entries left out to keep the list compact; the text says how many.
    Omitted,
}

/// An action that ran, who let it, and what came of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionTaken {
    pub at: DateTime<Utc>,
    /// `A-7`, when it went through an approval.
    #[serde(default)]
    pub approval: Option<String>,
    /// `deployment.adjust_resources`.
    pub action: String,
    pub summary: String,
    /// As proposed; null when the proposal was not recorded.
    #[serde(default)]
    pub params: Value,
    #[serde(default)]
    pub risk: Option<String>,
    /// `runbook:<name>`, `diagnosis` or `agent`.
    #[serde(default)]
    pub source: Option<String>,
    /// Everyone who approved it (two for high risk, where required).
    pub approved_by: Vec<String>,
    #[serde(default)]
    pub approved_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub platform: Option<String>,
    /// `ok`, `failed`, `refused`, `stale` (or whatever was recorded).
    pub result: String,
    #[serde(default)]
    pub error: Option<String>,
    /// Verification and rollback outcomes, in order.
    pub checks: Vec<Check>,
}

/// A verification or rollback after an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub at: DateTime<Utc>,
    /// `verified`, `verification_failed`, `rolled_back`, `rollback_failed`.
    pub what: String,
    pub details: String,
}

/// A proposal that did not go ahead, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub approval: Option<String>,
    pub action: String,
    pub summary: String,
    #[serde(default)]
    pub params: Value,
    /// `rejected` or `expired`.
    pub verdict: String,
    #[serde(default)]
    pub by: Option<String>,
    #[serde(default)]
    pub platform: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// The parts told in sentences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Narrative {
    pub summary: String,
    pub impact: String,
    pub root_cause: String,
    pub lessons_learned: Vec<String>,
    pub prevention: Vec<String>,
    pub source: NarrativeSource,
}

/// Who wrote the narrative.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NarrativeSource {
    /// Lookout, from the facts; `fallback` says why the model's was not used, if one was asked.
    Facts {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fallback: Option<String>,
    },
    Model {
        model: String,
    },
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Resolved => "resolved",
            Outcome::Escalated => "escalated",
            Outcome::Dismissed => "dismissed",
            Outcome::Merged => "merged",
            Outcome::Ongoing => "ongoing",
        }
    }
}

impl MomentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MomentKind::Detected => "detected",
            MomentKind::Severity => "severity",
            MomentKind::Analysis => "analysis",
            MomentKind::Proposal => "proposal",
            MomentKind::Decision => "decision",
            MomentKind::Action => "action",
            MomentKind::Verification => "verification",
            MomentKind::Resolution => "resolution",
            MomentKind::Escalation => "escalation",
            MomentKind::State => "state",
            MomentKind::Merge => "merge",
            MomentKind::Note => "note",
            MomentKind::Omitted => "…",
        }
    }
}

impl ActionTaken {
    /// `succeeded; verified: 3/3 pods ready`, `failed: ...`, `refused: ...`.
    pub fn result_line(&self) -> String {
        let error = self
            .error
            .as_deref()
            .map(|e| format!(": {e}"))
            .unwrap_or_default();
        let mut line = match self.result.as_str() {
            "ok" => "succeeded".to_string(),
            "failed" => format!("failed{error}"),
            "refused" => format!("refused{error}"),
            "stale" => format!("not run: the object changed after approval{error}"),
            other => format!("{other}{error}"),
        };
        for c in &self.checks {
            let what = c.what.replace('_', " ");
            if c.details.is_empty() {
                line.push_str(&format!("; {what}"));
            } else {
                line.push_str(&format!("; {what}: {}", c.details));
            }
        }
        line
    }

    /// Whether it worked and nothing after it said otherwise.
    pub fn succeeded(&self) -> bool {
        self.result == "ok"
            && self
                .checks
                .last()
                .is_none_or(|c| matches!(c.what.as_str(), "verified"))
    }
}

impl Postmortem {
    pub fn duration(&self) -> chrono::Duration {
        chrono::Duration::seconds(self.impact.duration_secs)
    }

    /// Passes every piece of text that came from the cluster, a person or the model through
    /// `redact`: what is posted and stored never carries a secret that leaked into an event,
    /// a log line, an error or a rejection reason.
    pub fn redacted(mut self, redact: &dyn Redact) -> Self {
        let r = |s: &mut String| *s = redact.redact(s);
        r(&mut self.title);
        r(&mut self.resource);
        self.impact.workloads.iter_mut().for_each(r);
        self.impact.pods.iter_mut().for_each(r);
        self.impact.namespaces.iter_mut().for_each(r);
        self.impact.nodes.iter_mut().for_each(r);
        if let Some(d) = &mut self.diagnosis {
            r(&mut d.root_cause);
            r(&mut d.source);
            d.evidence.iter_mut().for_each(r);
        }
        for m in &mut self.timeline {
            r(&mut m.text);
        }
        for a in &mut self.actions {
            r(&mut a.summary);
            redact_json(&mut a.params, redact);
            a.error.iter_mut().for_each(r);
            a.checks.iter_mut().for_each(|c| r(&mut c.details));
        }
        for x in &mut self.rejected {
            r(&mut x.summary);
            redact_json(&mut x.params, redact);
            x.reason.iter_mut().for_each(r);
        }
        self.narrative = self.narrative.redacted(redact);
        self
    }
}

impl Narrative {
    pub fn redacted(mut self, redact: &dyn Redact) -> Self {
        let r = |s: &mut String| *s = redact.redact(s);
        r(&mut self.summary);
        r(&mut self.impact);
        r(&mut self.root_cause);
        self.lessons_learned.iter_mut().for_each(r);
        self.prevention.iter_mut().for_each(r);
        self
    }
}

/// Redacts every string inside a JSON value (action parameters can carry config values).
fn redact_json(value: &mut Value, redact: &dyn Redact) {
    match value {
        Value::String(s) => *s = redact.redact(s),
        Value::Array(items) => items.iter_mut().for_each(|v| redact_json(v, redact)),
        Value::Object(map) => map.values_mut().for_each(|v| redact_json(v, redact)),
        _ => {}
    }
}
