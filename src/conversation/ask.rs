//! One answer: the question (with what the thread remembers) goes to the model with the
//! conversation's tools; the model may look around with at most `max_tool_calls` calls, each
//! checked, run, bounded and redacted, then answers in text. Everything sent is redacted
//! first: the question, the remembered turns, the open incidents, every tool result.

use std::sync::Arc;

use tracing::{info, warn};

use super::cite::Citations;
use super::config::ConversationsConfig;
use super::memory::Recalled;
use super::metrics::ConversationMetrics;
use super::tools::{Ran, Suggestion, ToolEnv, Toolbox};
use crate::actions::ActionContext;
use crate::chat::redact::SharedRedact;
use crate::incident::Incident;
use crate::incident::tracker::{INCIDENTS, OPEN_INCIDENTS};
use crate::llm::{
    ChatRequest, ConversationVars, IncidentBrief, LlmClient, LlmError, Message, PromptError,
    Prompts, ReplyKind, SystemVars, ToolChoice,
};
use crate::store::{SharedStore, StoreExt};

/// Open incidents named in the prompt.
const MAX_OPEN_IN_PROMPT: usize = 10;
/// Suggestions kept per answer.
const MAX_SUGGESTIONS: usize = 3;

/// Why there is no answer.
#[derive(Debug, thiserror::Error)]
pub enum AskError {
    #[error("{0}")]
    Llm(#[from] LlmError),
    #[error("{0}")]
    Prompt(#[from] PromptError),
    /// The model kept calling tools after it was told to answer.
    #[error("the model did not come to an answer")]
    NoAnswer,
}

/// A question as the model gets it.
pub struct Question {
    /// Display name of the person asking.
    pub asker: String,
    /// Already redacted.
    pub text: String,
    pub memory: Recalled,
}

/// The model's answer and what it is based on.
#[derive(Debug, Clone)]
pub struct Answer {
    /// As the model wrote it (to be redacted again before posting).
    pub text: String,
    pub citations: Citations,
    pub suggestions: Vec<Suggestion>,
    pub tool_calls: u32,
    pub prompt_tokens: u64,
}

/// What answering needs, built once.
pub struct Answerer {
    pub llm: LlmClient,
    pub prompts: Arc<Prompts>,
    pub redact: SharedRedact,
    pub toolbox: Toolbox,
    pub store: SharedStore,
    pub cluster: String,
    pub config: ConversationsConfig,
    pub metrics: ConversationMetrics,
}

impl Answerer {
    pub async fn answer(&self, q: &Question, actions: &ActionContext) -> Result<Answer, AskError> {
        let system = self.prompts.system(&SystemVars {
            cluster: self.cluster.clone(),
        })?;
        let prompt = self.prompts.conversation(&ConversationVars {
            asker: q.asker.clone(),
            question: q.text.clone(),
            open_incidents: self.open_incidents().await,
            max_tool_calls: self.config.max_tool_calls,
            max_lines: self.config.max_lines,
        })?;
        let mut messages = Vec::new();
        if let Some(summary) = &q.memory.summary {
            messages.push(Message::user(self.redact.redact(summary)));
        }
        for turn in &q.memory.turns {
            messages.push(Message::user(self.redact.redact(&turn.question)));
            messages.push(Message::assistant(self.redact.redact(&turn.answer)));
        }
        messages.push(Message::user(self.redact.redact(&prompt)));

        let env = ToolEnv {
            store: &self.store,
            cluster: &self.cluster,
            actions,
        };
        let max = self.config.max_tool_calls;
        let specs = self.toolbox.specs();
        let mut answer = Answer {
            text: String::new(),
            citations: Citations::default(),
            suggestions: Vec::new(),
            tool_calls: 0,
            prompt_tokens: 0,
        };
        // Rounds are bounded too: a model that keeps calling tools after being told to stop.
        for _round in 0..max + 2 {
            let allow = answer.tool_calls < max;
            let request = ChatRequest {
                purpose: "conversation",
                system: system.clone(),
                messages: messages.clone(),
                tools: if allow { specs.clone() } else { Vec::new() },
                tool_choice: if allow {
                    ToolChoice::Auto
                } else {
                    ToolChoice::None
                },
            };
            let reply = self.llm.chat(&request).await?;
            answer.prompt_tokens += reply.usage.prompt_tokens;
            let calls = match &reply.kind {
                ReplyKind::Text(text) => {
                    answer.text = text.clone();
                    info!(
                        tool_calls = answer.tool_calls,
                        prompt_tokens = answer.prompt_tokens,
                        "question answered"
                    );
                    return Ok(answer);
                }
                ReplyKind::ToolCalls(calls) => calls.clone(),
            };
            messages.push(reply.to_message());
            for call in calls {
                answer.tool_calls += 1;
                let result = if answer.tool_calls > max {
                    "error: no more tool calls; answer now with what you have.".to_string()
                } else {
                    self.run(&env, &call, &mut answer).await
                };
                messages.push(Message::tool_result(call.id.clone(), result));
            }
        }
        Err(AskError::NoAnswer)
    }

    /// Runs one call and returns what the model is told (redacted).
    async fn run(&self, env: &ToolEnv<'_>, call: &crate::llm::ToolCall, a: &mut Answer) -> String {
        match self.toolbox.run(env, call).await {
            Ran::Looked { tool, args, output } => {
                self.metrics.tool(&tool, "ok");
                let output = self.redact.redact(&output);
                a.citations.add(&tool, &args, &output);
                output
            }
            Ran::Suggested(s) => {
                self.metrics.tool(super::tools::SUGGEST_TOOL, "suggested");
                if a.suggestions.len() >= MAX_SUGGESTIONS || a.suggestions.contains(&s) {
                    return "not recorded: enough suggestions for one answer".into();
                }
                a.suggestions.push(s);
                "recorded: it is shown under your answer as a suggestion, not run".into()
            }
            Ran::Failed(text) => {
                let known = self.toolbox.specs().iter().any(|s| s.name == call.name);
                self.metrics
                    .tool(if known { &call.name } else { "unknown" }, "failed");
                self.redact.redact(&text)
            }
            Ran::RefusedMutating { tool, text } => {
                warn!(tool = %tool, "the model asked for a change from a conversation; refused");
                self.metrics.tool(&tool, "refused");
                text
            }
        }
    }

    /// The announced open incidents, most severe first, as the prompt lists them.
    async fn open_incidents(&self) -> Vec<IncidentBrief> {
        let Ok(ids) = self.store.list(OPEN_INCIDENTS).await else {
            return Vec::new();
        };
        let mut open: Vec<Incident> = Vec::new();
        for id in ids {
            if let Ok(Some(i)) = self.store.get_json::<Incident>(INCIDENTS, &id).await
                && i.is_announced()
            {
                open.push(i);
            }
        }
        open.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.number.cmp(&b.number)));
        open.iter()
            .take(MAX_OPEN_IN_PROMPT)
            .map(crate::agent::brief)
            .collect()
    }
}
