//! Structured output: a reply that should be one JSON object of a known shape. Accepted as a
//! bare object, or alone inside a ```json fence; anything else (prose, prose around JSON,
//! invalid JSON, missing or extra fields) is an error the caller answers by falling back to
//! its deterministic path. Never guessed at, never partially used.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Why a reply could not be used; the text is fit for logs and the incident timeline.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StructuredError {
    #[error("the reply is not a JSON object (it starts with {0:?})")]
    NotJson(String),
    #[error("the reply's JSON is invalid: {0}")]
    Invalid(String),
    #[error("the reply's JSON does not have the expected shape: {0}")]
    Shape(String),
}

/// Parses `text` as one `T`. Use a `T` with `#[serde(deny_unknown_fields)]` so extra fields
/// are refused; checks serde cannot express (ranges, sizes) stay with the type's owner, e.g.
/// `agent::diagnosis::Analysis::validate` for `diagnosis.hbs` replies.
pub fn parse_json_reply<T: DeserializeOwned>(text: &str) -> Result<T, StructuredError> {
    let body = unfence(text.trim());
    if !body.starts_with('{') {
        let start: String = body.chars().take(40).collect();
        return Err(StructuredError::NotJson(start));
    }
    // Syntax first, then shape, so each error says which of the two is wrong.
    let value: Value =
        serde_json::from_str(body).map_err(|e| StructuredError::Invalid(e.to_string()))?;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            StructuredError::Shape(e.inner().to_string())
        } else {
            StructuredError::Shape(format!("{path}: {}", e.inner()))
        }
    })
}

/// The inside of a fence that is the whole text (```json ... ``` or ``` ... ```); otherwise the
/// text itself.
fn unfence(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("```") else {
        return text;
    };
    let Some(inner) = rest.strip_suffix("```") else {
        return text;
    };
    let inner = inner.strip_prefix("json").unwrap_or(inner);
    if !inner.starts_with(['\n', '\r', ' ']) || inner.contains("```") {
        return text;
    }
    inner.trim()
}

/// The narrative parts of a postmortem the model writes for `postmortem.hbs`; the timeline
/// and the list of actions are facts Lookout posts itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostmortemOutput {
    pub summary: String,
    pub impact: String,
    pub root_cause: String,
    pub lessons_learned: Vec<String>,
    pub prevention: Vec<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::*;

    /// The shape `diagnosis.hbs` asks for (the agent's `Analysis` is the real one).
    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct DiagnosisOutput {
        root_cause: String,
        confidence: f64,
        evidence: Vec<String>,
        recommendations: Vec<String>,
        suggested_actions: Vec<SuggestedAction>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct SuggestedAction {
        action: String,
        params: Map<String, Value>,
        reason: String,
    }

    const GOOD: &str = r#"{"root_cause":"memory limit 256Mi below the JVM heap","confidence":0.85,
        "evidence":["OOMKilled exit 137","-Xmx512m"],"recommendations":["raise the limit"],
        "suggested_actions":[{"action":"adjust_resources","params":{"memory_limit":"768Mi"},"reason":"heap needs 512Mi"}]}"#;

    #[test]
    fn a_bare_object_and_a_fenced_one_are_accepted() {
        let d: DiagnosisOutput = parse_json_reply(GOOD).unwrap();
        assert_eq!(d.suggested_actions[0].action, "adjust_resources");
        assert_eq!(d.confidence, 0.85);
        let fenced = format!("```json\n{GOOD}\n```");
        assert_eq!(parse_json_reply::<DiagnosisOutput>(&fenced).unwrap(), d);
        let plain_fence = format!("  ```\n{GOOD}\n```\n");
        assert_eq!(
            parse_json_reply::<DiagnosisOutput>(&plain_fence).unwrap(),
            d
        );
    }

    #[test]
    fn prose_is_refused_even_around_valid_json() {
        let e = parse_json_reply::<DiagnosisOutput>(
            "The pod is running out of memory; I suggest raising the limit.",
        )
        .unwrap_err();
        assert_eq!(
            e,
            StructuredError::NotJson("The pod is running out of memory; I sugg".into())
        );
        let around = format!("Here is my analysis:\n```json\n{GOOD}\n```");
        assert!(matches!(
            parse_json_reply::<DiagnosisOutput>(&around),
            Err(StructuredError::NotJson(_))
        ));
    }

    #[test]
    fn invalid_json_missing_and_extra_fields_are_named() {
        let e = parse_json_reply::<DiagnosisOutput>(r#"{"root_cause": "x", "confidence": }"#)
            .unwrap_err();
        assert!(matches!(e, StructuredError::Invalid(_)), "{e}");

        let e = parse_json_reply::<DiagnosisOutput>(r#"{"root_cause":"x","confidence":0.5}"#)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the reply's JSON does not have the expected shape: missing field `evidence`"
        );

        let extra = GOOD.replacen('{', r#"{"severity":"high","#, 1);
        let e = parse_json_reply::<DiagnosisOutput>(&extra).unwrap_err();
        assert!(e.to_string().contains("unknown field `severity`"), "{e}");

        let nested = GOOD.replace(r#""reason":"heap"#, r#""risk":"low","reason":"heap"#);
        let e = parse_json_reply::<DiagnosisOutput>(&nested).unwrap_err();
        assert!(e.to_string().contains("suggested_actions[0]"), "{e}");
    }
}
