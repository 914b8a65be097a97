//! The language model: an OpenAI-compatible client with Lookout's limits, the tools offered to
//! the model and the strict check of its tool calls, the prompt templates, and the parsing of
//! structured replies.
//!
//! Everything here fails closed: a call that is off, over budget, slow, rate limited or
//! answered with something unusable is a typed [`LlmError`] and the caller takes its
//! deterministic path; a tool call that does not match what was offered is a
//! [`ToolCallError`] sent back to the model, and nothing runs. What goes into a prompt must
//! already be redacted: this module neither sees nor removes secrets.
//!
//! A typical call:
//! ```ignore
//! let tools = ToolSet::new(read_only_tools)?;
//! let request = ChatRequest {
//!     purpose: "diagnosis",
//!     system: prompts.system(&SystemVars { cluster })?,
//!     messages: vec![Message::user(prompts.diagnosis(&vars)?)],
//!     tools: tools.specs(),
//!     tool_choice: ToolChoice::Auto,
//! };
//! match llm.chat(&request).await?.kind {
//!     ReplyKind::ToolCalls(calls) => { /* tools.validate(&call) each, run, append results */ }
//!     ReplyKind::Text(text) => { let a: Analysis = parse_json_reply(&text)?; a.validate(..)?; }
//! }
//! ```

mod budget;
mod client;
mod config;
mod message;
mod metrics;
mod prompt_samples;
mod prompt_vars;
mod prompts;
mod structured;
mod tools;
mod transport;
mod wire;

use std::time::Duration;

pub use client::LlmClient;
pub use config::{AzureSettings, LlmConfig, LlmProvider};
pub use message::{ChatRequest, Message, Reply, ReplyKind, ToolCall, ToolChoice, Usage};
pub use metrics::LlmMetrics;
pub use prompt_samples::{OOM_CONTEXT, sample_vars};
pub use prompt_vars::*;
pub use prompts::{CheckedPrompt, PromptError, Prompts, Template};
pub use structured::{PostmortemOutput, StructuredError, parse_json_reply};
pub use tools::{
    ToolCallError, ToolSet, ToolSpec, ToolSpecError, ValidCall, control, control_tools,
};

/// Why a call to the model produced nothing usable. Every variant means "fall back".
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// No LLM is configured (`llm.base_url` is empty).
    #[error("no LLM is configured (llm.base_url is empty)")]
    Disabled,
    /// Today's token budget is spent; refused without a request.
    #[error("the daily LLM token budget is spent ({used} of {budget} tokens today)")]
    BudgetExhausted { used: u64, budget: u64 },
    /// The last attempt got no complete reply within this time.
    #[error("the LLM did not answer within {0:?}")]
    Timeout(Duration),
    /// 429 after the retries, a `Retry-After` too long to wait, or the quota is spent.
    #[error("the LLM endpoint is rate limiting Lookout: {message}")]
    RateLimited {
        retry_after: Option<Duration>,
        message: String,
    },
    /// Any other HTTP failure: a refused connection, 401, 404, 400, 5xx after the retries.
    #[error("LLM request failed{}: {message}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    Http {
        status: Option<u16>,
        message: String,
    },
    /// The reply was not a usable chat completion.
    #[error("the LLM's reply is unusable: {0}")]
    BadResponse(String),
    /// The budget could not be read from the state store.
    #[error("the LLM token budget cannot be checked: {0}")]
    Store(#[source] crate::store::StoreError),
    /// The configuration cannot work (caught by `validate` first, normally).
    #[error("LLM misconfigured: {0}")]
    Config(String),
}

impl LlmError {
    /// The `outcome` label of `lookout_llm_calls_total`.
    pub fn kind(&self) -> &'static str {
        match self {
            LlmError::Disabled => "disabled",
            LlmError::BudgetExhausted { .. } => "budget_exhausted",
            LlmError::Timeout(_) => "timeout",
            LlmError::RateLimited { .. } => "rate_limited",
            LlmError::Http { .. } => "http",
            LlmError::BadResponse(_) => "bad_response",
            LlmError::Store(_) => "store",
            LlmError::Config(_) => "config",
        }
    }
}
