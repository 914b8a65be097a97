//! The LLM client: one `chat` call = budget check, a concurrency slot, one request through
//! async-openai with Lookout's own transport (timeouts and retries, see [`super::transport`]),
//! the reply read leniently, tokens counted.
//!
//! async-openai's configs read `OPENAI_API_KEY`, `OPENAI_BASE_URL`, `OPENAI_ORG_ID` and
//! `OPENAI_PROJECT_ID` from the environment when built with `new()`. [`wire_config`] overwrites
//! every one of them with configured values (empty org and project: no such headers), so the
//! process environment never decides where requests go or what they carry.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_openai::config::{AzureConfig, Config as WireConfig, OpenAIConfig};
use async_openai::error::OpenAIError;
use prometheus_client::registry::Registry;
use tokio::sync::Semaphore;

use super::LlmError;
use super::budget::TokenBudget;
use super::config::{LlmConfig, LlmProvider, is_header_safe};
use super::message::{ChatRequest, Reply, ReplyKind, Sampling, to_openai};
use super::metrics::LlmMetrics;
use super::transport::{RetryPolicy, Transport, TransportFailure};
use super::wire::{WireResponse, from_openai};
use crate::clock::SharedClock;
use crate::store::SharedStore;

/// Added to the transport's own worst case for the guard around the whole call.
const GUARD_SLACK: Duration = Duration::from_secs(1);

/// A handle to the model; cheap to clone. Built from a config without `base_url` it is off:
/// every call fails at once with [`LlmError::Disabled`].
#[derive(Clone)]
pub struct LlmClient {
    inner: Option<Arc<Inner>>,
    metrics: LlmMetrics,
}

struct Inner {
    client: async_openai::Client<Box<dyn WireConfig>>,
    sampling: Sampling,
    limit: Semaphore,
    budget: TokenBudget,
    policy: RetryPolicy,
}

impl LlmClient {
    /// Builds the client (no request is made). `store` keeps the daily token count; `clock`
    /// decides which UTC day it is.
    pub fn new(
        config: &LlmConfig,
        store: SharedStore,
        clock: SharedClock,
        registry: &mut Registry,
    ) -> Result<Self, LlmError> {
        let metrics = LlmMetrics::new(registry);
        if !config.enabled() {
            return Ok(Self {
                inner: None,
                metrics,
            });
        }
        if let Some((field, reason)) = config.validate().into_iter().next() {
            return Err(LlmError::Config(format!("llm.{field}: {reason}")));
        }
        // reqwest (inside async-openai) needs the process's rustls provider even for http://.
        crate::install_crypto_provider();
        let policy = RetryPolicy {
            timeout: config.timeout,
            max_retries: config.max_retries,
        };
        let client = async_openai::Client::with_config(wire_config(config)?)
            .with_http_service(Transport::new(policy, metrics.clone()));
        Ok(Self {
            inner: Some(Arc::new(Inner {
                client,
                sampling: Sampling {
                    model: config.model.clone(),
                    temperature: config.temperature,
                    max_output_tokens: config.max_output_tokens,
                },
                limit: Semaphore::new(config.max_concurrency.max(1)),
                budget: TokenBudget::new(store, clock, config.daily_token_budget),
                policy,
            })),
            metrics,
        })
    }

    /// Whether an LLM is configured.
    pub fn enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// Tokens counted against today's budget (all replicas).
    pub async fn tokens_used_today(&self) -> Result<u64, LlmError> {
        let inner = self.inner.as_ref().ok_or(LlmError::Disabled)?;
        inner.budget.used_today().await.map_err(LlmError::Store)
    }

