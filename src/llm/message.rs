//! What a caller sends and gets back, in Lookout's words, and the translation of a request to
//! the OpenAI wire format with async-openai's types, so it is exactly what the API documents
//! (replies are read in [`super::wire`]). Pure: no IO here.

use async_openai::types::chat::{
    ChatCompletionMessageToolCall, ChatCompletionMessageToolCalls,
    ChatCompletionRequestAssistantMessage, ChatCompletionRequestAssistantMessageContent,
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestSystemMessageContent, ChatCompletionRequestToolMessage,
    ChatCompletionRequestToolMessageContent, ChatCompletionRequestUserMessage,
    ChatCompletionRequestUserMessageContent, ChatCompletionToolChoiceOption,
    CreateChatCompletionRequest, FunctionCall, ToolChoiceOptions,
};
use serde::{Deserialize, Serialize};

use super::tools::ToolSpec;

/// A tool call as the model made it: nothing about it is trusted until
/// [`super::ToolSet::validate`] accepted it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The model's id for the call; the tool result must quote it.
    pub id: String,
    pub name: String,
    /// The arguments exactly as sent (supposed to be a JSON object).
    pub arguments: String,
}

/// One turn of a conversation. Serializable, so conversation memory can be stored as is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Message {
    User {
        content: String,
    },
    Assistant {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCall>,
    },
    /// The result of one tool call (or the refusal to run it), answering `tool_call_id`.
    Tool {
        tool_call_id: String,
        content: String,
    },
}

impl Message {
    pub fn user(content: impl Into<String>) -> Self {
        Self::User {
            content: content.into(),
        }
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        Self::Assistant {
            content: Some(content.into()),
            tool_calls: Vec::new(),
        }
    }

    /// The assistant turn that made these calls; it must precede their results.
    pub fn tool_calls(calls: Vec<ToolCall>) -> Self {
        Self::Assistant {
            content: None,
            tool_calls: calls,
        }
    }

    pub fn tool_result(tool_call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Self::Tool {
            tool_call_id: tool_call_id.into(),
            content: content.into(),
        }
    }
}

/// Whether the model must, may or must not call a tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ToolChoice {
    /// The model decides (the default).
    #[default]
    Auto,
    /// The model must call a tool (the agent loop: every step is exactly one tool call).
    Required,
    /// Tools are described but may not be called.
    None,
}

/// One request to the model.
#[derive(Debug, Clone, Default)]
pub struct ChatRequest {
    /// What the call is for (`diagnosis`, `agent_step`, `conversation`...), for traces.
    pub purpose: &'static str,
    /// The rendered system prompt.
    pub system: String,
    /// The conversation after the system prompt, oldest first.
    pub messages: Vec<Message>,
    /// The tools offered for this call; only these may be called.
    pub tools: Vec<ToolSpec>,
    /// Ignored when no tools are offered.
    pub tool_choice: ToolChoice,
}

/// Tokens one call used, as the server reported them (or estimated, if it did not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// The server sent no usage; these are chars/4 estimates.
    pub estimated: bool,
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }
}

/// What the model answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyKind {
    Text(String),
    /// At least one tool call; any text beside them is dropped.
    ToolCalls(Vec<ToolCall>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub kind: ReplyKind,
    pub usage: Usage,
    /// `stop`, `length`, `tool_calls`... as the server said it.
    pub finish_reason: Option<String>,
    /// The model that answered, as the server named it.
    pub model: String,
}

impl Reply {
    /// The assistant turn to append to the conversation before continuing it.
    pub fn to_message(&self) -> Message {
        match &self.kind {
            ReplyKind::Text(t) => Message::assistant(t.clone()),
            ReplyKind::ToolCalls(calls) => Message::tool_calls(calls.clone()),
        }
    }

    pub fn text(&self) -> Option<&str> {
        match &self.kind {
            ReplyKind::Text(t) => Some(t),
            ReplyKind::ToolCalls(_) => None,
        }
    }
}

/// Model settings that go into every request.
#[derive(Debug, Clone, Default)]
pub(super) struct Sampling {
    pub model: String,
    pub temperature: Option<f32>,
    pub max_output_tokens: u32,
}

