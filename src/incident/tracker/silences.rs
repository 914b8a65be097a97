//! Silences in the tracker. A signal that would open a new incident while a silence covers it
//! is held back instead (nothing is claimed or written); when the silence ends — expiry or
//! `unsilence` — held signals that still fire are raised as if they had just appeared. Open
//! incidents a silence covers carry a mark (shown on the card, no reminders) with a timeline
//! note. Silences are re-read when told (`SilencesChanged`), when one expires, and at least
//! every [`REFRESH`] so a silence set through another process is seen too.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::Tracker;
use crate::detect::{Signal, SignalKey};
use crate::incident::silence::{self, SILENCES, Silence};
use crate::incident::{IncidentEventKind, SilenceMark, TimelineEntry, TimelineKind};
use crate::store::{StoreExt, StoreResult};

/// Silences set through another process are seen within this long.
const REFRESH: chrono::Duration = chrono::Duration::seconds(60);

/// The silences as last read, and the signals they hold back.
#[derive(Default)]
pub(super) struct Silenced {
    list: Vec<Silence>,
    read_at: Option<DateTime<Utc>>,
    held: HashMap<SignalKey, Signal>,
}

impl Silenced {
    /// When the tracker should look at silences again: the next expiry, or the refresh.
    pub(super) fn next_expiry(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let read_at = self.read_at?;
        let expiry = self
            .list
            .iter()
            .filter(|s| s.is_active(now))
            .map(|s| s.until)
            .min();
        let refresh = read_at + REFRESH;
        Some(expiry.map_or(refresh, |e| e.min(refresh)))
    }

    fn covering(&self, signal: &Signal, now: DateTime<Utc>) -> Option<&Silence> {
        self.list
            .iter()
            .find(|s| s.is_active(now) && s.scope.covers(signal))
    }
}

impl Tracker {
    async fn load_silences(&mut self, now: DateTime<Utc>) -> StoreResult<()> {
        let mut list = Vec::new();
        for id in self.store.list(SILENCES).await? {
            if let Some(s) = self.store.get_json::<Silence>(SILENCES, &id).await?
                && s.is_active(now)
            {
                list.push(s);
            }
        }
        self.silences.list = list;
        self.silences.read_at = Some(now);
        Ok(())
    }

    /// Holds `signal` back if a silence covers it (it would open a new incident). Reads the
    /// silences first when they are stale; a store error changes nothing.
    pub(super) async fn hold_if_silenced(
        &mut self,
        signal: &Signal,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let stale = self
            .silences
            .read_at
            .is_none_or(|at| now - at >= REFRESH || now < at);
        if stale {
            self.load_silences(now).await?;
            self.mark_silenced(now);
        }
        if self.silences.covering(signal, now).is_none() {
            return Ok(false);
        }
        self.silences.held.insert(signal.key(), signal.clone());
        Ok(true)
    }

    /// A held signal cleared: nothing to raise later.
    pub(super) fn forget_held(&mut self, key: &SignalKey) -> bool {
        self.silences.held.remove(key).is_some()
    }

    /// Re-reads the silences, marks the open incidents they cover, and raises held signals
    /// that no silence covers any more.
    pub(super) async fn silences_changed(&mut self, now: DateTime<Utc>) -> StoreResult<()> {
        self.load_silences(now).await?;
        self.mark_silenced(now);
        let free: Vec<SignalKey> = self
            .silences
            .held
            .iter()
            .filter(|(_, s)| self.silences.covering(s, now).is_none())
            .map(|(k, _)| k.clone())
            .collect();
        for key in free {
            let Some(signal) = self.silences.held.get(&key).cloned() else {
                continue;
            };
            // Removed only once raised: a store error leaves it held for the retry.
            Box::pin(self.raise(signal, now)).await?;
            self.silences.held.remove(&key);
        }
        Ok(())
    }

