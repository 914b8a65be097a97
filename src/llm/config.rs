//! The `llm:` section of the configuration. Lookout assumes no endpoint: with `base_url` empty
//! the LLM is off and everything runs on deterministic rules. The key usually comes from
//! `LOOKOUT_LLM_API_KEY`; `OPENAI_*` variables are never read (see [`super::client`]).

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::Secret;

/// Which wire dialect the endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LlmProvider {
    /// Any OpenAI-compatible server: OpenAI, Ollama, vLLM, LiteLLM... Requests go to
    /// `{base_url}/chat/completions` with `Authorization: Bearer <api_key>`.
    #[default]
    Openai,
    /// Azure OpenAI: requests go to
    /// `{base_url}/openai/deployments/{deployment}/chat/completions?api-version=..` with an
    /// `api-key` header.
    Azure,
}

/// Azure OpenAI specifics (provider `azure` only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AzureSettings {
    /// The deployment name of the model in the Azure resource.
    pub deployment: String,
    /// The `api-version` query parameter.
    pub api_version: String,
}

impl Default for AzureSettings {
    fn default() -> Self {
        Self {
            deployment: String::new(),
            api_version: "2024-10-21".into(),
        }
    }
}

/// How Lookout talks to a language model, and how much it may spend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LlmConfig {
    /// Base URL of the API, e.g. `https://api.openai.com/v1`, `http://ollama:11434/v1`, or
    /// `https://<resource>.openai.azure.com` for Azure. Empty (default): the LLM is off.
    pub base_url: String,
    /// `openai` (default; any OpenAI-compatible server) or `azure`.
    pub provider: LlmProvider,
    /// Model name sent with each request (`gpt-4o-mini`, `llama3.1:8b`...). Required with
    /// provider `openai`; Azure picks the model by deployment.
    pub model: String,
    /// API key; usually `LOOKOUT_LLM_API_KEY`. May stay empty for servers without auth.
    pub api_key: Secret,
    /// Azure deployment and API version (provider `azure`).
    pub azure: AzureSettings,
    /// Time allowed for one HTTP attempt (request sent to reply fully read). A call makes at
    /// most `1 + max_retries` attempts with waits of at most 30 s between them, so with the
    /// defaults it ends within 4 minutes at worst; with `max_retries: 0`, within `timeout`.
    #[serde(with = "crate::config::duration")]
    pub timeout: Duration,
    /// Retries after a timeout, a 429, a 5xx or a failed connection. A `Retry-After` longer
    /// than 30 s (or than `timeout`) is not waited for: the call fails as rate limited.
    pub max_retries: u32,
    /// Calls in flight at once across the process; more wait their turn.
    pub max_concurrency: usize,
    /// Tokens (prompt + completion) that may be spent per UTC day, counted in the state store
    /// so every replica shares it. Once spent, calls fail at once and Lookout falls back to
    /// its deterministic diagnosis and runbooks. 0: unlimited.
    pub daily_token_budget: u64,
    /// Sampling temperature, 0..=2. Unset (`null`) to not send it (some reasoning models
    /// accept only their default).
    pub temperature: Option<f32>,
    /// Cap on the tokens of one reply (`max_completion_tokens`). 0: not sent.
    pub max_output_tokens: u32,
    /// A directory whose `<name>.hbs` files replace the built-in prompt templates of the same
    /// name (`system`, `diagnosis`, `agent_step`, `postmortem`, `conversation`).
    pub prompts_dir: Option<PathBuf>,
}

impl Default for LlmConfig {
    fn default() -> Self {
        Self {
            base_url: String::new(),
            provider: LlmProvider::Openai,
            model: String::new(),
            api_key: Secret::default(),
            azure: AzureSettings::default(),
            timeout: Duration::from_secs(60),
            max_retries: 2,
            max_concurrency: 4,
            daily_token_budget: 2_000_000,
            temperature: Some(0.2),
            max_output_tokens: 2048,
            prompts_dir: None,
        }
    }
}

impl LlmConfig {
    /// Whether an LLM is configured at all.
    pub fn enabled(&self) -> bool {
        !self.base_url.trim().is_empty()
    }

    /// Checks serde cannot express. Each problem names its field relative to this section
    /// (`base_url`, `azure.deployment`); the caller prefixes `llm.`. Limits are checked even
    /// while the LLM is off, so turning it on later does not uncover old mistakes.
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut errors = Vec::new();
        let mut err = |field: &str, reason: String| errors.push((field.to_string(), reason));

