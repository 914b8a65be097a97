//! The `redaction:` section of the config file. Redaction itself cannot be turned off: these
//! settings only add to it (patterns, keys, emails, IP addresses) or change how a removed value
//! is shown.

use serde::{Deserialize, Serialize};

use super::rules::{BUILT_IN, OPTIONAL};

/// What is redacted beyond the built-in catalogue, and how a redacted value reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedactionConfig {
    /// Extra regular expressions (Rust `regex` syntax) for secrets the catalogue does not know,
    /// such as an in-house token format. A match is replaced by `replacement` with the kind
    /// `custom`; when the pattern has a group named `secret` (`(?P<secret>...)`), only that
    /// group is replaced and the rest of the match is kept. Checked when the config loads.
    pub extra_patterns: Vec<String>,
    /// Extra key names whose values are secret wherever they appear as `key=value`,
    /// `key: value`, `"key": "value"` or `--key value` (matched case-insensitively, and also
    /// as the end of a longer key: `signing_blob` covers `ACME_SIGNING_BLOB`). Letters, digits,
    /// `_`, `-` and `.` only.
    pub extra_keys: Vec<String>,
    /// Also redact email addresses.
    pub emails: bool,
    /// Also redact IPv4 and IPv6 addresses.
    pub ip_addresses: bool,
    /// Built-in rules to switch off by name (for example `jwt`), for a false positive that
    /// cannot be avoided otherwise. Names are checked against the catalogue.
    pub disable: Vec<String>,
    /// Text that replaces a secret recognised by its shape; `{kind}` becomes what was removed
    /// (`github_token`, `jwt`, ...), never any part of the value.
    pub replacement: String,
    /// Text that replaces a value whose key says what it is (`password=[REDACTED]`,
    /// `"token": "[REDACTED]"`, `postgres://app:[REDACTED]@db`); the key is kept.
    pub keyed_replacement: String,
}

impl Default for RedactionConfig {
    fn default() -> Self {
        Self {
            extra_patterns: Vec::new(),
            extra_keys: Vec::new(),
            emails: false,
            ip_addresses: false,
            disable: Vec::new(),
            replacement: "[REDACTED:{kind}]".to_string(),
            keyed_replacement: "[REDACTED]".to_string(),
        }
    }
}

/// Longest replacement text accepted: a marker, not a message.
const MAX_REPLACEMENT: usize = 64;

impl RedactionConfig {
    /// Checks serde cannot express, all at once. Each problem names its field by its full
    /// path in the config file (`redaction.extra_patterns[2]`) with the reason.
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut errors = Vec::new();
        for (i, pattern) in self.extra_patterns.iter().enumerate() {
            if let Err(reason) = check_pattern(pattern) {
                errors.push((format!("redaction.extra_patterns[{i}]"), reason));
            }
        }
        for (i, key) in self.extra_keys.iter().enumerate() {
            if key.is_empty()
                || !key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
            {
                errors.push((
                    format!("redaction.extra_keys[{i}]"),
                    format!("`{key}` must be a key name: letters, digits, `_`, `-` or `.`"),
                ));
            }
        }
        let rules = || BUILT_IN.iter().chain(OPTIONAL).map(|r| r.name);
        for (i, name) in self.disable.iter().enumerate() {
            if !rules().any(|r| r == name) {
                let known: Vec<&str> = rules().collect();
                errors.push((
                    format!("redaction.disable[{i}]"),
                    format!(
                        "`{name}` is not a built-in rule; the rules are: {}",
                        known.join(", ")
                    ),
                ));
            }
        }
        for (field, text) in [
            ("redaction.replacement", &self.replacement),
            ("redaction.keyed_replacement", &self.keyed_replacement),
        ] {
            if text.trim().is_empty() {
                errors.push((field.to_string(), "must not be empty".to_string()));
            } else if text.len() > MAX_REPLACEMENT || text.contains(['\n', '\r']) {
                errors.push((
                    field.to_string(),
                    format!("must be one line of at most {MAX_REPLACEMENT} bytes"),
                ));
            }
        }
        if self.keyed_replacement.contains("{kind}") {
            errors.push((
                "redaction.keyed_replacement".to_string(),
                "must not contain `{kind}`: the key that is kept already says what was removed"
                    .to_string(),
            ));
        }
        errors
    }
}

/// Why an extra pattern cannot be used, in one line.
pub(super) fn check_pattern(pattern: &str) -> Result<(), String> {
    let re = regex::Regex::new(pattern).map_err(|e| match e {
        regex::Error::Syntax(text) => {
            // The message spans lines (pattern, caret, error); the last line says why.
            let why = text
                .lines()
                .rev()
                .find_map(|l| l.strip_prefix("error: "))
                .unwrap_or(text.as_str());
            format!("not a valid regular expression: {why}")
        }
        regex::Error::CompiledTooBig(limit) => {
            format!("the compiled expression is bigger than the {limit}-byte limit")
        }
        other => format!("not a valid regular expression: {other}"),
    })?;
    if re.is_match("") {
        return Err("matches the empty string, so it would match everywhere".to_string());
    }
    Ok(())
}
