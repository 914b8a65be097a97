//! Redaction: secrets never leave for the LLM, and nothing from the cluster reaches chat
//! unredacted. A [`Redactor`] is built once from [`RedactionConfig`] and is then pure: text in,
//! text out, with every credential it recognises replaced by a marker that says what was there
//! (`[REDACTED:github_token]`, `password=[REDACTED]`) and never any part of the value.
//!
//! One multi-pattern regex (regex-automata's meta engine, the one under `regex`) finds every
//! candidate in a single pass of its lazy DFA; see `rules.rs` for the catalogue. Each match is
//! then checked by its rule (a placeholder such as `${DB_PASSWORD}`, prose such as
//! `invalid token: expired`, a ConfigMap's `data:` are left alone) before it is replaced, and
//! only then are captures computed, on the match alone. Text without a secret comes back
//! borrowed, untouched. A literal prefilter (Aho-Corasick over `token`, `key`, `ghp_`, `://`,
//! ...) was measured and left out: those markers are everywhere in logs, and finding them cost
//! as much as the whole DFA pass (`benches/redaction.rs` has the figures).

mod apply;
mod config;
mod json;
mod manifest;
mod rules;

use std::borrow::Cow;

use regex_automata::meta;
use regex_automata::util::captures::Captures;
use regex_automata::util::syntax;
use regex_automata::{Input, PatternID};

pub use config::RedactionConfig;
use rules::{Action, BUILT_IN, KEY_WORDS, OPTIONAL};

/// Building a [`Redactor`] failed.
#[derive(Debug, thiserror::Error)]
pub enum RedactError {
    /// The configuration has problems, each with its field (`redaction.extra_patterns[0]`).
    #[error("invalid redaction config: {}", format_fields(.0))]
    Invalid(Vec<(String, String)>),
    /// The rules could not be compiled together (too big with the extra patterns).
    #[error("compiling the redaction rules: {0}")]
    Build(#[source] Box<meta::BuildError>),
}

fn format_fields(errors: &[(String, String)]) -> String {
    let parts: Vec<String> = errors.iter().map(|(f, r)| format!("{f}: {r}")).collect();
    parts.join("; ")
}

/// Replaces secrets in text. Cheap to share (`Arc`), safe to use from many threads.
#[derive(Debug)]
pub struct Redactor {
    /// Every rule's patterns, searched together.
    regex: meta::Regex,
    /// For each pattern of `regex`, its rule's name and action.
    rules: Vec<(&'static str, Action)>,
    /// `replacement`.
    marker: Marker,
    /// `keyed_replacement`.
    keyed: String,
    /// A whole key whose value is secret (for JSON objects).
    secret_key: regex::Regex,
    /// `"kind": "Secret"` and the like, to tell a Secret's `data` from a ConfigMap's.
    json_kind: regex::bytes::Regex,
}

/// `replacement` split around its `{kind}`.
#[derive(Debug)]
struct Marker {
    before: String,
    /// `None` when the replacement has no `{kind}`: the marker is `before` alone.
    after: Option<String>,
}

/// The name used as `{kind}` for a match of `redaction.extra_patterns`.
const CUSTOM: &str = "custom";

/// The lazy DFA's cache, per thread that redacts concurrently (grown on demand): with the
/// default 2 MiB the cache of this catalogue fills and is cleared often, which doubled the
/// cost per byte; more than 8 MiB bought little.
const DFA_CACHE_BYTES: usize = 8 * 1024 * 1024;

impl Redactor {
    /// Compiles the catalogue with the config's additions (a few milliseconds: build once,
    /// share). Fails on an invalid config (the same problems [`RedactionConfig::validate`]
    /// reports) or when the extra patterns make the whole too big to compile.
    pub fn new(config: &RedactionConfig) -> Result<Redactor, RedactError> {
        let errors = config.validate();
        if !errors.is_empty() {
            return Err(RedactError::Invalid(errors));
        }
        let keys = key_alternation(&config.extra_keys);

        let mut patterns: Vec<String> = Vec::new();
        let mut rules = Vec::new();
        let optional = OPTIONAL.iter().filter(|r| match r.name {
            "email" => config.emails,
            _ => config.ip_addresses,
        });
        for p in &config.extra_patterns {
            patterns.push(p.clone());
            rules.push((CUSTOM, Action::Token));
        }
        for rule in BUILT_IN.iter().chain(optional) {
            if config.disable.iter().any(|d| d == rule.name) {
                continue;
            }
            for p in rule.patterns {
                patterns.push(p.replace("{KEYS}", &keys));
                rules.push((rule.name, rule.action));
            }
        }

        let regex = meta::Regex::builder()
            .syntax(syntax::Config::new().utf8(true).unicode(true))
            .configure(
                meta::Config::new()
                    .hybrid_cache_capacity(DFA_CACHE_BYTES)
                    .nfa_size_limit(Some(64 * 1024 * 1024)),
            )
            .build_many(&patterns)
            .map_err(|e| RedactError::Build(Box::new(e)))?;
        let secret_key = regex::Regex::new(&format!(
            r"(?i-u)^(?:[A-Za-z0-9_.-]*(?:{keys})|(?:proxy-)?authorization|(?:set-)?cookie|auth|sig)$"
        ))
        .map_err(|e| {
            RedactError::Invalid(vec![("redaction.extra_keys".into(), e.to_string())])
        })?;
        // A fixed pattern: `expect` could only fire on a typo here, and every test would.
        let json_kind =
            regex::bytes::Regex::new(r#"\\?"kind\\?"[ \t\r\n]*:[ \t\r\n]*\\?"([A-Za-z]+)\\?""#)
                .expect("fixed pattern");

        let marker = match config.replacement.split_once("{kind}") {
            Some((before, after)) => Marker {
                before: before.to_string(),
                after: Some(after.to_string()),
            },
            None => Marker {
                before: config.replacement.clone(),
                after: None,
            },
        };
        Ok(Redactor {
            regex,
            rules,
            marker,
            keyed: config.keyed_replacement.clone(),
            secret_key,
            json_kind,
        })
    }

    /// Redacts `text`. Borrowed when nothing was found, so clean text costs one scan and no
    /// copy.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Output::new(text);
        let mut caps = self.regex.create_captures();
        let mut at = 0;
        while at < text.len() {
            self.regex
                .search_captures(&Input::new(text).span(at..text.len()), &mut caps);
            let Some(m) = caps.get_match() else { break };
            if m.is_empty() {
                // Only an extra pattern can match empty text; step over one character.
                at = next_char(text, m.end());
                continue;
            }
            let resume = self.apply(&caps, m.pattern(), &mut out);
            at = resume.max(m.end());
        }
        out.finish()
    }

