//! Asking the model for the narrative: the `postmortem.hbs` prompt is rendered from the
//! postmortem's (redacted) facts, the reply must be a [`PostmortemOutput`] that passes
//! [`Postmortem::with_narrative`]'s checks, and any failure keeps the narrative assembled from
//! the facts, with the reason recorded in its source.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use tracing::{info, instrument, warn};

use super::assemble::assemble;
use super::model::*;
use super::narrative::NarrativeError;
use crate::chat::cards::human_duration;
use crate::chat::redact::Redact;
use crate::incident::{Incident, TimelineEntry};
use crate::llm::{
    ChatRequest, ExecutedAction, IncidentBrief, LlmClient, LlmError, Message, PostmortemOutput,
    PostmortemVars, PromptError, Prompts, Rejection, ReplyKind, StructuredError, SystemVars,
    TimelineLine, parse_json_reply,
};

/// Why the model's narrative was not used.
#[derive(Debug, thiserror::Error)]
enum WriteError {
    #[error(transparent)]
    Prompt(#[from] PromptError),
    #[error(transparent)]
    Llm(#[from] LlmError),
    #[error("the model called a tool instead of answering")]
    ToolCall,
    #[error(transparent)]
    Unusable(#[from] StructuredError),
    #[error("the model's narrative was refused: {0}")]
    Narrative(#[from] NarrativeError),
}

/// The postmortem of `incident`, redacted, with the model's narrative where `llm` is
/// configured and answers usably, otherwise the one assembled from the facts. Never fails:
/// every problem with the model is logged and recorded as the fallback's reason.
#[instrument(skip_all, fields(incident = %incident.id))]
pub async fn write(
    llm: Option<&LlmClient>,
    prompts: &Prompts,
    incident: &Incident,
    timeline: &[TimelineEntry],
    redact: &dyn Redact,
    now: DateTime<Utc>,
) -> Postmortem {
    // Redacted before the prompt is built: nothing unredacted reaches the model.
    let facts = assemble(incident, timeline, now).redacted(redact);
    let Some(llm) = llm.filter(|l| l.enabled()) else {
        return facts;
    };
    match ask(llm, prompts, &facts).await {
        Ok(pm) => {
            info!("postmortem narrative written by the model");
            Postmortem {
                narrative: pm.narrative.redacted(redact),
                ..pm
            }
        }
        Err(error) => {
            warn!(%error, "postmortem narrative from the model unusable; using the assembled one");
            let mut pm = facts;
            pm.narrative.source = NarrativeSource::Facts {
                fallback: Some(error.to_string()),
            };
            pm
        }
    }
}

async fn ask(
    llm: &LlmClient,
    prompts: &Prompts,
    facts: &Postmortem,
) -> Result<Postmortem, WriteError> {
    let request = ChatRequest {
        purpose: "postmortem",
        system: prompts.system(&SystemVars {
            cluster: facts.cluster.clone(),
        })?,
        messages: vec![Message::user(prompts.postmortem(&prompt_vars(facts))?)],
        ..ChatRequest::default()
    };
    let reply = llm.chat(&request).await?;
    let ReplyKind::Text(text) = &reply.kind else {
        return Err(WriteError::ToolCall);
    };
    let output: PostmortemOutput = parse_json_reply(text)?;
    Ok(facts.clone().with_narrative(output, &reply.model)?)
}

/// What `postmortem.hbs` is rendered with: the facts, never the narrative (the model writes
/// that). Pass a redacted postmortem.
pub fn prompt_vars(pm: &Postmortem) -> PostmortemVars {
    let mut affected = pm.impact.workloads.clone();
    if affected.is_empty() {
        affected.push(pm.resource.clone());
    }
    affected.extend(pm.impact.pods.iter().map(|p| format!("Pod {p}")));
    let more = pm.impact.pod_count.saturating_sub(pm.impact.pods.len());
    if more > 0 {
        affected.push(format!("{more} more pods"));
    }
    affected.extend(pm.impact.nodes.iter().map(|n| format!("Node {n}")));
    let stamp = |at: DateTime<Utc>| at.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    PostmortemVars {
        incident: IncidentBrief {
            id: pm.incident_id.clone(),
            title: pm.title.clone(),
            severity: pm.impact.severity.to_string(),
            resource: pm.resource.clone(),
            signals: pm
                .impact
                .signals
                .iter()
                .map(|s| s.name.to_string())
                .collect(),
        },
        outcome: pm.outcome.as_str().to_string(),
        opened_at: stamp(pm.opened_at),
        ended_at: stamp(pm.ended_at),
        duration: human_duration(pm.duration()),
        affected,
        diagnosis: pm.diagnosis.as_ref().map(|d| d.root_cause.clone()),
        timeline: pm
            .timeline
            .iter()
            .map(|m| TimelineLine {
                at: m.at.format("%H:%M:%S").to_string(),
                what: match &m.actor {
                    Some(actor) => format!("{} by {actor}: {}", m.kind.as_str(), m.text),
                    None => format!("{}: {}", m.kind.as_str(), m.text),
                },
            })
            .collect(),
        actions: pm
            .actions
            .iter()
            .map(|a| ExecutedAction {
                action: a.action.clone(),
                params: object(&a.params),
                approved_by: if a.approved_by.is_empty() {
                    "no approval recorded".into()
                } else {
                    a.approved_by.join(" and ")
                },
                result: a.result_line(),
            })
            .collect(),
        rejected: pm
            .rejected
            .iter()
            .map(|r| Rejection {
                action: r.action.clone(),
                params: object(&r.params),
                by: r.by.clone().unwrap_or_else(|| "nobody".into()),
                reason: match (&r.reason, r.verdict.as_str()) {
                    (Some(reason), _) => reason.clone(),
                    (None, "expired") => "expired unanswered".into(),
                    (None, _) => "no reason given".into(),
                },
            })
            .collect(),
    }
}

fn object(v: &Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}
