//! Reminders: an open high or critical incident that nobody acknowledged re-mentions the
//! configured on-call (`escalation.on_call`, per platform) in its thread every
//! `escalation.remind_every`, until someone acks it, it is silenced, or it ends.
//!
//! The n-th reminder is due `n * remind_every` after the incident was announced, so the
//! schedule needs no state of its own and survives restarts; each one is a claim in the store
//! (`remind:<incident>:<n>`), so two processes — or a restart at the wrong moment — send it
//! once. After downtime only the latest due reminder is sent.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::cards::human_duration;
use super::message::{Mention, Message, Span, Text, Tone};
use super::notifier::{ROUTES, card_key};
use super::outbound::{Outbound, Post, Thread};
use super::redact::{Redact, SharedRedact};
use super::routing::Target;
use crate::clock::SharedClock;
use crate::correlate::Severity;
use crate::incident::tracker::{INCIDENTS, OPEN_INCIDENTS};
use crate::incident::{Incident, IncidentEvent, TimelineEntry, TimelineKind};
use crate::remediation::EscalationConfig;
use crate::store::{SharedStore, StoreExt};

/// Open incidents are re-read at least this often (incidents of another process, restarts).
const POLL: Duration = Duration::from_secs(60);
/// A reminder's claim outlives any restart that could send it again.
const CLAIM_TTL: Duration = Duration::from_secs(2 * 86_400);

pub struct Reminders {
    pub store: SharedStore,
    pub clock: SharedClock,
    pub outbound: Outbound,
    pub escalation: EscalationConfig,
    pub redact: SharedRedact,
}

/// Whether `incident` wants reminding at `now`.
pub fn wants_reminder(incident: &Incident, now: DateTime<Utc>) -> bool {
    incident.is_open()
        && incident.is_announced()
        && incident.severity >= Severity::High
        && incident.acked.is_none()
        && incident.silenced.as_ref().is_none_or(|s| s.until <= now)
}

/// How many reminders are due by `now`, and when the next one is.
pub fn due(announced: DateTime<Utc>, every: Duration, now: DateTime<Utc>) -> (u64, DateTime<Utc>) {
    let every_ms = (every.as_millis() as i64).max(1000);
    let elapsed = (now - announced).num_milliseconds().max(0);
    let n = (elapsed / every_ms) as u64;
    let next = announced + chrono::Duration::milliseconds(every_ms * (n as i64 + 1));
    (n, next)
}

impl Reminders {
    pub async fn run(
        self,
        mut events: broadcast::Receiver<IncidentEvent>,
        shutdown: CancellationToken,
    ) {
        let e = &self.escalation.on_call;
        if e.slack.is_empty()
            && e.discord.is_empty()
            && e.telegram.is_empty()
            && e.console.is_empty()
        {
            info!("no on-call configured (escalation.on_call): reminders are off");
            return;
        }
        loop {
            let now = self.clock.now();
            let next = self.tick(now).await;
            let wait = next
                .and_then(|t| (t - now).to_std().ok())
                .unwrap_or(POLL)
                .min(POLL);
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.clock.sleep(wait) => {}
                // A new or changed incident may change the schedule.
                e = events.recv() => if let Err(broadcast::error::RecvError::Closed) = e { return },
            }
        }
    }

    /// Sends what is due; returns when the next reminder is due.
    async fn tick(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let ids = match self.store.list(OPEN_INCIDENTS).await {
            Ok(ids) => ids,
            Err(error) => {
                warn!(%error, "cannot read open incidents for reminders");
                return None;
            }
        };
        let mut next: Option<DateTime<Utc>> = None;
        for id in ids {
            let Ok(Some(incident)) = self.store.get_json::<Incident>(INCIDENTS, &id).await else {
                continue;
            };
            if !wants_reminder(&incident, now) {
                continue;
            }
            let Some(announced) = incident.announced_at else {
                continue;
            };
            let (n, at) = due(announced, self.escalation.remind_every, now);
            if n >= 1 {
                self.remind(&incident, n, now).await;
            }
            next = Some(next.map_or(at, |t| t.min(at)));
        }
        next
    }

    async fn remind(&self, incident: &Incident, n: u64, now: DateTime<Utc>) {
        let claim = format!("remind:{}:{n}", incident.id);
        match self.store.claim(&claim, CLAIM_TTL).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                warn!(%error, incident = %incident.id, "cannot claim a reminder; trying again later");
                return;
            }
        }
        let targets: Vec<Target> = self
            .store
            .get_json(ROUTES, &incident.id)
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        let mut sent = Vec::new();
        for t in &targets {
            let on_call = self.escalation.on_call.for_platform(&t.platform);
            if on_call.is_empty() {
                continue;
            }
            self.outbound
                .post(
                    Post::new(
                        format!("{claim}:{}", t.key()),
                        &t.platform,
                        &t.channel,
                        message(incident, on_call, now, self.redact.as_ref()),
                    )
                    .in_thread(Thread::Of(card_key(&incident.id, t))),
                )
                .await;
            sent.push(t.key());
        }
        if sent.is_empty() {
            return;
        }
        info!(incident = %incident.id, reminder = n, "reminded the on-call");
        let entry = TimelineEntry::new(
            now,
            TimelineKind::Chat,
            format!("reminder {n}: on-call mentioned, not acknowledged yet"),
        )
        .with_data(json!({"event": "reminder", "n": n, "targets": sent}));
        if let Err(error) = self.store.append_timeline_json(&incident.id, &entry).await {
            warn!(%error, incident = %incident.id, "cannot note the reminder on the timeline");
        }
    }
}

/// `@oncall Reminder: HIGH incident INC-7 ... has not been acknowledged for 45m.`
pub fn message(
    incident: &Incident,
    on_call: &[String],
    now: DateTime<Utc>,
    redact: &dyn Redact,
) -> Message {
    let mut text = Text::default();
    for who in on_call {
        text = text.push(Span::Mention(Mention::Raw(who.clone()))).and(" ");
    }
    let open_for = incident
        .announced_at
        .map(|a| human_duration(now - a))
        .unwrap_or_default();
    let short = incident.id.rsplit('/').next().unwrap_or(&incident.id);
    let text = text
        .bold("Reminder: ")
        .and(format!(
            "{} incident ",
            incident.severity.as_str().to_uppercase()
        ))
        .code(&incident.id)
        .and(format!(" has not been acknowledged for {open_for}. "))
        .and("Click Ack on the card or say ")
        .code(format!("ack {short}"))
        .and(".");
    Message::default()
        .with_header(redact.redact(&incident.title), "REMINDER", Tone::Warning)
        .paragraph(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reminders_fall_due_every_period_from_the_announcement() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let every = Duration::from_secs(900);
        let at = |s: i64| t0 + chrono::Duration::seconds(s);
        assert_eq!(due(t0, every, at(0)), (0, at(900)));
        assert_eq!(due(t0, every, at(899)), (0, at(900)));
        assert_eq!(due(t0, every, at(900)), (1, at(1800)));
        assert_eq!(due(t0, every, at(3000)), (3, at(3600)));
    }
}
