//! Tools offered to the model, and the strict check of every tool call before anything runs.
//!
//! A tool's parameters are a JSON Schema; the same schema is sent to the model and checked
//! against the arguments it sends back (with the `jsonschema` crate, remote references off), so
//! what Lookout promises and what it accepts cannot drift apart. A call that fails the check
//! becomes a [`ToolCallError`] whose text goes back to the model as the tool's result: it says
//! what was wrong and that nothing ran, so the model can correct itself.

use async_openai::types::chat::{ChatCompletionTool, ChatCompletionTools, FunctionObject};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::message::ToolCall;

/// Longest text of one argument problem sent back to the model (values can be huge).
const MAX_PROBLEM_CHARS: usize = 200;
/// Problems listed per refused call.
const MAX_PROBLEMS: usize = 5;

/// A tool as offered to the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// `[a-zA-Z0-9_-]{1,64}`, unique within a request.
    pub name: String,
    /// What it does and when to use it, in a sentence: the model chooses by this.
    pub description: String,
    /// JSON Schema of the arguments: an object. A root object without `additionalProperties`
    /// gets `false`, so invented arguments are refused rather than ignored.
    pub parameters: Value,
}

impl ToolSpec {
    pub fn new(name: impl Into<String>, description: impl Into<String>, parameters: Value) -> Self {
        let mut parameters = parameters;
        if let Some(obj) = parameters.as_object_mut() {
            obj.entry("additionalProperties").or_insert(json!(false));
        }
        Self {
            name: name.into(),
            description: description.into(),
            parameters,
        }
    }

    /// Whether OpenAI's strict mode can take this schema: every object closed and every
    /// property required. Then the model is constrained to it server-side as well.
    pub fn strict_compatible(&self) -> bool {
        fn closed(schema: &Value) -> bool {
            let Some(obj) = schema.as_object() else {
                return true;
            };
            if let Some(props) = obj.get("properties").and_then(Value::as_object) {
                let required: Vec<&str> = obj
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                if obj.get("additionalProperties") != Some(&json!(false))
                    || props.keys().any(|k| !required.contains(&k.as_str()))
                    || !props.values().all(closed)
                {
                    return false;
                }
            }
            obj.get("items").is_none_or(closed)
        }
        closed(&self.parameters)
    }

    /// A compact one-line form, `scale(namespace: string, replicas: integer 1..=20, why?:
    /// string)`, for listing actions in a prompt without their full schemas.
    pub fn signature(&self) -> String {
        let props = self
            .parameters
            .get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let required: Vec<&str> = self
            .parameters
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        // Required ones in the order `required` lists them, then the optional ones.
        let names = required
            .iter()
            .copied()
            .filter(|n| props.contains_key(*n))
            .chain(
                props
                    .keys()
                    .map(String::as_str)
                    .filter(|n| !required.contains(n)),
            );
        let params: Vec<String> = names
            .map(|n| {
                let opt = if required.contains(&n) { "" } else { "?" };
                format!("{n}{opt}: {}", describe_type(&props[n]))
            })
            .collect();
        format!("{}({})", self.name, params.join(", "))
    }

    pub(super) fn to_openai(&self) -> ChatCompletionTools {
        ChatCompletionTools::Function(ChatCompletionTool {
            function: FunctionObject {
                name: self.name.clone(),
                description: Some(self.description.clone()),
                parameters: Some(self.parameters.clone()),
                strict: self.strict_compatible().then_some(true),
            },
        })
    }
}

/// `integer 1..=20`, `"a"|"b"`, `string`, `array of string`.
fn describe_type(schema: &Value) -> String {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("|");
    }
    let ty = match schema.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("|"),
        _ => "any".into(),
    };
    if ty == "array"
        && let Some(items) = schema.get("items")
    {
        return format!("array of {}", describe_type(items));
    }
    let min = schema.get("minimum").map(Value::to_string);
    let max = schema.get("maximum").map(Value::to_string);
    match (min, max) {
        (None, None) => ty,
        (min, max) => format!(
            "{ty} {}..{}",
            min.unwrap_or_default(),
            max.map(|m| format!("={m}")).unwrap_or_default()
        ),
    }
}

/// A tool definition Lookout itself got wrong (a bug, found when the set is built).
#[derive(Debug, thiserror::Error)]
pub enum ToolSpecError {
    #[error("tool name `{0}` must be 1-64 of a-z, A-Z, 0-9, `_` or `-`")]
    BadName(String),
    #[error("tool `{0}` is offered twice")]
    Duplicate(String),
    #[error("tool `{name}` parameters: {reason}")]
    BadSchema { name: String, reason: String },
}

/// Why a tool call was refused. `Display` is the text sent back to the model as the result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolCallError {
    #[error(
        "error: unknown tool `{name}`; available: {}. Nothing was run.",
        available.join(", ")
    )]
    UnknownTool {
        name: String,
        available: Vec<String>,
    },
    #[error(
        "error: the arguments for `{tool}` are not valid JSON ({reason}). Nothing was run; send \
         the arguments as one JSON object."
    )]
    NotJson { tool: String, reason: String },
    #[error(
        "error: the arguments for `{tool}` must be a JSON object, not {got}. Nothing was run; \
         expected {signature}."
    )]
    NotAnObject {
        tool: String,
        got: &'static str,
        signature: String,
    },
    #[error(
        "error: invalid arguments for `{tool}`: {}. Nothing was run; expected {signature}.",
        problems.join("; ")
    )]
    Invalid {
        tool: String,
        problems: Vec<String>,
        signature: String,
    },
}

