//! How much of the cluster the context builder reads and how much of it the context may show,
//! as it appears in the config file under `context:`.
//!
//! The defaults are sized for the token economy target: one OOM investigation of five tool
//! calls within 30,000 prompt tokens. A full context of 12,000 characters is about 3,000
//! tokens (at four characters a token), leaving room for the system prompt, the tools and
//! their results.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Reading limits and the size budget of an incident's context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContextConfig {
    /// The whole rendered context, in characters. When the sections together are longer,
    /// they are trimmed in a fixed priority order (see `context::budget`) until it fits;
    /// the failing container's state, limits, restart count and last log lines go last.
    pub max_chars: usize,
    /// Pods shown (unhealthy first, then by name); the rest are counted, not shown.
    pub max_pods: usize,
    /// Event lines shown after deduplication (newest first).
    pub max_events: usize,
    /// Containers whose logs are fetched (crash-looping or failed ones first, in pod order).
    /// Pods of one workload usually fail alike, so one or two logs tell the story.
    pub max_logs: usize,
    /// Lines asked of the API server per log (`tailLines`): crashes print their story last.
    pub log_tail_lines: i64,
    /// Bytes asked of the API server per log at most (`limitBytes`), against huge lines.
    pub log_limit_bytes: i64,
    /// Characters of excerpt per log (stack traces, error lines and the last lines).
    pub log_chars: usize,
    /// A log excerpt is never shrunk below this many characters while trimming to the total
    /// budget: the last lines with the error are the evidence the model needs most.
    pub log_floor_chars: usize,
    /// ReplicaSets (revisions) shown in the rollout history, newest first.
    pub max_revisions: usize,
    /// Each API request of the builder gives up after this long; the section then says what
    /// could not be read instead of holding up the diagnosis.
    #[serde(with = "crate::config::duration")]
    pub request_timeout: Duration,
    /// Caps per section, in characters, applied before the total budget.
    pub sections: SectionBudgets,
}

/// Per-section caps in characters. A section over its cap drops its least important lines
/// first and says how many it dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SectionBudgets {
    /// The incident's primary resource: its status and conditions.
    pub resource: usize,
    /// The owner chain (Pod -> ReplicaSet -> Deployment).
    pub owners: usize,
    /// Pods with their containers' states, restart counts, images and resources.
    pub pods: usize,
    /// Recent events of the resource and of the pods shown.
    pub events: usize,
    /// Log excerpts, all logs together.
    pub logs: usize,
    /// Rollout history: revisions, their images and the diff between the last two.
    pub rollout: usize,
    /// Conditions of the nodes the pods run on.
    pub nodes: usize,
    /// What could not be read (forbidden, deleted, timed out).
    pub unavailable: usize,
}

impl Default for ContextConfig {
    fn default() -> Self {
        Self {
            max_chars: 12_000,
            max_pods: 5,
            max_events: 15,
            max_logs: 2,
            log_tail_lines: 200,
            log_limit_bytes: 256 * 1024,
            log_chars: 2_500,
            log_floor_chars: 500,
            max_revisions: 5,
            request_timeout: Duration::from_secs(10),
            sections: SectionBudgets::default(),
        }
    }
}

impl Default for SectionBudgets {
    fn default() -> Self {
        Self {
            resource: 1_500,
            owners: 400,
            pods: 3_500,
            events: 2_000,
            logs: 5_000,
            rollout: 1_200,
            nodes: 1_200,
            unavailable: 800,
        }
    }
}

/// The part of the config that rendering needs; a [`super::Context`] carries it so it renders
/// the same way wherever it goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    pub max_chars: usize,
    pub log_chars: usize,
    pub log_floor_chars: usize,
    pub sections: SectionBudgets,
}

impl ContextConfig {
    pub fn budget(&self) -> Budget {
        Budget {
            max_chars: self.max_chars,
            log_chars: self.log_chars,
            log_floor_chars: self.log_floor_chars,
            sections: self.sections.clone(),
        }
    }

    /// Problems serde cannot see, as (field under `context.`, reason), all at once, for the
    /// top-level config validation.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut at_least = |field: &str, value: usize, min: usize| {
            if value < min {
                out.push((field.to_string(), format!("must be at least {min}")));
            }
        };
        // Below these, even the essential evidence of one failing container does not fit.
        at_least("max_chars", self.max_chars, 1_000);
        at_least("max_pods", self.max_pods, 1);
        at_least("log_floor_chars", self.log_floor_chars, 100);
        at_least("log_chars", self.log_chars, self.log_floor_chars);
        if self.log_tail_lines < 1 {
            out.push(("log_tail_lines".into(), "must be at least 1".into()));
        }
        if self.log_limit_bytes < 1024 {
            out.push(("log_limit_bytes".into(), "must be at least 1024".into()));
        }
        if self.request_timeout.is_zero() {
            out.push(("request_timeout".into(), "must be longer than zero".into()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_yaml_gives_the_defaults_and_unknown_keys_are_refused() {
        let c: ContextConfig = serde_yaml_ng::from_str("{}").unwrap();
        assert_eq!(c, ContextConfig::default());
        assert!(c.problems().is_empty());
        let c: ContextConfig = serde_yaml_ng::from_str(
            "max_chars: 4000\nsections: { logs: 900 }\nrequest_timeout: 3s",
        )
        .unwrap();
        assert_eq!(c.max_chars, 4000);
        assert_eq!(c.sections.logs, 900);
        assert_eq!(c.sections.pods, SectionBudgets::default().pods);
        assert_eq!(c.request_timeout, Duration::from_secs(3));
        let err = serde_yaml_ng::from_str::<ContextConfig>("max_char: 1").unwrap_err();
        assert!(err.to_string().contains("max_char"), "{err}");
    }

    #[test]
    fn problems_name_the_field() {
        let c = ContextConfig {
            max_chars: 10,
            log_chars: 50,
            ..ContextConfig::default()
        };
        let fields: Vec<String> = c.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["max_chars", "log_chars"]);
    }
}
