//! The "Propose" button under a suggested change: the only way a conversation's suggestion
//! reaches the cluster, and then only through the normal approval path. A click (operator
//! role, like the other buttons that change things; a refusal is private and audited) finds
//! the open incident the change belongs to (the one whose thread the conversation is in, else
//! the one about the change's target) and hands the change to the remediation engine, which
//! plans it (guards, dry-run) and posts an approval request in the incident's thread. What
//! happened is said privately to the clicker, and in the conversation's thread for the others.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use super::suggestions::{self, Stored};
use crate::chat::action::Action;
use crate::chat::commands::{Caller, Commands};
use crate::chat::event::Click;
use crate::chat::handler::{ClickHandler, ClickReply};
use crate::chat::message::{Mention, Message, Span, Text};
use crate::chat::notifier::{ROUTES, card_key};
use crate::chat::outbound::{Post, Thread};
use crate::chat::routing::Target;
use crate::incident::Incident;
use crate::remediation::{Proposal, Proposals};
use crate::store::{StoreExt, StoreResult};

/// The button's verb; its argument is the suggestion's id.
pub const PROPOSE: &str = "propose";
/// How long a click waits for the engine to take the proposal (it answers at once when it
/// runs; the platforms' click answers allow a few seconds).
const ENGINE_WAIT: Duration = Duration::from_secs(5);

/// Answers Propose clicks.
pub struct ProposeButton {
    /// Role checks and refusals (audited), open incidents, the store and the outbound queue.
    pub commands: Commands,
    pub proposals: Proposals,
}

#[async_trait]
impl ClickHandler for ProposeButton {
    async fn click(&self, click: &Click, action: &Action) -> ClickReply {
        let c = &self.commands;
        let caller = Caller {
            user: click.user.clone(),
            channel: click.channel.clone(),
            via: "button",
        };
        if let Err(refusal) = c.authorize(&caller, "propose").await {
            return ClickReply::Private(refusal.to_plain());
        }
        let s = match suggestions::load(c.store.as_ref(), &action.arg).await {
            Ok(Some(s)) => s,
            Ok(None) => {
                return ClickReply::Private(format!(
                    "This suggestion has expired (they are kept for {} hours); ask again for a fresh one.",
                    suggestions::KEPT.as_secs() / 3600
                ));
            }
            Err(e) => {
                return ClickReply::Private(format!("I cannot read the suggestion right now: {e}"));
            }
        };
        let open = match c.open_incidents().await {
            Ok(open) => open,
            Err(e) => {
                return ClickReply::Private(format!("I cannot read the incidents right now: {e}"));
            }
        };
        // A store error here must not let the target match pick another incident.
        let incident = match self.incident_of_thread(&s, &open).await {
            Ok(Some(i)) => Some(i),
            Ok(None) => suggestions::incident_for(&s, &open),
            Err(e) => {
                return ClickReply::Private(format!(
                    "I cannot tell which incident this belongs to right now: {e}"
                ));
            }
        };
        let Some(incident) = incident else {
            return ClickReply::Private(format!(
                "No open incident is about {}, and a change is only proposed as a step of an \
                 incident's remediation. Ask in the incident's thread, or make the change by hand.",
                s.target_text()
            ));
        };
        let why = if s.reason.trim().is_empty() {
            format!("suggested in a conversation asked by {}", s.asked_by)
        } else {
            format!(
                "{} (suggested in a conversation asked by {})",
                s.reason.trim(),
                s.asked_by
            )
        };
        let proposal = Proposal {
            suggestion: s.id.clone(),
            incident: incident.id.clone(),
            action: s.action.clone(),
            params: Value::Object(s.params.clone()),
            why,
            by: click.user.identity(),
        };
        match self.proposals.propose(proposal, ENGINE_WAIT).await {
            Ok(text) => {
                self.tell_the_conversation(&s, incident, click).await;
                ClickReply::Private(text)
            }
            Err(text) => ClickReply::Private(text),
        }
    }
}

impl ProposeButton {
    /// The open incident whose thread the conversation is in, on the platform it was in.
    async fn incident_of_thread<'a>(
        &self,
        s: &Stored,
        open: &'a [Incident],
    ) -> StoreResult<Option<&'a Incident>> {
        let Some(thread) = s.thread.as_ref() else {
            return Ok(None);
        };
        for incident in open {
            if self
                .card_thread(incident, &s.platform, &s.channel)
                .await?
                .is_some_and(|(card, opened)| opened == thread.id || card == thread.id)
            {
                return Ok(Some(incident));
            }
        }
        Ok(None)
    }

    /// The incident card's message id and its thread's id in `channel`, when it was posted there.
    async fn card_thread(
        &self,
        incident: &Incident,
        platform: &str,
        channel: &str,
    ) -> StoreResult<Option<(String, String)>> {
        let c = &self.commands;
        let Some(routes) = c
            .store
            .get_json::<Vec<Target>>(ROUTES, &incident.id)
            .await?
        else {
            return Ok(None);
        };
        let Some(target) = routes
            .iter()
            .find(|t| t.platform == platform && t.channel == channel)
        else {
            return Ok(None);
        };
        let Some(sent) = c.outbound.sent(&card_key(&incident.id, target)).await? else {
            return Ok(None);
        };
        let thread = sent.thread.map(|t| t.id).unwrap_or_default();
        Ok(Some((sent.message.id, thread)))
    }

    /// Says in the conversation's thread who proposed what, unless that thread is the
    /// incident's own (the approval request shows it there).
    async fn tell_the_conversation(&self, s: &Stored, incident: &Incident, click: &Click) {
        let in_incident_thread = match (
            &s.thread,
            self.card_thread(incident, &s.platform, &s.channel)
                .await
                .ok()
                .flatten(),
        ) {
            (Some(t), Some((card, opened))) => t.id == card || t.id == opened,
            _ => false,
        };
        if in_incident_thread {
            return;
        }
        let text = Text::default()
            .push(Span::Mention(Mention::User(click.user.id.clone())))
            .and(" proposed ")
            .code(&s.action)
            .and(" for ")
            .code(&incident.id)
            .and("; its approval request follows in the incident's thread.");
        let thread = s.thread.clone().map(Thread::Ref).unwrap_or(Thread::None);
        let post = Post::new(
            format!("proposed:{}", s.id),
            &s.platform,
            &s.channel,
            Message::text(text),
        )
        .in_thread(thread);
        self.commands.outbound.post(post).await;
    }
}
