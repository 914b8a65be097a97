//! Incidents in chat: listens to the incident bus, posts a card per routed channel when an
//! incident is announced (with its details in the card's thread), edits the card in place on
//! every change, posts it to channels whose rules it rises into, points an absorbed card to
//! the incident it merged into, and marks resolved cards with how long they lasted.

use chrono::{DateTime, Utc};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::cards;
use super::message::{Message, Text};
use super::outbound::{Outbound, Post, Thread};
use super::redact::SharedRedact;
use super::routing::{RouteRule, Target, targets};
use crate::clock::SharedClock;
use crate::incident::tracker::{INCIDENTS, OPEN_INCIDENTS};
use crate::incident::{Incident, IncidentEvent, IncidentEventKind, IncidentState};
use crate::store::{SharedStore, StoreExt};

/// Where each incident's card was posted.
pub const ROUTES: &str = "chat-routes";

pub fn card_key(incident: &str, target: &Target) -> String {
    format!("card:{incident}:{}", target.key())
}

fn thread_key(incident: &str, target: &Target, what: &str) -> String {
    format!("thread:{incident}:{}:{what}", target.key())
}

pub struct Notifier {
    pub outbound: Outbound,
    pub store: SharedStore,
    pub clock: SharedClock,
    pub rules: Vec<RouteRule>,
    pub cluster: String,
    pub redact: SharedRedact,
}

impl Notifier {
    pub async fn run(
        self,
        mut rx: broadcast::Receiver<IncidentEvent>,
        shutdown: CancellationToken,
    ) {
        loop {
            let event = tokio::select! {
                _ = shutdown.cancelled() => return,
                e = rx.recv() => e,
            };
            match event {
                Ok(e) => self.handle(&e).await,
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    warn!(
                        missed,
                        "fell behind the incident bus; refreshing every open incident's card"
                    );
                    self.resync().await;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    /// Re-reads open incidents and brings their cards up to date.
    async fn resync(&self) {
        let Ok(ids) = self.store.list(OPEN_INCIDENTS).await else {
            return;
        };
        for id in ids {
            if let Ok(Some(incident)) = self.store.get_json::<Incident>(INCIDENTS, &id).await
                && incident.is_announced()
            {
                self.show(&incident, false).await;
            }
        }
    }

    pub async fn handle(&self, event: &IncidentEvent) {
        let incident = &event.incident;
        match &event.kind {
            IncidentEventKind::Created => self.show(incident, true).await,
            IncidentEventKind::Updated => self.show(incident, false).await,
            IncidentEventKind::Merged { into } => {
                let now = self.clock.now();
                for t in self.routed(&incident.id).await {
                    self.edit_card(incident, &t, now).await;
                    self.thread_post(
                        incident,
                        &t,
                        "merged",
                        Message::text(
                            Text::plain("Merged into ")
                                .code(into)
                                .and(": updates continue there."),
                        ),
                    )
                    .await;
                }
            }
            IncidentEventKind::Resolved => {
                let now = self.clock.now();
                let text = match incident.state {
                    IncidentState::Dismissed => "Dismissed as a false alarm.".to_string(),
                    _ => format!(
                        "Resolved after {}.",
                        cards::human_duration(incident.duration(now))
                    ),
                };
                for t in self.routed(&incident.id).await {
                    self.edit_card(incident, &t, now).await;
                    self.thread_post(incident, &t, "resolved", Message::text(text.clone()))
                        .await;
                }
            }
        }
    }

    /// Posts the card where it is routed and not yet posted; edits it where it is.
    async fn show(&self, incident: &Incident, created: bool) {
        let now = self.clock.now();
        let mut routed = self.routed(&incident.id).await;
        let wanted = targets(&self.rules, &self.cluster, incident);
        if wanted.is_empty() && routed.is_empty() {
            warn!(incident = %incident.id, "no routing rule matches; the incident is not posted anywhere (add a default rule)");
        }
        let mut changed = false;
        for t in wanted {
            if routed.contains(&t) {
                continue;
            }
            if !created {
                info!(incident = %incident.id, target = %t, "incident rose into a new route; posting its card there");
            }
            self.post_card(incident, &t, now).await;
            routed.push(t);
            changed = true;
        }
        if changed
            && let Err(error) = self
                .store
                .put_json(ROUTES, &incident.id, &routed, None)
                .await
        {
            warn!(%error, incident = %incident.id, "cannot record where the card was posted");
        }
        if !created {
            for t in &routed {
                self.edit_card(incident, t, now).await;
            }
        }
    }

    async fn post_card(&self, incident: &Incident, t: &Target, now: DateTime<Utc>) {
        let key = card_key(&incident.id, t);
        let card = cards::card(incident, now, self.redact.as_ref());
        self.outbound
            .post(
                Post::new(key, &t.platform, &t.channel, card)
                    .opening_thread(format!("{}: {}", incident.id, incident.title))
                    .since(incident.announced_at),
            )
            .await;
        self.thread_post(
            incident,
            t,
            "details",
            cards::details(incident, self.redact.as_ref()),
        )
        .await;
    }

    async fn edit_card(&self, incident: &Incident, t: &Target, now: DateTime<Utc>) {
        self.outbound
            .edit(
                &card_key(&incident.id, t),
                &t.platform,
                &t.channel,
                cards::card(incident, now, self.redact.as_ref()),
            )
            .await;
    }

    async fn thread_post(&self, incident: &Incident, t: &Target, what: &str, message: Message) {
        self.outbound
            .post(
                Post::new(
                    thread_key(&incident.id, t, what),
                    &t.platform,
                    &t.channel,
                    message,
                )
                .in_thread(Thread::Of(card_key(&incident.id, t))),
            )
            .await;
    }

    /// The targets an incident's card was posted to.
    pub async fn routed(&self, incident: &str) -> Vec<Target> {
        self.store
            .get_json::<Vec<Target>>(ROUTES, incident)
            .await
            .ok()
            .flatten()
            .unwrap_or_default()
    }
}
