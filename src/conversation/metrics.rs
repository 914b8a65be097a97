//! Conversation metrics: `lookout_conversation_answers_total{outcome}` (answered, failed,
//! timeout, rate_limited, unavailable) and `lookout_conversation_tool_calls_total{tool,
//! result}` (ok, failed, refused: a change asked for; suggested).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ToolLabels {
    tool: String,
    result: &'static str,
}

/// Handles to the metrics; cheap to clone.
#[derive(Clone, Default)]
pub struct ConversationMetrics {
    answers: Family<OutcomeLabel, Counter>,
    tools: Family<ToolLabels, Counter>,
}

impl ConversationMetrics {
    pub fn new(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "lookout_conversation_answers",
            "Questions to the bot by outcome: answered, failed, timeout, rate_limited, unavailable",
            m.answers.clone(),
        );
        registry.register(
            "lookout_conversation_tool_calls",
            "Tool calls the model made in conversations, by tool and result (ok, failed, \
             refused, suggested)",
            m.tools.clone(),
        );
        m
    }

    pub fn answer(&self, outcome: &'static str) {
        self.answers.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    /// `tool` must be a name Lookout knows (offered or in the catalogue), or `unknown`: the
    /// model's inventions would make unbounded label values.
    pub fn tool(&self, tool: &str, result: &'static str) {
        self.tools
            .get_or_create(&ToolLabels {
                tool: tool.to_string(),
                result,
            })
            .inc();
    }
}
