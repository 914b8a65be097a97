//! Chat delivery metrics, by platform.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct PlatformLabel {
    pub platform: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct OpLabel {
    pub platform: String,
    pub op: &'static str,
}

#[derive(Clone)]
pub struct ChatMetrics {
    pub(super) sent: Family<OpLabel, Counter>,
    pub(super) failed: Family<OpLabel, Counter>,
    pub(super) retried: Family<PlatformLabel, Counter>,
    pub(super) rate_limited: Family<PlatformLabel, Counter>,
    pub(super) dead: Family<PlatformLabel, Counter>,
    pub(super) depth: Family<PlatformLabel, Gauge>,
    pub(super) post_latency: Histogram,
}

impl ChatMetrics {
    pub fn new(registry: &mut Registry) -> Self {
        let m = Self {
            sent: Family::default(),
            failed: Family::default(),
            retried: Family::default(),
            rate_limited: Family::default(),
            dead: Family::default(),
            depth: Family::default(),
            post_latency: Histogram::new([0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
        };
        registry.register(
            "lookout_chat_messages_sent",
            "Messages posted or edited, by platform and operation",
            m.sent.clone(),
        );
        registry.register(
            "lookout_chat_messages_failed",
            "Send attempts that failed, by platform and operation",
            m.failed.clone(),
        );
        registry.register(
            "lookout_chat_retries",
            "Sends retried after a temporary failure",
            m.retried.clone(),
        );
        registry.register(
            "lookout_chat_rate_limited",
            "Sends refused with 429 / retry_after",
            m.rate_limited.clone(),
        );
        registry.register(
            "lookout_chat_dead_letters",
            "Messages given up on (permanent errors)",
            m.dead.clone(),
        );
        registry.register(
            "lookout_chat_queue_depth",
            "Messages waiting to be sent",
            m.depth.clone(),
        );
        registry.register(
            "lookout_incident_post_latency_seconds",
            "From an incident's announcement to its card posted",
            m.post_latency.clone(),
        );
        m
    }

    pub fn unregistered() -> Self {
        Self::new(&mut Registry::default())
    }

    pub(super) fn label(platform: &str) -> PlatformLabel {
        PlatformLabel {
            platform: platform.to_string(),
        }
    }

    pub(super) fn op(platform: &str, op: &'static str) -> OpLabel {
        OpLabel {
            platform: platform.to_string(),
            op,
        }
    }

    pub(super) fn observe_post(&self, d: Duration) {
        self.post_latency.observe(d.as_secs_f64());
    }
}
