//! Remediation metrics: approvals by decision, proposals by source, loop steps, escalations,
//! and time to resolve.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Verdict {
    verdict: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabel {
    source: String,
}

#[derive(Clone)]
pub struct RemediationMetrics {
    approvals: Family<Verdict, Counter>,
    proposals: Family<SourceLabel, Counter>,
    steps: Counter,
    escalations: Counter,
    resolve: Histogram,
}

impl RemediationMetrics {
    pub fn new(registry: &mut Registry) -> Self {
        let m = Self {
            approvals: Family::default(),
            proposals: Family::default(),
            steps: Counter::default(),
            escalations: Counter::default(),
            resolve: Histogram::new([
                30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 86400.0,
            ]),
        };
        registry.register(
            "lookout_approvals",
            "Approval decisions, by verdict",
            m.approvals.clone(),
        );
        registry.register(
            "lookout_proposals",
            "Actions proposed for approval, by source",
            m.proposals.clone(),
        );
        registry.register(
            "lookout_agent_steps",
            "Steps of the observe-decide-act loop",
            m.steps.clone(),
        );
        registry.register(
            "lookout_escalations",
            "Remediations handed to the on-call",
            m.escalations.clone(),
        );
        registry.register(
            "lookout_time_to_resolve_seconds",
            "From an incident's detection to its resolution",
            m.resolve.clone(),
        );
        m
    }

    pub fn unregistered() -> Self {
        Self::new(&mut Registry::default())
    }

    pub(super) fn decided(&self, verdict: &'static str) {
        self.approvals.get_or_create(&Verdict { verdict }).inc();
    }

    pub(super) fn proposed(&self, source: &str) {
        let source = source.split(':').next().unwrap_or(source).to_string();
        self.proposals.get_or_create(&SourceLabel { source }).inc();
    }

    pub(super) fn step(&self) {
        self.steps.inc();
    }

    pub(super) fn escalated(&self) {
        self.escalations.inc();
    }

    pub(super) fn resolved_after(&self, d: Duration) {
        self.resolve.observe(d.as_secs_f64());
    }
}