/// A tool call that passed the check: its arguments are an object matching the schema.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidCall {
    pub id: String,
    pub name: String,
    pub arguments: Map<String, Value>,
}

impl ValidCall {
    /// The arguments as a typed value (the action's own params struct).
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_value(Value::Object(self.arguments.clone()))
    }
}

/// The tools of one request, with their schemas compiled once.
pub struct ToolSet {
    tools: Vec<(ToolSpec, jsonschema::Validator)>,
}

impl std::fmt::Debug for ToolSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.tools.iter().map(|(s, _)| &s.name))
            .finish()
    }
}

impl ToolSet {
    pub fn new(specs: impl IntoIterator<Item = ToolSpec>) -> Result<Self, ToolSpecError> {
        let mut tools: Vec<(ToolSpec, jsonschema::Validator)> = Vec::new();
        for spec in specs {
            let name_ok = (1..=64).contains(&spec.name.len())
                && spec
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !name_ok {
                return Err(ToolSpecError::BadName(spec.name));
            }
            if tools.iter().any(|(s, _)| s.name == spec.name) {
                return Err(ToolSpecError::Duplicate(spec.name));
            }
            if spec.parameters.get("type") != Some(&json!("object")) {
                return Err(ToolSpecError::BadSchema {
                    name: spec.name,
                    reason: "the root must be {\"type\": \"object\", ...}".into(),
                });
            }
            let validator = jsonschema::validator_for(&spec.parameters).map_err(|e| {
                ToolSpecError::BadSchema {
                    name: spec.name.clone(),
                    reason: e.to_string(),
                }
            })?;
            tools.push((spec, validator));
        }
        Ok(Self { tools })
    }

    /// The specs, to put in a [`super::ChatRequest`].
    pub fn specs(&self) -> Vec<ToolSpec> {
        self.tools.iter().map(|(s, _)| s.clone()).collect()
    }

    pub fn get(&self, name: &str) -> Option<&ToolSpec> {
        self.tools.iter().map(|(s, _)| s).find(|s| s.name == name)
    }

    /// Checks a call strictly: a known tool, arguments that are one JSON object matching the
    /// schema (types, required fields, no unknown fields, enums, ranges).
    pub fn validate(&self, call: &ToolCall) -> Result<ValidCall, ToolCallError> {
        let Some((spec, validator)) = self.tools.iter().find(|(s, _)| s.name == call.name) else {
            return Err(ToolCallError::UnknownTool {
                name: clip(&call.name, 64),
                available: self.tools.iter().map(|(s, _)| s.name.clone()).collect(),
            });
        };
        // Some models send "" for a call without arguments.
        let raw = if call.arguments.trim().is_empty() {
            "{}"
        } else {
            call.arguments.as_str()
        };
        let value: Value = serde_json::from_str(raw).map_err(|e| ToolCallError::NotJson {
            tool: spec.name.clone(),
            reason: e.to_string(),
        })?;
        let Value::Object(arguments) = value else {
            return Err(ToolCallError::NotAnObject {
                tool: spec.name.clone(),
                got: json_kind(&value),
                signature: spec.signature(),
            });
        };
        let instance = Value::Object(arguments);
        let problems: Vec<String> = validator
            .iter_errors(&instance)
            .take(MAX_PROBLEMS)
            .map(|e| {
                let at = e.instance_path().to_string();
                let text = if at.is_empty() {
                    e.to_string()
                } else {
                    format!("{at}: {e}")
                };
                clip(&text, MAX_PROBLEM_CHARS)
            })
            .collect();
        if !problems.is_empty() {
            return Err(ToolCallError::Invalid {
                tool: spec.name.clone(),
                problems,
                signature: spec.signature(),
            });
        }
        let Value::Object(arguments) = instance else {
            unreachable!("built as an object above")
        };
        Ok(ValidCall {
            id: call.id.clone(),
            name: spec.name.clone(),
            arguments,
        })
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max).collect();
    format!("{cut}…")
}

/// Names of the agent loop's control tools, for matching a validated call.
pub mod control {
    pub const WAIT: &str = "wait_and_observe";
    pub const RESOLVED: &str = "mark_resolved";
    pub const ESCALATE: &str = "escalate";
}

/// The moves of an agent step that are neither observing nor acting (`agent_step.hbs` names
/// them): offered as tools so that every step is exactly one validated tool call.
pub fn control_tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec::new(
            control::WAIT,
            "Wait, then look again: a change needs time to show its effect.",
            json!({"type": "object", "properties": {
                "seconds": {"type": "integer", "minimum": 10, "maximum": 600},
                "reason": {"type": "string"}},
              "required": ["seconds", "reason"]}),
        ),
        ToolSpec::new(
            control::RESOLVED,
            "The current state shows the problem fixed and the workload healthy.",
            json!({"type": "object", "properties": {"summary": {"type": "string"}},
              "required": ["summary"]}),
        ),
        ToolSpec::new(
            control::ESCALATE,
            "Hand over to the on-call humans: no offered action can fix this, or you are stuck.",
            json!({"type": "object", "properties": {"reason": {"type": "string"}},
              "required": ["reason"]}),
        ),
    ]
}

#[cfg(test)]
#[path = "tools_tests.rs"]
mod tests;
