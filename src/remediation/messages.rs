//! What remediation says in an incident's thread: the diagnosis, the approval requests,
//! explanations, notes, and the escalation with the on-call mentioned.

use super::engine::Engine;
use crate::agent::diagnosis::{Diagnosis, Source};
use crate::approval::{ApprovalRequest, message_key};
use crate::chat::message::{Mention, Message, Span, Text, Tone};
use crate::chat::notifier::{ROUTES, card_key};
use crate::chat::outbound::{Post, Thread};
use crate::chat::routing::Target;
use crate::store::StoreExt;

impl Engine {
    pub(super) async fn targets(&self, incident: &str) -> Vec<Target> {
        self.d
            .store
            .get_json::<Vec<Target>>(ROUTES, incident)
            .await
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// Posts in the incident's thread on every channel its card went to. `what` makes the
    /// message's idempotency key (`rem:<incident>:<what>`), so a retried step posts once.
    pub(super) async fn say(
        &self,
        incident: &str,
        what: &str,
        message: impl Fn(&Target) -> Message,
    ) {
        for t in self.targets(incident).await {
            self.d
                .outbound
                .post(
                    Post::new(
                        format!("rem:{incident}:{what}:{}", t.key()),
                        &t.platform,
                        &t.channel,
                        message(&t),
                    )
                    .in_thread(Thread::Of(card_key(incident, &t))),
                )
                .await;
        }
    }

    pub(super) async fn post_approval(&self, request: &ApprovalRequest) {
        let diff = self.d.redact.redact(&request.plan.diff);
        let message = request.message(&self.d.desk.codec, &diff, &[]);
        for t in self.targets(&request.incident).await {
            self.d
                .outbound
                .post(
                    Post::new(
                        message_key(&request.id, &t),
                        &t.platform,
                        &t.channel,
                        message.clone(),
                    )
                    .in_thread(Thread::Of(card_key(&request.incident, &t))),
                )
                .await;
        }
    }
}

pub(super) fn diagnosis_message(
    d: &Diagnosis,
    redact: &dyn crate::chat::redact::Redact,
) -> Message {
    let a = &d.analysis;
    let source = match &d.source {
        Source::Rules => "rules (no model)".to_string(),
        Source::Model { model } => format!("{model}, {:.0}% confidence", a.confidence * 100.0),
    };
    let mut m = Message::default()
        .with_header("Diagnosis", "ANALYSIS", Tone::Info)
        .paragraph(Text::plain(redact.redact(&a.root_cause)));
    for e in a.evidence.iter().take(6) {
        m = m.paragraph(Text::plain("• ").and(redact.redact(e)));
    }
    if !a.recommendations.is_empty() {
        m = m.paragraph(Text::plain("").bold("Recommended"));
        for r in a.recommendations.iter().take(5) {
            m = m.paragraph(Text::plain("• ").and(redact.redact(r)));
        }
    }
    m.context(format!("Source: {source}"))
}

pub(super) fn note(text: impl Into<String>) -> Message {
    Message::text(text.into())
}

/// The escalation for one channel: its platform's on-call mentioned first.
pub(super) fn escalation_message(on_call: &[String], reason: &str, tried: &[String]) -> Message {
    let mut text = Text::default();
    for who in on_call {
        text = text.push(Span::Mention(Mention::Raw(who.clone()))).and(" ");
    }
    let text = text.bold("Escalating to the on-call: ").and(reason);
    let mut m = Message::default()
        .with_header("Escalated", "ESCALATED", Tone::Critical)
        .paragraph(text);
    if !tried.is_empty() {
        m = m.paragraph(Text::plain("").bold("Tried"));
        for t in tried.iter().rev().take(6).rev() {
            m = m.paragraph(Text::plain("• ").and(t.clone()));
        }
    }
    m
}