    /// Sets or clears each open incident's silence mark, with a timeline note when it changes.
    fn mark_silenced(&mut self, now: DateTime<Utc>) {
        let mut changed = Vec::new();
        for incident in self.open.values_mut() {
            let covering = silence::covering(&self.silences.list, incident, now);
            let mark = covering.map(|s| SilenceMark {
                silence: s.id.clone(),
                until: s.until,
                by: s.who(),
            });
            if mark == incident.silenced {
                continue;
            }
            let entry = match (&mark, covering) {
                (Some(m), Some(s)) => TimelineEntry::new(
                    now,
                    TimelineKind::Note,
                    format!(
                        "silenced until {} by {} ({} {})",
                        m.until.format("%Y-%m-%d %H:%M UTC"),
                        m.by,
                        s.id,
                        s.scope
                    ),
                )
                .by(s.by.clone())
                .with_data(
                    json!({"event": "silenced", "silence": s.id, "until": s.until,
                    "scope": s.scope.to_string(), "platform": platform_of(&s.by)}),
                ),
                _ => TimelineEntry::new(
                    now,
                    TimelineKind::Note,
                    format!(
                        "silence {} ended",
                        incident
                            .silenced
                            .as_ref()
                            .map(|m| m.silence.as_str())
                            .unwrap_or("")
                    ),
                )
                .with_data(json!({"event": "silence_ended"})),
            };
            incident.silenced = mark;
            incident.updated_at = now;
            changed.push((incident.id.clone(), entry, incident.is_announced()));
        }
        for (id, entry, announced) in changed {
            self.outbox.timeline(&id, entry);
            self.outbox.mark(&id, true);
            if announced {
                self.outbox.event(&id, IncidentEventKind::Updated);
            }
        }
    }
}

