//! The optional summary paragraph of a digest, written by the model from the digest's own
//! figures (redacted first). The figures are the digest; the paragraph only reads them out,
//! so a failing or absent model leaves a complete digest. The prompt is `prompts/digest.hbs`,
//! rendered strictly under the usual system prompt.

use std::sync::Arc;

use async_trait::async_trait;
use handlebars::Handlebars;
use serde::Serialize;
use tracing::warn;

use super::facts::Digest;
use super::render;
use crate::chat::redact::{NoRedaction, Redact};
use crate::llm::{ChatRequest, LlmClient, Message, Prompts, SystemVars};

/// Sentences asked of the model.
const MAX_SENTENCES: usize = 4;
/// Longest paragraph kept (a model that rambles is cut).
const MAX_CHARS: usize = 900;
const TEMPLATE: &str = include_str!("../../prompts/digest.hbs");

/// Writes a digest's summary paragraph; `None` when it cannot.
#[async_trait]
pub trait Summarize: Send + Sync + 'static {
    async fn summarize(&self, digest: &Digest) -> Option<String>;
}

/// The model writes it.
pub struct LlmSummary {
    pub llm: LlmClient,
    pub prompts: Arc<Prompts>,
    /// Applied to the figures before they leave for the model.
    pub redact: Arc<dyn Redact>,
}

#[derive(Serialize)]
struct DigestVars {
    cluster: String,
    period: String,
    facts: String,
    max_sentences: usize,
}

impl LlmSummary {
    /// The user message for `digest` (redacted figures in a `<data>` block).
    pub fn prompt(&self, digest: &Digest) -> Result<String, String> {
        let mut hbs = Handlebars::new();
        hbs.set_strict_mode(true);
        hbs.register_escape_fn(handlebars::no_escape);
        let facts = render::message(digest, None, &NoRedaction).to_plain();
        let hours = (digest.to - digest.from).num_hours();
        let vars = DigestVars {
            cluster: digest.cluster.clone(),
            period: if hours <= 25 {
                "daily".into()
            } else {
                format!("{hours}-hour")
            },
            // The `<data>` block must not be closable from inside.
            facts: self
                .redact
                .redact(&facts)
                .replace("<data", "‹data")
                .replace("</data", "‹/data"),
            max_sentences: MAX_SENTENCES,
        };
        hbs.render_template(TEMPLATE, &vars)
            .map(|t| t.trim().to_string())
            .map_err(|e| e.to_string())
    }
}

#[async_trait]
impl Summarize for LlmSummary {
    async fn summarize(&self, digest: &Digest) -> Option<String> {
        if !self.llm.enabled() {
            return None;
        }
        let user = match self.prompt(digest) {
            Ok(u) => u,
            Err(error) => {
                warn!(%error, "digest prompt cannot be rendered");
                return None;
            }
        };
        let system = self
            .prompts
            .system(&SystemVars {
                cluster: digest.cluster.clone(),
            })
            .ok()?;
        let request = ChatRequest {
            purpose: "digest",
            system,
            messages: vec![Message::user(user)],
            ..ChatRequest::default()
        };
        let reply = match self.llm.chat(&request).await {
            Ok(r) => r,
            Err(error) => {
                warn!(%error, "no digest summary from the model; the digest goes without");
                return None;
            }
        };
        let text = reply.text()?.trim();
        let paragraph = text.split("\n\n").next().unwrap_or_default().trim();
        if paragraph.is_empty() {
            return None;
        }
        let cut: String = paragraph.chars().take(MAX_CHARS).collect();
        Some(if cut.len() < paragraph.len() {
            format!("{cut}…")
        } else {
            cut
        })
    }
}