    /// Sends one request and returns the model's reply: text, or tool calls still to be
    /// validated with [`super::ToolSet::validate`]. Fails fast when off or over budget;
    /// otherwise within the configured timeout per attempt, retries included.
    #[tracing::instrument(name = "llm_chat", skip_all, fields(purpose = request.purpose))]
    pub async fn chat(&self, request: &ChatRequest) -> Result<Reply, LlmError> {
        let result = self.chat_once(request).await;
        match &result {
            Ok(reply) => {
                self.metrics.call("ok");
                tracing::info!(
                    prompt_tokens = reply.usage.prompt_tokens,
                    completion_tokens = reply.usage.completion_tokens,
                    tool_calls = matches!(reply.kind, ReplyKind::ToolCalls(_)),
                    "LLM call done"
                );
            }
            Err(error) => {
                self.metrics.call(error.kind());
                tracing::warn!(%error, "LLM call failed");
            }
        }
        result
    }

    async fn chat_once(&self, request: &ChatRequest) -> Result<Reply, LlmError> {
        let Some(inner) = self.inner.as_ref() else {
            self.metrics.error("disabled");
            return Err(LlmError::Disabled);
        };
        self.check_budget(inner).await?;
        let Ok(_permit) = inner.limit.acquire().await else {
            unreachable!("the semaphore is never closed")
        };
        // Calls that ran while this one waited may have spent the rest of the day's budget.
        self.check_budget(inner).await?;

        let body = to_openai(request, &inner.sampling);
        let prompt_chars = serde_json::to_string(&body).map(|s| s.len()).unwrap_or(0);
        let started = Instant::now();
        let guard = inner.policy.worst_case() + GUARD_SLACK;
        let outcome = tokio::time::timeout(
            guard,
            inner.client.chat().create_byot::<_, WireResponse>(body),
        )
        .await;
        self.metrics.latency(started.elapsed());
        let response = match outcome {
            Err(_) => {
                self.metrics.error("timeout");
                return Err(LlmError::Timeout(guard));
            }
            Ok(Err(e)) => {
                let error = classify(e);
                if matches!(error, LlmError::BadResponse(_)) {
                    self.metrics.error("bad_response");
                }
                return Err(error);
            }
            Ok(Ok(r)) => r,
        };
        let reply = from_openai(response, prompt_chars).map_err(|reason| {
            self.metrics.error("bad_response");
            LlmError::BadResponse(reason)
        })?;
        self.metrics
            .tokens(reply.usage.prompt_tokens, reply.usage.completion_tokens);
        if let Err(error) = inner.budget.spend(reply.usage.total()).await {
            // The reply is paid for and useful; only the count is short.
            self.metrics.error("store");
            tracing::warn!(%error, tokens = reply.usage.total(), "could not count LLM tokens");
        }
        Ok(reply)
    }

    async fn check_budget(&self, inner: &Inner) -> Result<(), LlmError> {
        match inner.budget.check().await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                self.metrics.error("budget_exhausted");
                Err(LlmError::BudgetExhausted {
                    used: e.used,
                    budget: e.budget,
                })
            }
            Err(error) => {
                self.metrics.error("store");
                Err(LlmError::Store(error))
            }
        }
    }
}

/// The async-openai config, every field set from Lookout's config and none from the process
/// environment.
pub(super) fn wire_config(config: &LlmConfig) -> Result<Box<dyn WireConfig>, LlmError> {
    let key = config.api_key.expose();
    // async-openai panics on a key that is not a valid header value; refuse it here instead.
    if !is_header_safe(key) {
        return Err(LlmError::Config(
            "llm.api_key contains characters that cannot go in an HTTP header".into(),
        ));
    }
    let base = config.base_url.trim().trim_end_matches('/');
    Ok(match config.provider {
        LlmProvider::Openai => Box::new(
            OpenAIConfig::new()
                .with_api_base(base)
                .with_api_key(key)
                .with_org_id("")
                .with_project_id(""),
        ),
        LlmProvider::Azure => Box::new(
            AzureConfig::new()
                .with_api_base(base)
                .with_api_key(key)
                .with_deployment_id(config.azure.deployment.trim())
                .with_api_version(config.azure.api_version.trim()),
        ),
    })
}

