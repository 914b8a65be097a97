//! LLM metrics: calls by outcome, tokens by kind, latency, and errors by kind.
//!
//! `lookout_llm_calls_total{outcome}` counts [`super::LlmClient::chat`] calls by how they ended
//! (`ok`, or the error kind); `lookout_llm_errors_total{kind}` counts every failed HTTP attempt,
//! retried or not, plus failures that never reached HTTP, so retries show up there and not in
//! calls. Latency is per call, from the moment it holds a concurrency slot.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

/// Handles to the LLM metrics; cheap to clone.
#[derive(Clone)]
pub struct LlmMetrics {
    calls: Family<OutcomeLabel, Counter>,
    tokens: Family<KindLabel, Counter>,
    latency: Histogram,
    errors: Family<KindLabel, Counter>,
}

impl LlmMetrics {
    pub fn new(registry: &mut Registry) -> Self {
        let m = Self {
            calls: Family::default(),
            tokens: Family::default(),
            latency: Histogram::new([0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0]),
            errors: Family::default(),
        };
        registry.register(
            "lookout_llm_calls",
            "LLM calls by outcome (ok, or the error kind)",
            m.calls.clone(),
        );
        registry.register(
            "lookout_llm_tokens",
            "Tokens used by LLM calls, by kind (prompt, completion)",
            m.tokens.clone(),
        );
        registry.register(
            "lookout_llm_latency_seconds",
            "Duration of LLM calls, retries included, queueing excluded",
            m.latency.clone(),
        );
        registry.register(
            "lookout_llm_errors",
            "Failed LLM HTTP attempts and refused calls, by kind",
            m.errors.clone(),
        );
        m
    }

    pub(super) fn call(&self, outcome: &'static str) {
        self.calls.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    pub(super) fn tokens(&self, prompt: u64, completion: u64) {
        self.tokens
            .get_or_create(&KindLabel { kind: "prompt" })
            .inc_by(prompt);
        self.tokens
            .get_or_create(&KindLabel { kind: "completion" })
            .inc_by(completion);
    }

    pub(super) fn latency(&self, d: Duration) {
        self.latency.observe(d.as_secs_f64());
    }

    pub(super) fn error(&self, kind: &'static str) {
        self.errors.get_or_create(&KindLabel { kind }).inc();
    }
}
