//! A remediation's state, persisted after every step so a restarted bot carries on where it
//! stopped: the pending approval's button still works, an execution interrupted by a crash is
//! reconciled (did it land?) rather than repeated or lost.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::actions::Plan;
use crate::agent::diagnosis::{Diagnosis, SuggestedAction};
use crate::runbook::Step;

/// Store collection of remediation states, by incident id.
pub const REMEDIATIONS: &str = "remediations";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    /// Looking at the incident (context, model or rules).
    Investigating,
    /// Asking the model for the next move.
    Deciding,
    /// Planning an action (guards, dry-run) before asking for approval.
    Planning,
    /// Waiting for a human decision on this approval.
    Awaiting { approval: String },
    /// The approval's action is being executed (recorded before it starts).
    Executing { approval: String },
    /// Checking the action made things healthy.
    Verifying { approval: String },
    /// Undoing an action that did not help.
    RollingBack { approval: String },
    /// Waiting before looking again.
    Observing { until: DateTime<Utc> },
    /// Nothing more to do; the incident resolves when its signals clear.
    Done,
    /// Handed to humans.
    Escalated,
    /// The incident ended (resolved, dismissed, merged).
    Stopped,
}

impl Status {
    pub fn is_final(&self) -> bool {
        matches!(self, Status::Done | Status::Escalated | Status::Stopped)
    }

    /// Work that touched the cluster and must be seen through (verified or rolled back)
    /// even if the incident ends meanwhile.
    pub fn in_flight(&self) -> bool {
        matches!(
            self,
            Status::Executing { .. } | Status::Verifying { .. } | Status::RollingBack { .. }
        )
    }
}

/// Where the proposals come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "path", rename_all = "snake_case")]
pub enum Path {
    Unset,
    Runbook {
        name: String,
        steps: Vec<StepRecord>,
        next: usize,
    },
    Plan {
        actions: Vec<SuggestedAction>,
        next: usize,
    },
    Agent,
}

/// A runbook step as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub action: String,
    pub params: serde_json::Value,
    pub why: String,
}

impl From<Step> for StepRecord {
    fn from(s: Step) -> Self {
        Self {
            action: s.action,
            params: s.params,
            why: s.why,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejectionNote {
    pub approval: String,
    pub action: String,
    pub params: serde_json::Value,
    pub by: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureNote {
    pub action: String,
    pub params: serde_json::Value,
    pub error: String,
}

/// An action that was executed and verified (for the learned runbook and the postmortem).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fixed {
    pub action: String,
    pub params: serde_json::Value,
    pub summary: String,
}

/// One incident's remediation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Remediation {
    pub incident: String,
    #[serde(flatten)]
    pub status: Status,
    pub path: Path,
    /// 1-based; a failed strategy starts the next attempt.
    pub attempt: u32,
    /// Agent steps taken.
    pub steps: u32,
    /// Actions executed (the per-incident budget).
    pub executed: u32,
    pub diagnosis: Option<Diagnosis>,
    /// One line per earlier step, for the model.
    pub history: Vec<String>,
    pub rejections: Vec<RejectionNote>,
    pub failures: Vec<FailureNote>,
    pub fixed: Vec<Fixed>,
    /// The plan waiting for approval or being executed (a copy of the approval's).
    pub plan: Option<Plan>,
    /// The last execution, for verification after a restart.
    #[serde(default)]
    pub execution: Option<crate::actions::Execution>,
    pub started_at: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
    /// The incident ended while an action was executing, verifying or rolling back: that
    /// finishes (and is reported), nothing new starts, then the postmortem is written.
    #[serde(default)]
    pub ended: bool,
    /// An approved action waiting for automation to resume (the pause switch).
    #[serde(default)]
    pub held: Option<String>,
    /// Rejected, and the reason (a thread reply) is awaited before the next step.
    #[serde(default)]
    pub awaiting_reason: bool,
    /// The process running this remediation; another that takes it over (a decision
    /// clicked there) writes itself here, and the first lets go.
    #[serde(default)]
    pub owner: String,
    /// A change a person proposed from a conversation, being planned, approved or carried
    /// out; when it is over the remediation goes back to where it was.
    #[serde(default)]
    pub suggested: Option<SuggestedStep>,
    /// Started for a person's proposal on an incident without automatic remediation; if the
    /// incident comes to qualify (its severity rises), automatic remediation starts from it.
    #[serde(default)]
    pub proposals_only: bool,
}

/// A change proposed from a conversation ("Propose" under a suggested change).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuggestedStep {
    /// The stored suggestion's id (`S-12`).
    pub suggestion: String,
    /// Who clicked Propose (`slack:U0123`).
    pub by: String,
    pub action: String,
    pub params: serde_json::Value,
    pub why: String,
    /// The status before it: `Done` and `Escalated` come back when it was not made;
    /// `Observing` carries on with the remediation's own path. A verified change is `Done`.
    pub before: Status,
    /// It was proposed while a rejection's reason was awaited: the remediation's own path
    /// moves past the rejected step when it carries on.
    #[serde(default)]
    pub after_rejection: bool,
}

impl Remediation {
    pub fn new(incident: &str, now: DateTime<Utc>, timeout: std::time::Duration) -> Self {
        Self {
            incident: incident.to_string(),
            status: Status::Investigating,
            path: Path::Unset,
            attempt: 1,
            steps: 0,
            executed: 0,
            diagnosis: None,
            history: Vec::new(),
            rejections: Vec::new(),
            failures: Vec::new(),
            fixed: Vec::new(),
            plan: None,
            execution: None,
            started_at: now,
            ended: false,
            held: None,
            awaiting_reason: false,
            owner: String::new(),
            suggested: None,
            proposals_only: false,
            deadline: now + chrono::Duration::from_std(timeout).unwrap_or(chrono::Duration::MAX),
        }
    }

    /// Keeps what the model is shown bounded.
    pub fn remember(&mut self, line: String) {
        const KEEP: usize = 12;
        let line: String = line.chars().take(1200).collect();
        self.history.push(line);
        if self.history.len() > KEEP {
            let drop = self.history.len() - KEEP;
            self.history.drain(..drop);
        }
    }
}
