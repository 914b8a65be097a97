//! What a conversation may call: the catalogue's read-only tools (get, describe, logs, events,
//! list), Lookout's own (incidents, incident timelines, rollout history, node conditions), and
//! `suggest_action`, which runs nothing and only records a change for people to consider.
//! Mutating actions are never offered; a model that calls one anyway is refused and told so.
//! Every call is checked against the schema offered before anything runs.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use tracing::warn;

use super::{tools_cluster, tools_store};
use crate::actions::{ActionContext, LlmTool, Registry, Risk, ToolFilter};
use crate::llm::{ToolCall, ToolSet, ToolSpec};
use crate::store::SharedStore;

pub const SUGGEST_TOOL: &str = "suggest_action";

/// A change the model suggested, its parameters checked against the action's schema. Never run.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    /// The catalogue's name, `deployment.scale`.
    pub action: String,
    pub params: Map<String, Value>,
    pub reason: String,
    pub risk: Risk,
}

/// What came of one tool call.
#[derive(Debug, Clone, PartialEq)]
pub enum Ran {
    /// A read-only tool ran; `output` goes to the model once redacted.
    Looked {
        tool: String,
        args: Map<String, Value>,
        output: String,
    },
    /// A suggestion was recorded.
    Suggested(Suggestion),
    /// Nothing ran: invalid arguments, an unknown tool, a failed read. The text tells the model.
    Failed(String),
    /// Nothing ran: the model asked for a change to the cluster.
    RefusedMutating { tool: String, text: String },
}

/// What the tools run with.
pub struct ToolEnv<'a> {
    pub store: &'a SharedStore,
    pub cluster: &'a str,
    pub actions: &'a ActionContext,
}

/// The tools of conversations, built once.
pub struct Toolbox {
    offered: ToolSet,
    registry: Arc<Registry>,
    /// The catalogue's actions, to check suggestions with.
    actions: Vec<LlmTool>,
    action_schemas: ToolSet,
}

impl Toolbox {
    pub fn new(registry: Arc<Registry>) -> Self {
        let read = registry.tools(&ToolFilter {
            read_only: true,
            mutating: false,
            kinds: vec![],
        });
        let actions = registry.tools(&ToolFilter {
            read_only: false,
            mutating: true,
            kinds: vec![],
        });
        let mut specs: Vec<ToolSpec> = read
            .iter()
            .map(|t| ToolSpec::new(t.name.clone(), t.description.clone(), t.parameters.clone()))
            .collect();
        for own in tools_store::specs()
            .into_iter()
            .chain(tools_cluster::specs())
            .chain([suggest_spec(&actions)])
        {
            if specs.iter().any(|s| s.name == own.name) {
                warn!(tool = %own.name, "a catalogue tool has this name; the conversation's own is left out");
                continue;
            }
            specs.push(own);
        }
        // The catalogue's schemas and ours are valid JSON Schema: a failure is a bug in a tool.
        let offered = ToolSet::new(specs).unwrap_or_else(|e| {
            warn!(error = %e, "conversation tools could not be built; answering without tools");
            ToolSet::new([]).expect("an empty tool set")
        });
        let action_schemas =
            ToolSet::new(actions.iter().map(|t| {
                ToolSpec::new(t.name.clone(), t.description.clone(), t.parameters.clone())
            }))
            .unwrap_or_else(|_| ToolSet::new([]).expect("an empty tool set"));
        Self {
            offered,
            registry,
            actions,
            action_schemas,
        }
    }

    /// The tools offered to the model.
    pub fn specs(&self) -> Vec<ToolSpec> {
        self.offered.specs()
    }

    /// Whether `name` (a function name or a dotted one) is one of the catalogue's mutating
    /// actions.
    fn mutating(&self, name: &str) -> bool {
        self.actions
            .iter()
            .any(|t| t.name == name || t.target == name)
    }