/// Builds the wire request.
pub(super) fn to_openai(req: &ChatRequest, sampling: &Sampling) -> CreateChatCompletionRequest {
    let mut messages = Vec::with_capacity(req.messages.len() + 1);
    messages.push(ChatCompletionRequestMessage::System(
        ChatCompletionRequestSystemMessage {
            content: ChatCompletionRequestSystemMessageContent::Text(req.system.clone()),
            name: None,
        },
    ));
    messages.extend(req.messages.iter().map(message_to_openai));
    let (tools, tool_choice) = if req.tools.is_empty() {
        (None, None)
    } else {
        let mode = match req.tool_choice {
            ToolChoice::Auto => ToolChoiceOptions::Auto,
            ToolChoice::Required => ToolChoiceOptions::Required,
            ToolChoice::None => ToolChoiceOptions::None,
        };
        (
            Some(req.tools.iter().map(ToolSpec::to_openai).collect()),
            Some(ChatCompletionToolChoiceOption::Mode(mode)),
        )
    };
    CreateChatCompletionRequest {
        model: sampling.model.clone(),
        messages,
        temperature: sampling.temperature,
        max_completion_tokens: (sampling.max_output_tokens > 0)
            .then_some(sampling.max_output_tokens),
        tools,
        tool_choice,
        ..Default::default()
    }
}

fn message_to_openai(m: &Message) -> ChatCompletionRequestMessage {
    match m {
        Message::User { content } => {
            ChatCompletionRequestMessage::User(ChatCompletionRequestUserMessage {
                content: ChatCompletionRequestUserMessageContent::Text(content.clone()),
                name: None,
            })
        }
        Message::Assistant {
            content,
            tool_calls,
        } => ChatCompletionRequestMessage::Assistant(ChatCompletionRequestAssistantMessage {
            content: content
                .clone()
                .map(ChatCompletionRequestAssistantMessageContent::Text),
            tool_calls: (!tool_calls.is_empty()).then(|| {
                tool_calls
                    .iter()
                    .map(|c| {
                        ChatCompletionMessageToolCalls::Function(ChatCompletionMessageToolCall {
                            id: c.id.clone(),
                            function: FunctionCall {
                                name: c.name.clone(),
                                arguments: c.arguments.clone(),
                            },
                        })
                    })
                    .collect()
            }),
            ..Default::default()
        }),
        Message::Tool {
            tool_call_id,
            content,
        } => ChatCompletionRequestMessage::Tool(ChatCompletionRequestToolMessage {
            content: ChatCompletionRequestToolMessageContent::Text(content.clone()),
            tool_call_id: tool_call_id.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_request_carries_system_first_then_turns_and_tools() {
        let req = ChatRequest {
            purpose: "test",
            system: "be brief".into(),
            messages: vec![
                Message::user("why?"),
                Message::tool_calls(vec![ToolCall {
                    id: "c1".into(),
                    name: "pod_logs".into(),
                    arguments: r#"{"pod":"a"}"#.into(),
                }]),
                Message::tool_result("c1", "OOMKilled"),
            ],
            tools: vec![ToolSpec::new(
                "pod_logs",
                "Logs of a pod",
                json!({"type":"object","properties":{"pod":{"type":"string"}},"required":["pod"],"additionalProperties":false}),
            )],
            tool_choice: ToolChoice::Required,
        };
        let sampling = Sampling {
            model: "m".into(),
            temperature: Some(0.2),
            max_output_tokens: 0,
        };
        let body = serde_json::to_value(to_openai(&req, &sampling)).unwrap();
        assert_eq!(
            body["messages"][0],
            json!({"role":"system","content":"be brief"})
        );
        assert_eq!(body["messages"][1], json!({"role":"user","content":"why?"}));
        assert_eq!(
            body["messages"][2]["tool_calls"][0],
            json!({"type":"function","id":"c1","function":{"name":"pod_logs","arguments":"{\"pod\":\"a\"}"}})
        );
        assert_eq!(
            body["messages"][3],
            json!({"role":"tool","content":"OOMKilled","tool_call_id":"c1"})
        );
        assert_eq!(body["tools"][0]["function"]["strict"], json!(true));
        assert_eq!(body["tool_choice"], json!("required"));
        assert!(body.get("max_completion_tokens").is_none());
        // Nothing the caller did not ask for.
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["messages", "model", "temperature", "tool_choice", "tools"]
        );
    }

    #[test]
    fn messages_round_trip_through_storage() {
        let m = Message::tool_calls(vec![ToolCall {
            id: "1".into(),
            name: "n".into(),
            arguments: "{}".into(),
        }]);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Message>(&json).unwrap(), m);
    }
}
