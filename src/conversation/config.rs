//! The `conversations:` section: how questions to the bot are answered, and how many of them a
//! person or a channel may ask. Conversation memory's lifetime and turn count live with the
//! store (`store.conversation_ttl`, `store.conversation_max_turns`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConversationsConfig {
    /// Answer mentions that are no command with the language model (when `llm` is configured).
    /// `false`, or no model: such mentions get the commands list and a pointer.
    pub enabled: bool,
    /// Read-only tool calls the model may make for one answer.
    pub max_tool_calls: u32,
    /// Longest answer asked of the model, in lines.
    pub max_lines: u32,
    /// Wall time for one answer, tool calls included; past it the person is told it took too
    /// long.
    #[serde(with = "crate::config::duration")]
    pub answer_timeout: Duration,
    /// Characters of earlier turns sent along with a follow-up. Older turns beyond it are
    /// summarised in a line each (their questions), the oldest dropped first.
    pub memory_chars: usize,
    /// Answers from the model one person may get per window (every platform counts apart).
    pub per_user: RateLimit,
    /// Answers from the model one channel may get per window.
    pub per_channel: RateLimit,
}

impl Default for ConversationsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_tool_calls: 6,
            max_lines: 20,
            answer_timeout: Duration::from_secs(180),
            memory_chars: 12_000,
            per_user: RateLimit {
                max: 20,
                per: Duration::from_secs(3600),
            },
            per_channel: RateLimit {
                max: 60,
                per: Duration::from_secs(3600),
            },
        }
    }
}

/// At most `max` answers per `per` (a fixed window, shared by every replica through the store).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Answers per window; 0: unlimited.
    pub max: u32,
    /// The window.
    #[serde(with = "crate::config::duration")]
    pub per: Duration,
}

impl ConversationsConfig {
    /// Problems, as (field, reason), with the section's name in the field.
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut err = |field: &str, reason: &str| {
            out.push((format!("conversations.{field}"), reason.to_string()));
        };
        if self.max_lines == 0 {
            err("max_lines", "must be at least 1");
        }
        if self.answer_timeout < Duration::from_secs(1) {
            err("answer_timeout", "must be at least 1s");
        }
        if self.memory_chars < 500 {
            err(
                "memory_chars",
                "must be at least 500 (one question and answer)",
            );
        }
        for (field, limit) in [
            ("per_user", self.per_user),
            ("per_channel", self.per_channel),
        ] {
            if limit.max > 0 && limit.per < Duration::from_secs(1) {
                err(&format!("{field}.per"), "must be at least 1s");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_name_their_field() {
        assert!(ConversationsConfig::default().validate().is_empty());
        let bad = ConversationsConfig {
            max_lines: 0,
            memory_chars: 10,
            per_user: RateLimit {
                max: 3,
                per: Duration::ZERO,
            },
            ..ConversationsConfig::default()
        };
        let fields: Vec<String> = bad.validate().into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                "conversations.max_lines",
                "conversations.memory_chars",
                "conversations.per_user.per"
            ]
        );
    }

    #[test]
    fn yaml_uses_durations_and_refuses_unknown_keys() {
        let c: ConversationsConfig =
            serde_yaml_ng::from_str("per_user: { max: 5, per: 10m }\nmax_tool_calls: 3\n").unwrap();
        assert_eq!(c.per_user.max, 5);
        assert_eq!(c.per_user.per, Duration::from_secs(600));
        assert_eq!(c.max_tool_calls, 3);
        assert!(serde_yaml_ng::from_str::<ConversationsConfig>("per_usr: {}\n").is_err());
    }

    /// Loads a config file the way the bot does (parse, environment, validation).
    fn load(yaml: &str) -> Result<crate::config::Config, crate::config::ConfigError> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("lookout.yaml");
        std::fs::write(&path, yaml).expect("write config");
        let env = std::collections::HashMap::from([(
            "LOOKOUT_CONFIG".to_string(),
            path.display().to_string(),
        )]);
        crate::config::load_from(&env)
    }

    #[test]
    fn the_readmes_sample_loads_and_a_bad_value_is_refused_by_name() {
        let readme = include_str!("../../README.md");
        let section = &readme[readme.find("## Ask the bot").expect("the README section")..];
        let start = section.find("```yaml\n").expect("a YAML sample") + "```yaml\n".len();
        let sample = &section[start..start + section[start..].find("```").expect("its end")];
        let c = load(sample).expect("the README's sample is a valid config");
        assert_eq!(c.conversations, ConversationsConfig::default());
        assert_eq!(c.store.conversation_ttl, Duration::from_secs(24 * 3600));

        let err = load("conversations: { max_lines: 0, per_channel: { max: 5, per: 0s } }\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("conversations.max_lines"), "{err}");
        assert!(err.contains("conversations.per_channel.per"), "{err}");
        let err = load("conversations: { max_answers: 3 }\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("max_answers"), "{err}");
    }
}
