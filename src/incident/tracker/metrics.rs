//! Incident metrics: created, announced by severity, ended by state, open by severity and
//! state, merges, and detection latency (object change received -> incident stored).

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::correlate::Severity;
use crate::incident::{Incident, IncidentState};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SeverityLabel {
    severity: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OpenLabel {
    severity: &'static str,
    state: &'static str,
}

/// Handles to the tracker's metrics; cheap to clone.
#[derive(Clone)]
pub struct TrackerMetrics {
    created: Counter,
    announced: Family<SeverityLabel, Counter>,
    ended: Family<StateLabel, Counter>,
    open: Family<OpenLabel, Gauge>,
    merged: Counter,
    signals: Counter,
    latency: Histogram,
}

impl TrackerMetrics {
    pub fn new(registry: &mut Registry) -> Self {
        let m = Self {
            created: Counter::default(),
            announced: Family::default(),
            ended: Family::default(),
            open: Family::default(),
            merged: Counter::default(),
            signals: Counter::default(),
            latency: Histogram::new([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]),
        };
        registry.register(
            "lookout_incidents_created",
            "Incidents opened (announced or not)",
            m.created.clone(),
        );
        registry.register(
            "lookout_incidents_announced",
            "Incidents announced after the settle window, by severity at that time",
            m.announced.clone(),
        );
        registry.register(
            "lookout_incidents_ended",
            "Incidents ended, by final state",
            m.ended.clone(),
        );
        registry.register(
            "lookout_incidents_open",
            "Open incidents by severity and state",
            m.open.clone(),
        );
        registry.register(
            "lookout_incidents_merged",
            "Incidents absorbed into another by correlation",
            m.merged.clone(),
        );
        registry.register(
            "lookout_incident_signals",
            "Signals that joined an incident",
            m.signals.clone(),
        );
        registry.register(
            "lookout_detection_latency_seconds",
            "From an object change received from the API server to the incident stored",
            m.latency.clone(),
        );
        m
    }

    /// Metrics that go nowhere, for tests and tools.
    pub fn unregistered() -> Self {
        Self::new(&mut Registry::default())
    }

    pub(super) fn created(&self) {
        self.created.inc();
    }

    pub(super) fn announced(&self, severity: Severity) {
        self.announced
            .get_or_create(&SeverityLabel {
                severity: severity.as_str(),
            })
            .inc();
    }

    pub(super) fn ended(&self, state: IncidentState) {
        self.ended
            .get_or_create(&StateLabel {
                state: state.as_str(),
            })
            .inc();
    }

    pub(super) fn merged(&self) {
        self.merged.inc();
    }

    pub(super) fn signal_joined(&self) {
        self.signals.inc();
    }

    pub(super) fn observe_latency(&self, d: Duration) {
        self.latency.observe(d.as_secs_f64());
    }

    pub(super) fn refresh<'a>(&self, open: impl Iterator<Item = &'a Incident>) {
        let mut counts = std::collections::HashMap::new();
        for i in open {
            *counts.entry((i.severity, i.state)).or_insert(0i64) += 1;
        }
        for severity in Severity::ALL {
            for state in IncidentState::ALL.into_iter().filter(|s| s.is_open()) {
                self.open
                    .get_or_create(&OpenLabel {
                        severity: severity.as_str(),
                        state: state.as_str(),
                    })
                    .set(counts.get(&(severity, state)).copied().unwrap_or(0));
            }
        }
    }
}