    /// Runs one call of the model's, or says why not.
    pub async fn run(&self, env: &ToolEnv<'_>, call: &ToolCall) -> Ran {
        if self.mutating(&call.name) {
            return Ran::RefusedMutating {
                tool: call.name.clone(),
                text: format!(
                    "error: `{}` changes the cluster, and a conversation only reads: it was \
                     refused and nothing was run. To recommend it, call {SUGGEST_TOOL}; a person \
                     decides.",
                    call.name
                ),
            };
        }
        let valid = match self.offered.validate(call) {
            Ok(v) => v,
            Err(e) => return Ran::Failed(e.to_string()),
        };
        let args = valid.arguments;
        let now = env.actions.clock.now();
        let result = match valid.name.as_str() {
            SUGGEST_TOOL => return self.suggest(&args),
            tools_store::INCIDENTS_TOOL => tools_store::incidents(env.store, now, &args).await,
            tools_store::TIMELINE_TOOL => {
                tools_store::timeline(env.store, env.cluster, now, &args).await
            }
            tools_cluster::ROLLOUT_TOOL => tools_cluster::rollout_history(env.actions, &args).await,
            tools_cluster::NODES_TOOL => tools_cluster::node_conditions(env.actions, &args).await,
            name => self.read(env.actions, name, &args).await,
        };
        match result {
            Ok(output) => Ran::Looked {
                tool: valid.name,
                args,
                output,
            },
            Err(e) => Ran::Failed(format!("error: {e}")),
        }
    }

    async fn read(
        &self,
        ctx: &ActionContext,
        function: &str,
        args: &Map<String, Value>,
    ) -> Result<String, String> {
        let tool = self
            .registry
            .by_llm_name(function)
            .and_then(|name| self.registry.tool(name))
            .ok_or_else(|| format!("`{function}` is not a read-only tool; nothing was run"))?;
        tool.run(ctx, &Value::Object(args.clone()))
            .await
            .map_err(|e| e.to_string())
    }

    fn suggest(&self, args: &Map<String, Value>) -> Ran {
        let function = args
            .get("action")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Some(action) = self.actions.iter().find(|t| t.name == function) else {
            return Ran::Failed(format!(
                "error: `{function}` is not an action; nothing recorded"
            ));
        };
        let params = args
            .get("params")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let check = ToolCall {
            id: "suggestion".into(),
            name: action.name.clone(),
            arguments: Value::Object(params.clone()).to_string(),
        };
        if let Err(e) = self.action_schemas.validate(&check) {
            return Ran::Failed(format!("{e} The suggestion was not recorded."));
        }
        Ran::Suggested(Suggestion {
            action: action.target.clone(),
            params,
            reason: args
                .get("reason")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            risk: action.risk.unwrap_or(Risk::High),
        })
    }
}

fn suggest_spec(actions: &[LlmTool]) -> ToolSpec {
    let names: Vec<&str> = actions.iter().map(|t| t.name.as_str()).collect();
    ToolSpec::new(
        SUGGEST_TOOL,
        "Suggest one change for people to consider: an action of Lookout's catalogue with its \
         parameters. It is NOT run; it is shown under your answer. Use it only when a change \
         would clearly help; wrong parameters are refused with the expected ones.",
        json!({"type": "object", "properties": {
            "action": {"type": "string", "enum": names},
            "params": {"type": "object", "description": "The action's parameters."},
            "reason": {"type": "string", "description": "Why, in one sentence."}},
          "required": ["action", "params", "reason"]}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toolbox() -> Toolbox {
        let mut metrics = prometheus_client::registry::Registry::default();
        Toolbox::new(Arc::new(Registry::standard(&mut metrics)))
    }

    #[test]
    fn only_reading_tools_and_the_suggestion_are_offered() {
        let names: Vec<String> = toolbox().specs().into_iter().map(|s| s.name).collect();
        for expected in [
            "get",
            "describe",
            "logs",
            "events",
            "list",
            "incidents",
            "incident_timeline",
            "rollout_history",
            "node_conditions",
            "suggest_action",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} in {names:?}"
            );
        }
        let mut metrics = prometheus_client::registry::Registry::default();
        let registry = Registry::standard(&mut metrics);
        for action in registry.specs() {
            let function = crate::actions::spec::llm_name(action.name);
            assert!(!names.contains(&function), "{function} is offered");
        }
    }

    #[test]
    fn suggestions_are_checked_against_the_actions_schema() {
        let t = toolbox();
        let ok = json!({"action": "deployment_scale", "reason": "more capacity",
            "params": {"namespace": "shop", "name": "web", "replicas": 3}});
        let Ran::Suggested(s) = t.suggest(ok.as_object().unwrap()) else {
            panic!("a valid suggestion is recorded")
        };
        assert_eq!(s.action, "deployment.scale");
        assert_eq!(s.params["replicas"], json!(3));
        let bad = json!({"action": "deployment_scale", "reason": "x",
            "params": {"namespace": "shop", "replicas": "three"}});
        let Ran::Failed(text) = t.suggest(bad.as_object().unwrap()) else {
            panic!("invalid parameters are refused")
        };
        assert!(text.contains("not recorded"), "{text}");
    }
}