/// `slack` of `slack:U0123`.
pub(super) fn platform_of(identity: &str) -> &str {
    identity.split(':').next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use tokio_util::sync::CancellationToken;

    use super::super::{IncidentChange, TrackerInput, TrackerMetrics, TrackerSettings};
    use super::*;
    use crate::clock::{Clock, ManualClock};
    use crate::detect::{Evidence, ObjectRef, SignalName};
    use crate::incident::silence::Scope;
    use crate::incident::{IncidentBus, IncidentState};
    use crate::store::{MemoryStore, Retention, SharedStore};

    fn pod(ns: &str, deployment: &str) -> Signal {
        Signal {
            name: SignalName::CrashLoop,
            object: ObjectRef::namespaced("Pod", ns, &format!("{deployment}-1")),
            owner: ObjectRef::namespaced("Deployment", ns, deployment),
            node: Some("node-1".into()),
            cause: None,
            evidence: Evidence {
                reason: "CrashLoopBackOff".into(),
                ..Default::default()
            },
        }
    }

    async fn tracker(clock: &ManualClock, store: SharedStore) -> Tracker {
        Tracker::load(
            TrackerSettings {
                cluster: "prod".into(),
                correlation: Default::default(),
                production_namespaces: Default::default(),
            },
            store,
            Arc::new(clock.clone()),
            IncidentBus::default(),
            TrackerMetrics::unregistered(),
            &CancellationToken::new(),
        )
        .await
        .expect("loads")
    }

    async fn input(t: &mut Tracker, input: TrackerInput) {
        t.submit(input).await;
        t.flush_or_schedule_retry(false).await;
    }

    async fn raise(t: &mut Tracker, s: Signal) {
        let observed = Instant::now();
        input(
            t,
            TrackerInput::Raised {
                signal: Box::new(s),
                observed,
            },
        )
        .await;
    }

    #[tokio::test]
    async fn silenced_signals_open_nothing_until_the_silence_ends() {
        let clock = ManualClock::new(DateTime::from_timestamp(1_800_000_000, 0).unwrap());
        let store: SharedStore = Arc::new(MemoryStore::new(
            Arc::new(clock.clone()),
            Retention::from(&crate::config::StoreConfig::default()),
        ));
        let now = clock.now();
        let silence = Silence {
            id: "S-1".into(),
            scope: Scope::parse("ns/shop").unwrap(),
            created_at: now,
            until: now + chrono::Duration::hours(1),
            by: "slack:U1".into(),
            by_name: Some("Alice".into()),
        };
        store
            .put_json(SILENCES, "S-1", &silence, None)
            .await
            .unwrap();
        let mut t = tracker(&clock, store.clone()).await;

        raise(&mut t, pod("shop", "web")).await;
        raise(&mut t, pod("shop", "api")).await;
        raise(&mut t, pod("blog", "web")).await;
        let open: Vec<String> = t.open.values().map(|i| i.primary.to_string()).collect();
        assert_eq!(
            open,
            ["Deployment blog/web"],
            "only the unsilenced one opens"
        );
        assert_eq!(t.silences.held.len(), 2);
        // Looked at again within the refresh period, before the silence ends.
        assert_eq!(t.silences.next_expiry(now), Some(now + REFRESH));

        // One of them clears while silenced: nothing to raise later.
        let observed = Instant::now();
        input(
            &mut t,
            TrackerInput::Cleared {
                key: pod("shop", "api").key(),
                observed,
            },
        )
        .await;
        assert_eq!(t.silences.held.len(), 1);

        // The silence ends: what still fires opens its incident then.
        clock.advance(Duration::from_secs(3600));
        input(&mut t, TrackerInput::SilencesChanged).await;
        let mut open: Vec<String> = t.open.values().map(|i| i.primary.to_string()).collect();
        open.sort();
        assert_eq!(open, ["Deployment blog/web", "Deployment shop/web"]);
        assert!(t.silences.held.is_empty());
    }

    #[tokio::test]
    async fn covered_incidents_are_marked_and_acknowledged_once() {
        let clock = ManualClock::new(DateTime::from_timestamp(1_800_000_000, 0).unwrap());
        let store: SharedStore = Arc::new(MemoryStore::new(
            Arc::new(clock.clone()),
            Retention::from(&crate::config::StoreConfig::default()),
        ));
        let mut t = tracker(&clock, store.clone()).await;
        raise(&mut t, pod("shop", "web")).await;
        let id = t.open.keys().next().unwrap().clone();
        let now = clock.now();
        let silence = Silence {
            id: "S-2".into(),
            scope: Scope::of_incident(&t.open[&id]),
            created_at: now,
            until: now + chrono::Duration::minutes(30),
            by: "slack:U1".into(),
            by_name: None,
        };
        store
            .put_json(SILENCES, "S-2", &silence, None)
            .await
            .unwrap();
        input(&mut t, TrackerInput::SilencesChanged).await;
        let mark = t.open[&id].silenced.clone().expect("marked");
        assert_eq!(mark.silence, "S-2");

        let acked = t
            .change(
                &id,
                IncidentChange::Acknowledge {
                    by: "slack:U2".into(),
                    name: Some("Bob".into()),
                },
                now,
            )
            .unwrap();
        assert_eq!(acked.acked.as_ref().unwrap().by, "slack:U2");
        let again = t
            .change(
                &id,
                IncidentChange::Acknowledge {
                    by: "slack:U3".into(),
                    name: None,
                },
                now,
            )
            .unwrap();
        assert_eq!(
            again.acked.unwrap().by,
            "slack:U2",
            "the first acknowledgement stands"
        );
        t.flush_or_schedule_retry(false).await;
        let notes: Vec<String> = store
            .timeline_json::<TimelineEntry>(&id)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == TimelineKind::Note)
            .map(|e| format!("{} {}", e.actor.unwrap_or_default(), e.text))
            .collect();
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].starts_with("slack:U1 silenced until"), "{notes:?}");
        assert_eq!(notes[1], "slack:U2 acknowledged by Bob (slack:U2)");

        // Expired: the mark goes.
        clock.advance(Duration::from_secs(1800));
        input(&mut t, TrackerInput::SilencesChanged).await;
        assert!(t.open[&id].silenced.is_none());
        assert_eq!(t.open[&id].state, IncidentState::Detected);
    }
}
