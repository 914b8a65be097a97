//! Replies as servers actually send them. "OpenAI-compatible" servers differ in what they fill
//! in (no `object`, no `created`, no ids, unknown `finish_reason`s, tool arguments as an object
//! instead of a string, no usage), so the reply is read leniently into Lookout's [`Reply`]
//! rather than into async-openai's strict response type. Pure: no IO here.

use serde::Deserialize;
use serde_json::Value;

use super::message::{Reply, ReplyKind, ToolCall, Usage};

/// A chat completion as servers actually send it: only `choices[0].message` is needed.
#[derive(Debug, Deserialize)]
pub(super) struct WireResponse {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Vec<WireChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Debug, Deserialize)]
struct WireChoice {
    #[serde(default)]
    message: Option<WireMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCall>>,
}

#[derive(Debug, Deserialize)]
struct WireToolCall {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<WireFunction>,
}

#[derive(Debug, Deserialize)]
struct WireFunction {
    #[serde(default)]
    name: String,
    /// A JSON string per the API; some servers send the object itself.
    #[serde(default)]
    arguments: Value,
}

#[derive(Debug, Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

/// Reads the reply; `Err` says what was unusable. `prompt_chars` estimates usage when the
/// server reports none.
pub(super) fn from_openai(resp: WireResponse, prompt_chars: usize) -> Result<Reply, String> {
    let choice = resp
        .choices
        .into_iter()
        .next()
        .ok_or("the reply has no choices")?;
    let message = choice.message.ok_or("the reply's choice has no message")?;
    let calls: Vec<ToolCall> = message
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let f = c.function?;
            let arguments = match f.arguments {
                Value::String(s) => s,
                Value::Null => String::new(),
                other => other.to_string(),
            };
            Some(ToolCall {
                // Some local servers leave ids out; the conversation still needs one.
                id: c
                    .id
                    .filter(|s| !s.is_empty())
                    .unwrap_or(format!("call_{i}")),
                name: f.name,
                arguments,
            })
        })
        .collect();
    let text = message.content.filter(|s| !s.trim().is_empty());
    let (kind, reply_chars) = if !calls.is_empty() {
        let chars = calls.iter().map(|c| c.name.len() + c.arguments.len()).sum();
        (ReplyKind::ToolCalls(calls), chars)
    } else if let Some(t) = text.or(message.refusal) {
        let chars = t.len();
        (ReplyKind::Text(t), chars)
    } else {
        return Err("the reply has neither text nor tool calls".into());
    };
    let usage = match resp.usage {
        Some(u) => Usage {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            estimated: false,
        },
        None => Usage {
            prompt_tokens: prompt_chars.div_ceil(4) as u64,
            completion_tokens: reply_chars.div_ceil(4) as u64,
            estimated: true,
        },
    };
    Ok(Reply {
        kind,
        usage,
        finish_reason: choice.finish_reason,
        model: resp.model.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn wire(v: Value) -> WireResponse {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn lenient_replies_are_read_and_empty_ones_refused() {
        // Object arguments, no ids, no usage: a local server's habits.
        let r = from_openai(
            wire(json!({"choices":[{"message":{"tool_calls":[{"function":{"name":"get","arguments":{"kind":"Pod"}}}]}}]})),
            400,
        )
        .unwrap();
        assert_eq!(
            r.kind,
            ReplyKind::ToolCalls(vec![ToolCall {
                id: "call_0".into(),
                name: "get".into(),
                arguments: r#"{"kind":"Pod"}"#.into()
            }])
        );
        assert!(r.usage.estimated);
        assert_eq!(r.usage.prompt_tokens, 100);

        let r = from_openai(
            wire(json!({"model":"m","choices":[{"message":{"role":"assistant","content":"hi"},"finish_reason":"eos"}],"usage":{"prompt_tokens":7,"completion_tokens":1,"total_tokens":8}})),
            0,
        )
        .unwrap();
        assert_eq!(r.text(), Some("hi"));
        assert_eq!(r.usage.total(), 8);
        assert_eq!(r.finish_reason.as_deref(), Some("eos"));

        assert!(from_openai(wire(json!({"choices":[]})), 0).is_err());
        assert!(from_openai(wire(json!({"choices":[{"message":{"content":"  "}}]})), 0).is_err());
    }
}
