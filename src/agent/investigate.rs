//! Investigation: the model looks at an incident's redacted context, may call read-only tools
//! (at most a few, each result bounded and redacted), and answers with a diagnosis that is
//! parsed and validated before use. Anything unusable — no model, the budget spent, a timeout,
//! prose instead of JSON, an unknown action — falls back to the rules' diagnosis, so an
//! incident is always explained.
//!
//! Token economy: a compact system prompt, only the tools that fit (read-only tools; the
//! actions for the incident's kind are listed as one-line signatures, not offered as calls),
//! bounded tool results, and nothing re-sent but the conversation itself.

use std::sync::Arc;

use serde_json::Value;
use tracing::{info, warn};

use super::diagnosis::{self, Analysis, Diagnosis, Source, SuggestedAction};
use crate::actions::{ActionContext, Registry, ToolFilter};
use crate::context::ContextBuilder;
use crate::correlate;
use crate::incident::Incident;
use crate::llm::{
    ActionBrief, ChatRequest, DiagnosisVars, IncidentBrief, LlmClient, Message, Prompts, ReplyKind,
    SystemVars, ToolChoice, ToolSet, ToolSpec, parse_json_reply,
};
use crate::redact::Redactor;

/// Everything an investigation needs.
pub struct Investigator {
    pub llm: Option<LlmClient>,
    pub prompts: Arc<Prompts>,
    pub redactor: Arc<Redactor>,
    pub context: ContextBuilder,
    pub registry: Arc<Registry>,
    pub actions: ActionContext,
    pub cluster: String,
    /// Read-only tool calls allowed before the model must answer.
    pub max_tool_calls: u32,
}

/// What an investigation produced, with what it cost.
#[derive(Debug, Clone)]
pub struct Investigation {
    pub diagnosis: Diagnosis,
    /// The redacted context the model saw (also what the thread can show).
    pub context: String,
    pub tool_calls: u32,
    pub prompt_tokens: u64,
    /// Why the rules answered instead of the model, if they did.
    pub fallback: Option<String>,
}

/// The incident as prompts show it.
pub fn brief(incident: &Incident) -> IncidentBrief {
    let mut names: Vec<_> = incident.signal_counts().into_keys().collect();
    names.sort_by_key(|n| std::cmp::Reverse(correlate::default_weight(*n)));
    IncidentBrief {
        id: incident.id.clone(),
        title: incident.title.clone(),
        severity: incident.severity.as_str().into(),
        resource: incident.primary.to_string(),
        signals: names.iter().map(|n| n.as_str().to_string()).collect(),
    }
}

impl Investigator {
    pub async fn investigate(&self, incident: &Incident) -> Investigation {
        let context = match self.context.build(incident).await {
            Ok(c) => c.render(),
            Err(e) => format!("(the cluster could not be read: {e})"),
        };
        let context = self.redactor.redact(&context).into_owned();
        let fallback = |reason: String, calls: u32, tokens: u64, context: String| {
            warn!(incident = %incident.id, %reason, "diagnosis from rules");
            Investigation {
                diagnosis: diagnosis::deterministic(incident),
                context,
                tool_calls: calls,
                prompt_tokens: tokens,
                fallback: Some(reason),
            }
        };
        let Some(llm) = self.llm.as_ref().filter(|l| l.enabled()) else {
            return Investigation {
                diagnosis: diagnosis::deterministic(incident),
                context,
                tool_calls: 0,
                prompt_tokens: 0,
                fallback: Some("no language model configured".into()),
            };
        };
        match self.ask(llm, incident, &context).await {
            Ok((analysis, model, calls, tokens)) => {
                info!(incident = %incident.id, calls, tokens, "diagnosis from the model");
                Investigation {
                    diagnosis: Diagnosis {
                        analysis,
                        source: Source::Model { model },
                    },
                    context,
                    tool_calls: calls,
                    prompt_tokens: tokens,
                    fallback: None,
                }
            }
            Err((reason, calls, tokens)) => fallback(reason, calls, tokens, context),
        }
    }

    /// The read-only tools offered, as the model sees them.
    fn read_tools(&self) -> ToolSet {
        let specs = self
            .registry
            .tools(&ToolFilter {
                read_only: true,
                mutating: false,
                kinds: vec![],
            })
            .into_iter()
            .map(|t| ToolSpec::new(t.name, t.description, t.parameters));
        // The registry's schemas are valid JSON Schema; a failure here is a bug in a tool.
        ToolSet::new(specs).unwrap_or_else(|_| ToolSet::new([]).expect("an empty tool set"))
    }

