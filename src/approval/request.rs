//! An approval request: a planned action waiting for people, as stored and as shown in chat.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::actions::{Plan, Risk};
use crate::chat::ActionCodec;
use crate::chat::message::{Block, ButtonStyle, Field, Message, Text, Tone};
use crate::store::{Decision, Verdict};

/// What people are asked to approve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    /// `A-17`: short, so it fits in button ids (Telegram allows 64 bytes).
    pub id: String,
    pub incident: String,
    /// The planned action, with its dry-run diff and snapshot.
    pub plan: Plan,
    /// Why, in a sentence (from the runbook, the diagnosis or the model).
    pub why: String,
    /// Where the proposal comes from: `runbook:<name>`, `diagnosis`, `agent`.
    pub source: String,
    pub approvers_needed: usize,
    /// "operator or admin", for the message.
    pub who_may_approve: String,
    pub requested_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The button verbs.
pub const APPROVE: &str = "approve";
pub const REJECT: &str = "reject";

fn risk_tone(risk: Risk) -> Tone {
    match risk {
        Risk::Low => Tone::Info,
        Risk::Medium => Tone::Warning,
        Risk::High => Tone::Danger,
    }
}

impl ApprovalRequest {
    /// The message with Approve and Reject buttons. `diff` is the (redacted) diff to show.
    pub fn message(&self, codec: &ActionCodec, diff: &str, votes: &[String]) -> Message {
        let mut fields = vec![
            Field {
                label: "Action".into(),
                value: Text::plain("").code(&self.plan.action),
            },
            Field {
                label: "Target".into(),
                value: Text::plain(self.plan.target.to_string()),
            },
            Field {
                label: "Risk".into(),
                value: Text::plain(self.plan.risk.as_str()),
            },
            Field {
                label: "Who may approve".into(),
                value: Text::plain(&self.who_may_approve),
            },
            Field {
                label: "Expires".into(),
                value: Text::plain(self.expires_at.format("%H:%M:%S UTC").to_string()),
            },
            Field {
                label: "Proposed by".into(),
                value: Text::plain(&self.source),
            },
        ];
        if self.approvers_needed > 1 {
            fields.push(Field {
                label: "Approvals".into(),
                value: Text::plain(format!(
                    "{} of {}{}",
                    votes.len(),
                    self.approvers_needed,
                    if votes.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", votes.join(", "))
                    }
                )),
            });
        }
        let mut m = Message::default()
            .with_header(
                format!("Approve? {}", self.plan.summary),
                format!("{} {}", self.id, self.plan.risk.as_str().to_uppercase()),
                risk_tone(self.plan.risk),
            )
            .paragraph(Text::plain("").bold("Why: ").and(&self.why))
            .block(Block::Fields { fields });
        if !diff.trim().is_empty() {
            m = m
                .context("Dry-run diff (what the API server would change):")
                .code(diff);
        }
        m.button(
            "Approve",
            codec.encode(APPROVE, &self.id),
            ButtonStyle::Primary,
        )
        .button(
            "Reject",
            codec.encode(REJECT, &self.id),
            ButtonStyle::Danger,
        )
    }

    /// The message once decided: who, when, the outcome so far; no buttons.
    pub fn decided_message(
        &self,
        diff: &str,
        decision: &Decision,
        outcome: Option<&str>,
    ) -> Message {
        let (badge, tone) = match decision.verdict {
            Verdict::Approved => ("APPROVED", Tone::Good),
            Verdict::Rejected => ("REJECTED", Tone::Neutral),
            Verdict::Expired => ("EXPIRED", Tone::Neutral),
        };
        let who = match decision.verdict {
            Verdict::Expired => format!(
                "Expired at {} without a decision.",
                decision.at.format("%H:%M:%S UTC")
            ),
            _ => format!(
                "{} by {} at {}.",
                match decision.verdict {
                    Verdict::Approved => "Approved",
                    _ => "Rejected",
                },
                decision.by,
                decision.at.format("%H:%M:%S UTC")
            ),
        };
        let mut m = Message::default()
            .with_header(
                self.plan.summary.clone(),
                format!("{} {badge}", self.id),
                tone,
            )
            .paragraph(Text::plain(who));
        if let Some(reason) = &decision.reason {
            m = m.paragraph(Text::plain("").bold("Reason: ").and(reason));
        }
        if let Some(outcome) = outcome {
            m = m.paragraph(Text::plain("").bold("Outcome: ").and(outcome));
        }
        if !diff.trim().is_empty() {
            m = m.code(diff);
        }
        m
    }
}
