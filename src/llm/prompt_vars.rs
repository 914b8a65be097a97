//! The data each prompt template is rendered with: one struct per template, so a template and
//! its callers agree on names at compile time on the Rust side, and strict mode catches the
//! template side. Every field always serializes (an absent value is `null`, an empty list
//! `[]`), so only a misspelt name in a template is "missing".
//!
//! Cluster text in these fields must already be redacted; rendering only neutralises `<data>`
//! tags so such text cannot close the block it is quoted in.

use serde::Serialize;
use serde_json::{Map, Value};

use super::tools::ToolSpec;

/// `system.hbs`.
#[derive(Debug, Clone, Serialize)]
pub struct SystemVars {
    pub cluster: String,
}

/// The incident as prompts show it.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentBrief {
    /// `prod-eu-1/INC-2041`.
    pub id: String,
    pub title: String,
    pub severity: String,
    /// `Deployment shop/checkout`.
    pub resource: String,
    /// Signal names, most important first.
    pub signals: Vec<String>,
}

/// An action the model may suggest, listed compactly instead of with its full schema.
#[derive(Debug, Clone, Serialize)]
pub struct ActionBrief {
    /// `adjust_resources(namespace: string, ...)`.
    pub signature: String,
    pub description: String,
}

impl From<&ToolSpec> for ActionBrief {
    fn from(t: &ToolSpec) -> Self {
        Self {
            signature: t.signature(),
            description: t.description.clone(),
        }
    }
}

/// `diagnosis.hbs`.
#[derive(Debug, Clone, Serialize)]
pub struct DiagnosisVars {
    pub incident: IncidentBrief,
    /// The redacted context (status, pods, events, logs, rollout history...).
    pub context: String,
    /// Read-only tool calls allowed before answering; 0 when no tools are offered.
    pub max_tool_calls: u32,
    /// Actions that may appear in `suggested_actions`.
    pub actions: Vec<ActionBrief>,
}

/// A proposal a person rejected.
#[derive(Debug, Clone, Serialize)]
pub struct Rejection {
    pub action: String,
    pub params: Map<String, Value>,
    /// `slack:U0123`.
    pub by: String,
    pub reason: String,
}

/// An action that ran and did not work.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub action: String,
    pub params: Map<String, Value>,
    pub error: String,
}

/// `agent_step.hbs`: one observe-decide-act step.
#[derive(Debug, Clone, Serialize)]
pub struct AgentStepVars {
    pub incident: IncidentBrief,
    /// The current diagnosis in a line, if there is one.
    pub diagnosis: Option<String>,
    /// Freshly observed, redacted state.
    pub context: String,
    pub step: u32,
    pub max_steps: u32,
    pub attempt: u32,
    pub max_attempts: u32,
    /// One line per earlier step: what was looked at or done and what came of it.
    pub history: Vec<String>,
    pub rejections: Vec<Rejection>,
    pub failures: Vec<Failure>,
}

/// One line of the incident's timeline.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineLine {
    /// `09:14:03`.
    pub at: String,
    pub what: String,
}

/// An action that ran.
#[derive(Debug, Clone, Serialize)]
pub struct ExecutedAction {
    pub action: String,
    pub params: Map<String, Value>,
    pub approved_by: String,
    /// `succeeded, verified healthy in 48s`, `failed: ...`, `rolled back`.
    pub result: String,
}

/// `postmortem.hbs`.
#[derive(Debug, Clone, Serialize)]
pub struct PostmortemVars {
    pub incident: IncidentBrief,
    /// `resolved` or `escalated`.
    pub outcome: String,
    pub opened_at: String,
    pub ended_at: String,
    /// `42m`.
    pub duration: String,
    pub affected: Vec<String>,
    pub diagnosis: Option<String>,
    pub timeline: Vec<TimelineLine>,
    pub actions: Vec<ExecutedAction>,
    pub rejected: Vec<Rejection>,
}

/// `conversation.hbs`: someone asked the bot a question.
#[derive(Debug, Clone, Serialize)]
pub struct ConversationVars {
    /// Display name of the person asking.
    pub asker: String,
    pub question: String,
    pub open_incidents: Vec<IncidentBrief>,
    pub max_tool_calls: u32,
    /// Longest answer, in lines.
    pub max_lines: u32,
}
