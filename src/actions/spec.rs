//! What the registry knows about an action or a read-only tool before running it: its name,
//! what it does, its risk, the kinds it applies to and the JSON Schema of its parameters. The
//! schema is derived from the same typed struct that parses the parameters, so what the model is
//! told and what is accepted cannot drift apart.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{ActionError, Result};

/// How much harm a mistaken approval can do. The approval policy maps risk levels to roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    Low,
    Medium,
    High,
}

impl Risk {
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Low => "low",
            Risk::Medium => "medium",
            Risk::High => "high",
        }
    }
}

/// The registry entry of a mutating action.
#[derive(Debug)]
pub struct ActionSpec {
    /// Stable dotted name, `deployment.adjust_resources`. Used in runbooks, plans and metrics.
    pub name: &'static str,
    /// One sentence for people and for the model.
    pub summary: &'static str,
    pub risk: Risk,
    /// Kinds of object the action applies to (`Deployment`, `Pod`).
    pub kinds: &'static [&'static str],
    /// Whether [`super::Action::rollback`] can restore the state before the action. A deleted
    /// pod cannot be brought back (its controller replaces it), a changed spec can.
    pub reversible: bool,
    /// JSON Schema of the parameters: an object with `additionalProperties: false`.
    pub params_schema: fn() -> Value,
}

/// The registry entry of a read-only tool: runs at once, needs no approval.
#[derive(Debug)]
pub struct ToolSpec {
    /// Stable name, `logs`.
    pub name: &'static str,
    pub summary: &'static str,
    pub params_schema: fn() -> Value,
}

/// A tool as offered to the LLM: an OpenAI-style function definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlmTool {
    /// The function name the model calls: the action name with `.` replaced by `_`
    /// (`deployment_scale`), since function names allow only `[a-zA-Z0-9_-]`.
    pub name: String,
    /// The action or tool this calls (`deployment.scale`).
    pub target: String,
    pub description: String,
    /// JSON Schema of the arguments.
    pub parameters: Value,
    /// Whether calling it proposes a mutation (goes to approval) or reads (runs at once).
    pub mutating: bool,
    /// Risk of a mutating action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<Risk>,
}

/// The function name an action or tool is offered to the model under.
pub fn llm_name(name: &str) -> String {
    name.replace('.', "_")
}

/// JSON Schema of `T`, inlined and trimmed to what function-calling APIs accept: no `$schema`,
/// no `$defs`, no nullable type unions (an optional field is simply not required), no
/// non-standard integer formats.
pub fn schema_for<T: JsonSchema>() -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .for_deserialize()
        .into_generator();
    let mut value = generator.into_root_schema_for::<T>().to_value();
    if let Some(obj) = value.as_object_mut() {
        obj.remove("title");
        // Some function-calling validators want `required` even when nothing is.
        obj.entry("required")
            .or_insert_with(|| Value::Array(Vec::new()));
    }
    tidy(&mut value);
    value
}

fn tidy(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    map.insert("type".into(), only);
                }
            }
            if let Some(Value::Array(values)) = map.get_mut("enum") {
                values.retain(|v| !v.is_null());
            }
            if map.get("format").and_then(Value::as_str).is_some_and(|f| {
                matches!(
                    f,
                    "int8"
                        | "int16"
                        | "int32"
                        | "int64"
                        | "uint"
                        | "uint8"
                        | "uint16"
                        | "uint32"
                        | "uint64"
                        | "float"
                        | "double"
                )
            }) {
                map.remove("format");
            }
            if map.get("default").is_some_and(Value::is_null) {
                map.remove("default");
            }
            for child in map.values_mut() {
                tidy(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(tidy),
        _ => {}
    }
}

/// Parses parameters strictly into `T` (whose serde attributes deny unknown fields), naming the
/// offending path: `replicas: invalid type: string "three", expected i32`.
pub fn parse_params<T: DeserializeOwned>(action: &str, params: &Value) -> Result<T> {
    serde_path_to_error::deserialize(params).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let reason = if path == "." {
            inner.to_string()
        } else {
            format!("{path}: {inner}")
        };
        ActionError::invalid(action, reason)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scale a thing.
    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Example {
        /// The namespace.
        namespace: String,
        /// How many.
        #[schemars(range(min = 1))]
        replicas: i32,
        /// Optional note.
        #[serde(default)]
        note: Option<String>,
    }

    #[test]
    fn schema_is_inline_strict_and_without_nullable_unions() {
        let s = schema_for::<Example>();
        assert_eq!(s["type"], "object");
        assert_eq!(s["additionalProperties"], false);
        assert_eq!(s["required"], serde_json::json!(["namespace", "replicas"]));
        assert_eq!(s["properties"]["note"]["type"], "string");
        assert_eq!(s["properties"]["replicas"]["type"], "integer");
        assert_eq!(s["properties"]["replicas"]["minimum"], 1);
        assert!(s["properties"]["replicas"].get("format").is_none());
        assert_eq!(s["properties"]["replicas"]["description"], "How many.");
        assert!(s.get("$schema").is_none() && s.get("title").is_none());
    }

    #[test]
    fn params_parse_strictly_and_name_the_field() {
        let err =
            parse_params::<Example>("x", &serde_json::json!({"namespace": "a", "replicas": "3"}))
                .unwrap_err()
                .to_string();
        assert!(err.contains("replicas"), "{err}");
        let err = parse_params::<Example>(
            "x",
            &serde_json::json!({"namespace": "a", "replicas": 3, "force": true}),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown field `force`"), "{err}");
    }

    #[test]
    fn llm_names_have_no_dots() {
        assert_eq!(
            llm_name("deployment.adjust_resources"),
            "deployment_adjust_resources"
        );
    }
}
