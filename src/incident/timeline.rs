//! The incident timeline: everything that happened, appended in order to the store. The
//! postmortem and `incident <id>` are built from it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimelineKind {
    /// The incident was opened.
    Detected,
    /// A signal was raised (or joined this incident).
    Signal,
    /// A signal cleared.
    SignalCleared,
    /// The incident's severity rose.
    Severity,
    /// A state transition.
    Transition,
    /// The incident was announced in chat (after the settle window).
    Announced,
    /// Another incident was merged into this one.
    Absorbed,
    /// This incident was merged into another.
    Merged,
    /// A diagnosis.
    Analysis,
    /// A proposed action.
    Proposal,
    /// A human decision on a proposal (who, when, where).
    Decision,
    /// An action executed.
    Action,
    /// An action's result or a verification.
    Outcome,
    /// A chat message about the incident.
    Chat,
    /// Anything else worth keeping.
    Note,
}

/// One timeline entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    pub kind: TimelineKind,
    /// Who did it: a platform identity (`slack:U0123`), or absent for Lookout itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// One line for people.
    pub text: String,
    /// Structured details (the signal, the action's parameters...).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub data: serde_json::Value,
}

impl TimelineEntry {
    pub fn new(at: DateTime<Utc>, kind: TimelineKind, text: impl Into<String>) -> Self {
        Self {
            at,
            kind,
            actor: None,
            text: text.into(),
            data: serde_json::Value::Null,
        }
    }

    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = data;
        self
    }

    pub fn by(mut self, actor: impl Into<String>) -> Self {
        self.actor = Some(actor.into());
        self
    }
}
