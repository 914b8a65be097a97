//! The incident bus: how the chat layer (and anything else) learns that an incident was
//! announced, changed, merged or resolved. Each event carries the incident as stored.
//!
//! A broadcast channel: a subscriber that falls behind by more than the capacity gets
//! `Lagged` and should re-read the open incidents from the store.

use std::sync::Arc;

use tokio::sync::broadcast;

use super::Incident;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncidentEventKind {
    /// Announced (after the settle window).
    Created,
    /// New signal, severity, state or diagnosis.
    Updated,
    /// Absorbed into the incident with this id.
    Merged { into: String },
    /// Resolved (signals clear for the quiet period, or by a person), or dismissed.
    Resolved,
}

#[derive(Debug, Clone)]
pub struct IncidentEvent {
    pub kind: IncidentEventKind,
    pub incident: Arc<Incident>,
}

/// Sender side of the bus; cheap to clone.
#[derive(Clone)]
pub struct IncidentBus {
    tx: broadcast::Sender<IncidentEvent>,
}

impl IncidentBus {
    pub fn new(capacity: usize) -> Self {
        Self {
            tx: broadcast::channel(capacity).0,
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<IncidentEvent> {
        self.tx.subscribe()
    }

    pub fn publish(&self, kind: IncidentEventKind, incident: Incident) {
        // No subscriber is fine: the incident is in the store either way.
        let _ = self.tx.send(IncidentEvent {
            kind,
            incident: Arc::new(incident),
        });
    }
}

impl Default for IncidentBus {
    fn default() -> Self {
        Self::new(1024)
    }
}
