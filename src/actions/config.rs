//! The `actions:` section of the config: the bounds the guards enforce, how long verification
//! may take, and how much a read-only tool may return.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Limits and timings of remediation actions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ActionsConfig {
    /// Namespaces in which no action may run, whoever approves it.
    pub protected_namespaces: Vec<String>,
    /// `adjust_resources` may multiply (or divide) a memory request or limit by at most this.
    pub max_memory_factor: f64,
    /// `adjust_resources` may multiply (or divide) a CPU request or limit by at most this.
    pub max_cpu_factor: f64,
    /// A scale may raise replicas to at most this multiple of the current count (of 1 when the
    /// workload has none), so a typo cannot turn 3 replicas into 300.
    pub max_scale_factor: f64,
    /// `pvc.resize` may grow a claim to at most this multiple of its current request: a
    /// volume cannot shrink back, so a typo (20Ti for 20Gi) must not get through.
    pub max_storage_factor: f64,
    /// No action may set more replicas than this.
    pub max_replicas: i32,
    /// How long verification watches for "healthy again" before it gives up.
    #[serde(with = "crate::config::duration")]
    pub verify_timeout: Duration,
    /// How long health must hold without a break before verification calls it healthy: a
    /// container that starts and is OOM-killed a moment later must not pass.
    #[serde(with = "crate::config::duration")]
    pub verify_settle: Duration,
    /// Field manager recorded on every change Lookout makes (visible in `managedFields`).
    pub field_manager: String,
    /// Output bounds of the read-only tools.
    pub read: ReadToolsConfig,
}

impl Default for ActionsConfig {
    fn default() -> Self {
        Self {
            protected_namespaces: vec!["kube-system".into()],
            max_memory_factor: 4.0,
            max_cpu_factor: 4.0,
            max_scale_factor: 3.0,
            max_storage_factor: 4.0,
            max_replicas: 50,
            verify_timeout: Duration::from_secs(300),
            verify_settle: Duration::from_secs(30),
            field_manager: "lookout".into(),
            read: ReadToolsConfig::default(),
        }
    }
}

/// How much the read-only tools return, so one tool call cannot exhaust the model's budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReadToolsConfig {
    /// Most characters any tool returns; longer output is cut at a line with a note.
    pub max_output_chars: usize,
    /// Log lines returned when the caller does not say.
    pub default_log_lines: u32,
    /// Most log lines fetched from the API server; error lines and stack traces among them are
    /// kept when the output is trimmed to the lines asked for.
    pub max_log_lines: u32,
    /// Most events listed.
    pub max_events: usize,
    /// Most rows of a `list`.
    pub max_list_rows: usize,
}

impl Default for ReadToolsConfig {
    fn default() -> Self {
        Self {
            max_output_chars: 6_000,
            default_log_lines: 50,
            max_log_lines: 500,
            max_events: 20,
            max_list_rows: 50,
        }
    }
}

impl ActionsConfig {
    /// Checks serde cannot express. Each problem names its field relative to this section
    /// (`max_memory_factor`); the caller prefixes the section's path (`actions.`).
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        let mut errors = Vec::new();
        for (i, ns) in self.protected_namespaces.iter().enumerate() {
            if !is_dns_label(ns) {
                errors.push((
                    "protected_namespaces",
                    format!("entry {i} `{ns}` is not a namespace name"),
                ));
            }
        }
        for (field, factor) in [
            ("max_memory_factor", self.max_memory_factor),
            ("max_cpu_factor", self.max_cpu_factor),
            ("max_scale_factor", self.max_scale_factor),
            ("max_storage_factor", self.max_storage_factor),
        ] {
            if !factor.is_finite() || !(1.0..=100.0).contains(&factor) {
                errors.push((field, format!("{factor} is outside 1.0..=100.0")));
            }
        }
        if self.max_replicas < 1 {
            errors.push(("max_replicas", format!("{} is below 1", self.max_replicas)));
        }
        if self.verify_timeout.is_zero() {
            errors.push(("verify_timeout", "must be above zero".into()));
        }
        if self.verify_settle >= self.verify_timeout {
            errors.push((
                "verify_settle",
                format!(
                    "{} must be shorter than verify_timeout ({})",
                    crate::config::duration::format(self.verify_settle),
                    crate::config::duration::format(self.verify_timeout)
                ),
            ));
        }
        if self.field_manager.is_empty() || self.field_manager.len() > 128 {
            errors.push(("field_manager", "must be 1 to 128 characters".into()));
        }
        let r = &self.read;
        for (field, v) in [
            ("read.max_output_chars", r.max_output_chars),
            ("read.max_events", r.max_events),
            ("read.max_list_rows", r.max_list_rows),
        ] {
            if v == 0 {
                errors.push((field, "must be above zero".into()));
            }
        }
        if r.max_output_chars < 500 {
            errors.push((
                "read.max_output_chars",
                format!(
                    "{} is too small to be useful (at least 500)",
                    r.max_output_chars
                ),
            ));
        }
        if r.default_log_lines == 0 || r.default_log_lines > r.max_log_lines {
            errors.push((
                "read.default_log_lines",
                format!(
                    "{} must be between 1 and read.max_log_lines ({})",
                    r.default_log_lines, r.max_log_lines
                ),
            ));
        }
        errors
    }
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_round_trip() {
        let c = ActionsConfig::default();
        assert!(c.validate().is_empty(), "{:?}", c.validate());
        let yaml = serde_yaml_ng::to_string(&c).unwrap();
        assert!(yaml.contains("verify_timeout: 5m"), "{yaml}");
        let back: ActionsConfig = serde_yaml_ng::from_str(&yaml).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn unknown_keys_are_rejected_and_fields_named() {
        assert!(serde_yaml_ng::from_str::<ActionsConfig>("max_memory_factr: 2").is_err());
        let c: ActionsConfig = serde_yaml_ng::from_str(
            "max_memory_factor: 0.5\nverify_timeout: 10s\nverify_settle: 1m\n\
             protected_namespaces: [Kube_System]\nread: {default_log_lines: 0}",
        )
        .unwrap();
        let fields: Vec<&str> = c.validate().into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                "protected_namespaces",
                "max_memory_factor",
                "verify_settle",
                "read.default_log_lines"
            ]
        );
    }
}