    /// Whether a key (of a JSON object, an env var) names a secret value.
    pub fn is_secret_key(&self, key: &str) -> bool {
        self.secret_key.is_match(key)
    }

    /// The names of the built-in rules, as shown in `[REDACTED:<name>]` and accepted by
    /// `redaction.disable`.
    pub fn rule_names() -> impl Iterator<Item = &'static str> {
        BUILT_IN.iter().chain(OPTIONAL).map(|r| r.name)
    }

    fn apply(&self, caps: &Captures, pattern: PatternID, out: &mut Output<'_>) -> usize {
        let (name, action) = self.rules[pattern.as_usize()];
        let ctx = apply::Ctx {
            text: out.text,
            caps,
            name,
            redactor: self,
        };
        match action {
            Action::Token => ctx.token(out),
            Action::Keyed => ctx.keyed(out),
            Action::KeyValue => ctx.key_value(out),
            Action::EnvValue => ctx.env_value(out),
            Action::Base64Pem => ctx.base64_pem(out),
            Action::Ipv6 => ctx.ipv6(out),
            Action::BlockScalar => ctx.block_scalar(out),
            Action::SecretDataYaml => ctx.secret_data_yaml(out),
            Action::SecretDataJson => ctx.secret_data_json(out),
        }
    }
}

impl crate::chat::redact::Redact for Redactor {
    fn redact(&self, text: &str) -> String {
        Redactor::redact(self, text).into_owned()
    }
}

/// `{KEYS}`: the built-in key words and the configured extra keys (validated as plain names,
/// escaped anyway).
fn key_alternation(extra: &[String]) -> String {
    let mut keys = KEY_WORDS.to_string();
    for k in extra {
        keys.push('|');
        keys.push_str(&regex::escape(k));
    }
    keys
}

fn next_char(text: &str, at: usize) -> usize {
    text[at..]
        .chars()
        .next()
        .map_or(text.len(), |c| at + c.len_utf8())
}

/// The redacted text being built: copied lazily, only once something is replaced.
pub(super) struct Output<'a> {
    text: &'a str,
    buf: Option<String>,
    /// `text[..copied]` is accounted for in `buf`.
    copied: usize,
}

impl<'a> Output<'a> {
    fn new(text: &'a str) -> Self {
        Output {
            text,
            buf: None,
            copied: 0,
        }
    }

    /// Replaces `text[start..end]`; ranges come in increasing order.
    pub(super) fn replace(&mut self, start: usize, end: usize, with: &[&str]) {
        debug_assert!(self.copied <= start && start <= end);
        let text = self.text;
        let buf = self
            .buf
            .get_or_insert_with(|| String::with_capacity(text.len() + 64));
        buf.push_str(&text[self.copied..start]);
        for w in with {
            buf.push_str(w);
        }
        self.copied = end;
    }

    fn finish(self) -> Cow<'a, str> {
        match self.buf {
            None => Cow::Borrowed(self.text),
            Some(mut buf) => {
                buf.push_str(&self.text[self.copied..]);
                Cow::Owned(buf)
            }
        }
    }
}

#[cfg(test)]
mod tests;
