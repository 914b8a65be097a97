//! `ack`, `resolve` and `dismiss`: people moving an incident along. The tracker applies the
//! change (so the card, the timeline and the store follow); the change is audited. A manual
//! resolve while signals still fire keeps their dedup keys until they clear, so the incident
//! does not reopen at once (the tracker's rule).

use chrono::DateTime;

use super::{Caller, Commands};
use crate::chat::cards::human_duration;
use crate::chat::message::{Message, Text};
use crate::incident::tracker::IncidentChange;
use crate::incident::{Incident, IncidentState};

impl Commands {
    pub(super) async fn lifecycle(&self, command: &str, id: &str, caller: &Caller) -> Message {
        if let Err(refusal) = self.authorize(caller, command).await {
            return refusal;
        }
        let incident = match self.find_incident(id).await {
            Ok(i) => i,
            Err(m) => return m,
        };
        if let Some(into) = &incident.merged_into {
            return Message::text(
                Text::plain("")
                    .code(&incident.id)
                    .and(" was merged into ")
                    .code(into)
                    .and("; use that one."),
            );
        }
        if !incident.is_open() {
            return Message::text(
                Text::plain("")
                    .code(&incident.id)
                    .and(format!(" is already {}.", incident.state)),
            );
        }
        match command {
            "ack" => self.ack(&incident, caller).await,
            "resolve" => self.end(&incident, IncidentState::Resolved, caller).await,
            _ => self.end(&incident, IncidentState::Dismissed, caller).await,
        }
    }

    /// Acknowledges an open incident (the first acknowledgement stands).
    pub(crate) async fn ack(&self, incident: &Incident, caller: &Caller) -> Message {
        let tracker = match self.tracker() {
            Ok(t) => t,
            Err(m) => return m,
        };
        let by = caller.user.identity();
        let change = IncidentChange::Acknowledge {
            by: by.clone(),
            name: caller.user.name.clone(),
        };
        match tracker.update(&incident.id, change).await {
            Ok(updated) => match updated.acked {
                Some(a) if a.by != by => {
                    Message::text(Text::plain("").code(&updated.id).and(format!(
                        " was already acknowledged by {} at {}.",
                        crate::incident::silence::who(&a.by, a.name.as_deref()),
                        hhmm(a.at)
                    )))
                }
                _ => {
                    self.audited(
                        caller,
                        "ack",
                        format!("acknowledged {}", updated.id),
                        Some(&updated.id),
                    )
                    .await;
                    Message::text(Text::plain("").code(&updated.id).and(format!(
                        " acknowledged by {}; reminders stop.",
                        caller.who()
                    )))
                }
            },
            Err(e) => Message::text(format!("Cannot acknowledge {}: {e}", incident.id)),
        }
    }

    async fn end(&self, incident: &Incident, state: IncidentState, caller: &Caller) -> Message {
        let tracker = match self.tracker() {
            Ok(t) => t,
            Err(m) => return m,
        };
        let verb = if state == IncidentState::Resolved {
            "resolve"
        } else {
            "dismiss"
        };
        match tracker
            .end(&incident.id, state, &caller.user.identity())
            .await
        {
            Ok(ended) => {
                let done = if state == IncidentState::Resolved {
                    "resolved"
                } else {
                    "dismissed as a false alarm"
                };
                self.audited(
                    caller,
                    verb,
                    format!("{done} {}", ended.id),
                    Some(&ended.id),
                )
                .await;
                let mut m = Message::text(Text::plain("").code(&ended.id).and(format!(
                    " {done} by {} after {}.",
                    caller.who(),
                    human_duration(ended.duration(self.clock.now()))
                )));
                if ended.has_active_signals() {
                    m = m.context(
                        "Its signals still fire: they stay quiet until they clear, so it does \
                         not reopen at once. A new occurrence after that opens a new incident.",
                    );
                }
                m
            }
            Err(e) => Message::text(format!("Cannot {verb} {}: {e}", incident.id)),
        }
    }
}

/// `14:05 UTC`.
pub(super) fn hhmm(t: DateTime<chrono::Utc>) -> String {
    t.format("%H:%M UTC").to_string()
}
