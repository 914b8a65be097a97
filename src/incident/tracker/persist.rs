//! The outbox: writes queued by incident changes, flushed in order and retried until stored.
//! Each step removes what it has written, so a flush that fails half-way resumes where it
//! stopped and never appends a timeline entry twice.

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use super::{INCIDENTS, OPEN_INCIDENTS, Tracker};
use crate::incident::{IncidentEventKind, TimelineEntry};
use crate::store::{StoreExt, StoreResult};

enum ClaimOp {
    /// Make `key` point at `holder` (it may point at a merged incident).
    Point {
        key: String,
        holder: String,
        ttl: Duration,
    },
    Release(String),
}

#[derive(Default)]
pub(super) struct Outbox {
    /// Incidents whose record must be written now.
    urgent: BTreeSet<String>,
    /// Incidents with evidence-only changes, written at the next flush that includes them.
    lazy: BTreeSet<String>,
    /// Incidents to add to / remove from the open index.
    list: BTreeSet<String>,
    delist: BTreeSet<String>,
    timeline: VecDeque<(String, TimelineEntry)>,
    claims: VecDeque<ClaimOp>,
    events: Vec<(String, IncidentEventKind)>,
}

impl Outbox {
    pub(super) fn mark(&mut self, id: &str, urgent: bool) {
        if urgent {
            self.urgent.insert(id.to_string());
        } else {
            self.lazy.insert(id.to_string());
        }
    }

    pub(super) fn list(&mut self, id: &str) {
        self.list.insert(id.to_string());
    }

    pub(super) fn delist(&mut self, id: &str) {
        self.list.remove(id);
        self.delist.insert(id.to_string());
    }

    pub(super) fn timeline(&mut self, id: &str, entry: TimelineEntry) {
        self.timeline.push_back((id.to_string(), entry));
    }

    pub(super) fn event(&mut self, id: &str, kind: IncidentEventKind) {
        self.events.push((id.to_string(), kind));
    }

    pub(super) fn point_claim(&mut self, key: String, holder: &str, ttl: Duration) {
        self.claims.push_back(ClaimOp::Point {
            key,
            holder: holder.to_string(),
            ttl,
        });
    }

    pub(super) fn release_claim(&mut self, key: String) {
        self.claims.push_back(ClaimOp::Release(key));
    }

    pub(super) fn has_urgent(&self) -> bool {
        !(self.urgent.is_empty()
            && self.list.is_empty()
            && self.delist.is_empty()
            && self.timeline.is_empty()
            && self.claims.is_empty()
            && self.events.is_empty())
    }

    pub(super) fn has_lazy(&self) -> bool {
        !self.lazy.is_empty()
    }
}

impl Tracker {
    /// Writes the outbox, then publishes the events whose incidents are now stored.
    pub(super) async fn flush(&mut self, include_lazy: bool) -> StoreResult<()> {
        if include_lazy {
            let lazy = std::mem::take(&mut self.outbox.lazy);
            self.outbox.urgent.extend(lazy);
        }
        while let Some(id) = self.outbox.urgent.first().cloned() {
            let incident = if self.open.contains_key(&id) {
                self.open.get_mut(&id)
            } else {
                self.ended.get_mut(&id)
            };
            if let Some(incident) = incident {
                incident.revision += 1;
                self.store
                    .put_json(INCIDENTS, &id, &*incident, None)
                    .await?;
            }
            self.outbox.urgent.remove(&id);
            self.outbox.lazy.remove(&id);
        }
        while let Some(id) = self.outbox.list.first().cloned() {
            self.store.put(OPEN_INCIDENTS, &id, "{}", None).await?;
            self.outbox.list.remove(&id);
        }
        while let Some(id) = self.outbox.delist.first().cloned() {
            self.store.delete(OPEN_INCIDENTS, &id).await?;
            self.outbox.delist.remove(&id);
        }
        while let Some((id, entry)) = self.outbox.timeline.front() {
            self.store.append_timeline_json(id, entry).await?;
            self.outbox.timeline.pop_front();
        }
        while let Some(op) = self.outbox.claims.front() {
            match op {
                ClaimOp::Release(key) => self.store.release(key).await?,
                ClaimOp::Point { key, holder, ttl } => {
                    if let Some(other) = self.store.claim_as(key, holder, *ttl).await?
                        && other != *holder
                    {
                        self.store.release(key).await?;
                        self.store.claim_as(key, holder, *ttl).await?;
                    }
                }
            }
            self.outbox.claims.pop_front();
        }
        self.publish();
        for started in self.observed.drain(..) {
            self.metrics.observe_latency(started.elapsed());
        }
        self.metrics.refresh(self.open.values());
        Ok(())
    }

    fn publish(&mut self) {
        let events = std::mem::take(&mut self.outbox.events);
        let mut sent: Vec<(String, IncidentEventKind)> = Vec::new();
        for (id, kind) in &events {
            let created_too = kind == &IncidentEventKind::Updated
                && events
                    .iter()
                    .any(|(i, k)| i == id && k == &IncidentEventKind::Created);
            if created_too || sent.iter().any(|(i, k)| i == id && k == kind) {
                continue;
            }
            let incident = self.open.get(id).or_else(|| self.ended.get(id));
            if let Some(incident) = incident {
                self.bus.publish(kind.clone(), incident.clone());
            }
            sent.push((id.clone(), kind.clone()));
        }
        // Ended incidents are stored and announced: nothing refers to them any more.
        self.ended.clear();
    }
}