        if self.enabled() {
            match url::Url::parse(&self.base_url) {
                Ok(u) if !matches!(u.scheme(), "http" | "https") => err(
                    "base_url",
                    format!("scheme `{}` is not http or https", u.scheme()),
                ),
                Ok(u) if u.query().is_some() || u.fragment().is_some() => err(
                    "base_url",
                    "must not carry a query or fragment (Azure's api-version goes in \
                     azure.api_version)"
                        .into(),
                ),
                Ok(_) => {}
                Err(e) => err("base_url", format!("not a URL ({e})")),
            }
            match self.provider {
                LlmProvider::Openai if self.model.trim().is_empty() => err(
                    "model",
                    "a model name is required (e.g. gpt-4o-mini): set LOOKOUT_LLM_MODEL".into(),
                ),
                LlmProvider::Azure if self.azure.deployment.trim().is_empty() => err(
                    "azure.deployment",
                    "provider azure needs the deployment name".into(),
                ),
                LlmProvider::Azure if self.azure.api_version.trim().is_empty() => err(
                    "azure.api_version",
                    "provider azure needs an api-version".into(),
                ),
                _ => {}
            }
        }
        if !is_header_safe(self.api_key.expose()) {
            err(
                "api_key",
                "contains characters that cannot go in an HTTP header (a newline or a \
                 non-ASCII character from copying?)"
                    .into(),
            );
        }
        if self.timeout.is_zero() || self.timeout > Duration::from_secs(600) {
            err(
                "timeout",
                format!(
                    "{} is outside 1ms..=10m",
                    crate::config::duration::format(self.timeout)
                ),
            );
        }
        if self.max_retries > 10 {
            err("max_retries", format!("{} is above 10", self.max_retries));
        }
        if !(1..=256).contains(&self.max_concurrency) {
            err(
                "max_concurrency",
                format!("{} is outside 1..=256", self.max_concurrency),
            );
        }
        if let Some(t) = self.temperature
            && !(0.0..=2.0).contains(&t)
        {
            err("temperature", format!("{t} is outside 0..=2"));
        }
        if let Some(dir) = &self.prompts_dir
            && !dir.is_dir()
        {
            err(
                "prompts_dir",
                format!("`{}` is not a directory", dir.display()),
            );
        }
        errors
    }
}

/// Whether a value can be sent as an HTTP header value (visible ASCII and tabs).
pub(super) fn is_header_safe(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(c: &LlmConfig) -> Vec<String> {
        c.validate().into_iter().map(|(f, _)| f).collect()
    }

    #[test]
    fn off_by_default_and_valid() {
        let c = LlmConfig::default();
        assert!(!c.enabled());
        assert!(c.validate().is_empty(), "{:?}", c.validate());
    }

    #[test]
    fn an_endpoint_needs_a_model_and_a_sane_url() {
        let mut c = LlmConfig {
            base_url: "ftp://models".into(),
            ..LlmConfig::default()
        };
        assert_eq!(fields(&c), ["base_url", "model"]);
        c.base_url = "http://127.0.0.1:11434/v1".into();
        c.model = "llama3.1:8b".into();
        assert!(fields(&c).is_empty());
        c.provider = LlmProvider::Azure;
        c.azure.api_version.clear();
        assert_eq!(fields(&c), ["azure.deployment"]);
    }

    #[test]
    fn limits_and_header_safety_are_checked() {
        let c = LlmConfig {
            api_key: Secret::new("sk-abc\n"),
            timeout: Duration::ZERO,
            max_retries: 11,
            max_concurrency: 0,
            temperature: Some(3.0),
            prompts_dir: Some("/nonexistent/prompts".into()),
            ..LlmConfig::default()
        };
        assert_eq!(
            fields(&c),
            [
                "api_key",
                "timeout",
                "max_retries",
                "max_concurrency",
                "temperature",
                "prompts_dir"
            ]
        );
    }

    #[test]
    fn yaml_uses_the_documented_names_and_rejects_unknown_keys() {
        let c: LlmConfig = serde_yaml_ng::from_str(
            "base_url: https://example.openai.azure.com\nprovider: azure\n\
             azure: { deployment: gpt4o }\ntimeout: 20s\ndaily_token_budget: 0\n\
             temperature: null\n",
        )
        .unwrap();
        assert_eq!(c.provider, LlmProvider::Azure);
        assert_eq!(c.timeout, Duration::from_secs(20));
        assert_eq!(c.azure.api_version, "2024-10-21");
        assert_eq!(c.temperature, None);
        assert!(c.validate().is_empty());
        let bad = serde_yaml_ng::from_str::<LlmConfig>("base_url: x\nmodle: y\n");
        assert!(bad.unwrap_err().to_string().contains("modle"));
    }
}