/// Maps what async-openai returned to Lookout's error kinds.
fn classify(error: OpenAIError) -> LlmError {
    match error {
        OpenAIError::Boxed(boxed) => match boxed.downcast::<TransportFailure>() {
            Ok(failure) => match *failure {
                TransportFailure::Timeout(d) => LlmError::Timeout(d),
                TransportFailure::Connect(message) => LlmError::Http {
                    status: None,
                    message,
                },
                TransportFailure::Status {
                    status,
                    message,
                    retry_after,
                    ..
                } if status.as_u16() == 429 => LlmError::RateLimited {
                    retry_after,
                    message,
                },
                TransportFailure::Status {
                    status, message, ..
                } => LlmError::Http {
                    status: Some(status.as_u16()),
                    message,
                },
            },
            Err(other) => LlmError::Http {
                status: None,
                message: other.to_string(),
            },
        },
        OpenAIError::JSONDeserialize(e, _) => {
            LlmError::BadResponse(format!("not a chat completion ({e})"))
        }
        OpenAIError::ApiError(api) if api.status_code.as_u16() == 429 => LlmError::RateLimited {
            retry_after: None,
            message: api.api_error.message,
        },
        OpenAIError::ApiError(api) => LlmError::Http {
            status: Some(api.status_code.as_u16()),
            message: api.api_error.message,
        },
        OpenAIError::Reqwest(e) => LlmError::Http {
            status: e.status().map(|s| s.as_u16()),
            message: e.to_string(),
        },
        other => LlmError::Http {
            status: None,
            message: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn config(provider: LlmProvider) -> LlmConfig {
        LlmConfig {
            base_url: "http://127.0.0.1:9/v1/".into(),
            provider,
            model: "m".into(),
            api_key: Secret::new("sk-configured"),
            azure: super::super::config::AzureSettings {
                deployment: "dep".into(),
                api_version: "2024-10-21".into(),
            },
            ..LlmConfig::default()
        }
    }

    /// Whatever `OPENAI_*` holds in this process, the wire config carries only configured
    /// values. (The integration tests prove it with those variables set to junk.)
    #[test]
    fn the_wire_config_is_built_from_lookout_config_only() {
        let wire = wire_config(&config(LlmProvider::Openai)).unwrap();
        assert_eq!(wire.api_base(), "http://127.0.0.1:9/v1");
        assert_eq!(
            wire.url("/chat/completions"),
            "http://127.0.0.1:9/v1/chat/completions"
        );
        let headers = wire.headers();
        let names: Vec<&str> = headers.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["authorization"]);
        assert_eq!(headers["authorization"], "Bearer sk-configured");
        assert!(wire.query().is_empty());

        let azure = wire_config(&config(LlmProvider::Azure)).unwrap();
        assert_eq!(
            azure.url("/chat/completions"),
            "http://127.0.0.1:9/v1/openai/deployments/dep/chat/completions"
        );
        assert_eq!(azure.query(), [("api-version", "2024-10-21")]);
        assert_eq!(azure.headers()["api-key"], "sk-configured");
    }

    #[test]
    fn a_key_that_would_panic_async_openai_is_refused() {
        let mut c = config(LlmProvider::Openai);
        c.api_key = Secret::new("sk-abc\r\nX-Evil: 1");
        assert!(matches!(wire_config(&c), Err(LlmError::Config(_))));
    }

    #[tokio::test]
    async fn without_a_base_url_every_call_is_disabled() {
        let store = std::sync::Arc::new(crate::store::MemoryStore::new(
            crate::clock::SystemClock::shared(),
            crate::store::Retention {
                records: Duration::from_secs(60),
                conversation_ttl: Duration::from_secs(60),
                conversation_max_turns: 1,
                audit_max_len: 1,
            },
        ));
        let mut registry = Registry::default();
        let client = LlmClient::new(
            &LlmConfig::default(),
            store,
            crate::clock::SystemClock::shared(),
            &mut registry,
        )
        .unwrap();
        assert!(!client.enabled());
        let err = client.chat(&ChatRequest::default()).await.unwrap_err();
        assert!(matches!(err, LlmError::Disabled));
        let text = crate::metrics::encode(&registry);
        assert!(
            text.contains(r#"lookout_llm_calls_total{outcome="disabled"} 1"#),
            "{text}"
        );
    }
}