    /// The actions that fit the incident, and a checker for suggested actions.
    fn action_specs(&self, incident: &Incident) -> Vec<crate::actions::LlmTool> {
        let kinds: Vec<String> = incident
            .signals
            .values()
            .map(|e| e.signal.owner.kind.clone())
            .collect();
        self.registry.tools(&ToolFilter {
            read_only: false,
            mutating: true,
            kinds,
        })
    }

    async fn ask(
        &self,
        llm: &LlmClient,
        incident: &Incident,
        context: &str,
    ) -> Result<(Analysis, String, u32, u64), (String, u32, u64)> {
        let actions = self.action_specs(incident);
        let action_set =
            ToolSet::new(actions.iter().map(|t| {
                ToolSpec::new(t.name.clone(), t.description.clone(), t.parameters.clone())
            }))
            .map_err(|e| (format!("action schemas: {e}"), 0, 0))?;
        let briefs: Vec<ActionBrief> = action_set.specs().iter().map(ActionBrief::from).collect();
        let system = self
            .prompts
            .system(&SystemVars {
                cluster: self.cluster.clone(),
            })
            .map_err(|e| (e.to_string(), 0, 0))?;
        let user = self
            .prompts
            .diagnosis(&DiagnosisVars {
                incident: brief(incident),
                context: context.to_string(),
                max_tool_calls: self.max_tool_calls,
                actions: briefs,
            })
            .map_err(|e| (e.to_string(), 0, 0))?;
        let tools = self.read_tools();
        let mut messages = vec![Message::user(user)];
        let (mut calls, mut tokens) = (0u32, 0u64);
        loop {
            let allow_tools = calls < self.max_tool_calls;
            let request = ChatRequest {
                purpose: "diagnosis",
                system: system.clone(),
                messages: messages.clone(),
                tools: if allow_tools { tools.specs() } else { vec![] },
                tool_choice: if allow_tools {
                    ToolChoice::Auto
                } else {
                    ToolChoice::None
                },
            };
            let reply = llm
                .chat(&request)
                .await
                .map_err(|e| (format!("model call failed: {e}"), calls, tokens))?;
            tokens += reply.usage.prompt_tokens;
            match &reply.kind {
                ReplyKind::ToolCalls(requested) => {
                    messages.push(reply.to_message());
                    for call in requested {
                        calls += 1;
                        let result = if calls > self.max_tool_calls {
                            "error: no more tool calls; answer with the JSON now".to_string()
                        } else {
                            self.run_tool(&tools, call).await
                        };
                        messages.push(Message::tool_result(call.id.clone(), result));
                    }
                }
                ReplyKind::Text(text) => {
                    let analysis: Analysis = parse_json_reply(text)
                        .map_err(|e| (format!("unusable answer: {e}"), calls, tokens))?;
                    let analysis = self.normalise(analysis, &actions);
                    analysis
                        .validate(|a| self.check_action(&action_set, &actions, a))
                        .map_err(|e| (format!("invalid analysis: {e}"), calls, tokens))?;
                    return Ok((analysis, reply.model.clone(), calls, tokens));
                }
            }
        }
    }

    /// Runs one requested read-only tool, or says why not (the model reads the error).
    async fn run_tool(&self, tools: &ToolSet, call: &crate::llm::ToolCall) -> String {
        let valid = match tools.validate(call) {
            Ok(v) => v,
            Err(e) => return e.to_string(),
        };
        let Some(name) = self.registry.by_llm_name(&valid.name) else {
            return format!("error: unknown tool `{}`", valid.name);
        };
        let Some(tool) = self.registry.tool(name) else {
            return format!("error: `{name}` is not a read-only tool; nothing was run");
        };
        match tool
            .run(&self.actions, &Value::Object(valid.arguments))
            .await
        {
            Ok(text) => self.redactor.redact(&text).into_owned(),
            Err(e) => format!("error: {e}"),
        }
    }

    /// Accepts the function name (`deployment_scale`) for an action as well as its name.
    fn normalise(&self, mut analysis: Analysis, actions: &[crate::actions::LlmTool]) -> Analysis {
        for a in &mut analysis.suggested_actions {
            if let Some(t) = actions.iter().find(|t| t.name == a.action) {
                a.action = t.target.clone();
            }
        }
        analysis
    }

    fn check_action(
        &self,
        set: &ToolSet,
        actions: &[crate::actions::LlmTool],
        a: &SuggestedAction,
    ) -> Result<(), String> {
        let Some(tool) = actions.iter().find(|t| t.target == a.action) else {
            return Err(format!(
                "`{}` is not an action that fits this incident",
                a.action
            ));
        };
        let call = crate::llm::ToolCall {
            id: "check".into(),
            name: tool.name.clone(),
            arguments: a.params.to_string(),
        };
        set.validate(&call).map(drop).map_err(|e| e.to_string())
    }
}
