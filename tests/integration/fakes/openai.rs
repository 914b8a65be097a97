//! A fake OpenAI-compatible server for driving Lookout's LLM client (async-openai) unmodified.
//!
//! `POST /v1/chat/completions` (Bearer token) and Azure's
//! `POST /openai/deployments/{deployment}/chat/completions?api-version=..` (`api-key` header)
//! answer from a **script** the test queues: text, tool calls (well-formed or not), HTTP
//! errors with `Retry-After`, each optionally after a delay. An empty script answers 400 so a
//! test that makes one call too many fails loudly.
//!
//! Every request is kept in a **log** (path, headers, body, estimated prompt tokens) so tests
//! assert what Lookout SENT. Prompt tokens are counted with the cl100k tokenizer (tiktoken-rs,
//! vocabulary shipped in the crate): per message 3 + role + content (+ name and arguments of
//! each tool call), plus each offered tool's function object serialized as JSON, plus 3 for the
//! reply's priming. That is OpenAI's documented message accounting; tools are counted as their
//! JSON, which slightly overestimates OpenAI's internal tool encoding. The same figure is sent
//! back as `usage.prompt_tokens`, so Lookout's budget counts what the log shows.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// The key the fake accepts.
pub const API_KEY: &str = "sk-fake-lookout-0123456789abcdef";
/// The Azure deployment the fake serves.
pub const AZURE_DEPLOYMENT: &str = "lookout-gpt";

/// What one scripted reply is.
#[derive(Debug, Clone)]
pub enum Reply {
    Text(String),
    /// (name, raw arguments) per call; arguments are sent exactly as given.
    ToolCalls(Vec<(String, String)>),
    /// An error status with an OpenAI-style error body.
    Status {
        status: u16,
        retry_after: Option<u64>,
        message: String,
    },
}

/// One entry of the script: a reply, sent after `delay`.
#[derive(Debug, Clone)]
pub struct Step {
    pub reply: Reply,
    pub delay: Duration,
    /// Overrides the completion tokens reported (default: the reply's token count).
    pub completion_tokens: Option<u64>,
}

impl Step {
    fn new(reply: Reply) -> Self {
        Self {
            reply,
            delay: Duration::ZERO,
            completion_tokens: None,
        }
    }

    pub fn text(text: impl Into<String>) -> Self {
        Self::new(Reply::Text(text.into()))
    }

    /// One well-formed call.
    pub fn tool_call(name: &str, arguments: Value) -> Self {
        Self::new(Reply::ToolCalls(vec![(name.into(), arguments.to_string())]))
    }

    /// One call with arguments sent verbatim (malformed JSON, an array...).
    pub fn raw_tool_call(name: &str, arguments: &str) -> Self {
        Self::new(Reply::ToolCalls(vec![(name.into(), arguments.into())]))
    }

    pub fn status(status: u16, message: &str) -> Self {
        Self::new(Reply::Status {
            status,
            retry_after: None,
            message: message.into(),
        })
    }

    /// 429 with `Retry-After: secs`.
    pub fn rate_limited(secs: u64) -> Self {
        Self::new(Reply::Status {
            status: 429,
            retry_after: Some(secs),
            message: "Rate limit reached for requests".into(),
        })
    }

    pub fn server_error() -> Self {
        Self::status(
            500,
            "The server had an error while processing your request.",
        )
    }

    /// Answers only after `delay` (longer than the client's timeout: a timeout).
    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Logged {
    pub path: String,
    pub query: Option<String>,
    /// Lowercase names.
    pub headers: Vec<(String, String)>,
    pub raw_body: String,
    pub body: Value,
    pub prompt_tokens: u64,
}

impl Logged {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `messages[i].content` as text.
    pub fn content(&self, i: usize) -> &str {
        self.body["messages"][i]["content"].as_str().unwrap_or("")
    }

    /// Names of the tools offered.
    pub fn tool_names(&self) -> Vec<String> {
        self.body["tools"]
            .as_array()
            .map(|ts| {
                ts.iter()
                    .filter_map(|t| t["function"]["name"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[derive(Default)]
struct Inner {
    script: Mutex<VecDeque<Step>>,
    /// Scripts for requests whose first user message starts with the key (a prompt's
    /// opening words), answered before the general script: a test with several kinds of
    /// model calls in flight (diagnosis, agent steps, postmortem) stays deterministic.
    keyed: Mutex<Vec<(String, VecDeque<Step>)>>,
    log: Mutex<Vec<Logged>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    seq: AtomicUsize,
}

/// The fake. Dropping it stops the server.
pub struct FakeOpenAi {
    inner: Arc<Inner>,
    /// `http://127.0.0.1:P/v1`: `llm.base_url` for provider `openai`.
    pub base_url: String,
    /// `http://127.0.0.1:P`: `llm.base_url` for provider `azure`.
    pub azure_url: String,
    task: JoinHandle<()>,
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeOpenAi {
    pub async fn start() -> Self {
        let inner = Arc::new(Inner::default());
        let app = Router::new()
            .route("/v1/chat/completions", post(openai))
            .route(
                "/openai/deployments/{deployment}/chat/completions",
                post(azure),
            )
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake openai");
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            inner,
            base_url: format!("http://{addr}/v1"),
            azure_url: format!("http://{addr}"),
            task,
        }
    }

    /// Queues replies, answered in order.
    pub fn script(&self, steps: impl IntoIterator<Item = Step>) {
        self.inner.script.lock().expect("script lock").extend(steps);
    }

    /// Queues replies for requests whose first user message starts with `prefix`.
    pub fn script_for(&self, prefix: &str, steps: impl IntoIterator<Item = Step>) {
        let mut keyed = self.inner.keyed.lock().expect("keyed lock");
        match keyed.iter_mut().find(|(k, _)| k == prefix) {
            Some((_, q)) => q.extend(steps),
            None => keyed.push((prefix.to_string(), steps.into_iter().collect())),
        }
    }

    /// Requests whose first user message starts with `prefix`.
    pub fn requests_for(&self, prefix: &str) -> Vec<Logged> {
        self.requests()
            .into_iter()
            .filter(|r| first_user(&r.body).starts_with(prefix))
            .collect()
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Logged> {
        self.inner.log.lock().expect("log lock").clone()
    }

    /// Prompt tokens of all requests so far.
    pub fn prompt_tokens(&self) -> u64 {
        self.requests().iter().map(|r| r.prompt_tokens).sum()
    }

    /// The most requests that were being answered at the same moment.
    pub fn max_in_flight(&self) -> usize {
        self.inner.max_in_flight.load(Ordering::SeqCst)
    }
}

/// The text of the first user message of a request body.
fn first_user(body: &Value) -> &str {
    body["messages"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or("")
}

/// Counts a request in flight until dropped (also when the client gives up and the handler
/// is cancelled).
struct InFlight(Arc<Inner>);

impl InFlight {
    fn enter(inner: &Arc<Inner>) -> Self {
        let now = inner.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        inner.max_in_flight.fetch_max(now, Ordering::SeqCst);
        Self(inner.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn openai(
    State(inner): State<Arc<Inner>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let authorized = headers.get("authorization").and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {API_KEY}"));
    handle(
        inner,
        "/v1/chat/completions".into(),
        query,
        headers,
        body,
        authorized,
    )
    .await
}

async fn azure(
    State(inner): State<Arc<Inner>>,
    Path(deployment): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/openai/deployments/{deployment}/chat/completions");
    if deployment != AZURE_DEPLOYMENT || !query.as_deref().unwrap_or("").contains("api-version=") {
        return error(404, "DeploymentNotFound", None);
    }
    let authorized = headers.get("api-key").and_then(|v| v.to_str().ok()) == Some(API_KEY);
    handle(inner, path, query, headers, body, authorized).await
}

async fn handle(
    inner: Arc<Inner>,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Bytes,
    authorized: bool,
) -> Response {
    let _in_flight = InFlight::enter(&inner);
    let raw_body = String::from_utf8_lossy(&body).into_owned();
    let parsed: Value = serde_json::from_str(&raw_body).unwrap_or(Value::Null);
    let prompt_tokens = count_prompt_tokens(&parsed);
    inner.log.lock().expect("log lock").push(Logged {
        path,
        query,
        headers: headers
            .iter()
            .map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect(),
        raw_body,
        body: parsed.clone(),
        prompt_tokens,
    });
    if !authorized {
        return error(401, "Incorrect API key provided", None);
    }
    if parsed["messages"].as_array().is_none_or(|m| m.is_empty()) {
        return error(400, "'messages' is required", None);
    }
    let keyed = {
        let first = first_user(&parsed);
        let mut keyed = inner.keyed.lock().expect("keyed lock");
        keyed
            .iter_mut()
            .find(|(k, _)| first.starts_with(k.as_str()))
            .map(|(_, q)| q.pop_front())
    };
    let step = match keyed {
        Some(step) => step,
        None => inner.script.lock().expect("script lock").pop_front(),
    };
    let Some(step) = step else {
        return error(400, "fake openai: no scripted reply left", None);
    };
    tokio::time::sleep(step.delay).await;
    let model = parsed["model"].as_str().unwrap_or("").to_string();
    let n = inner.seq.fetch_add(1, Ordering::SeqCst);
    let (message, finish, completion) = match step.reply {
        Reply::Status {
            status,
            retry_after,
            message,
        } => return error(status, &message, retry_after),
        Reply::Text(text) => {
            let tokens = count(&text);
            (
                json!({"role": "assistant", "content": text}),
                "stop",
                tokens,
            )
        }
        Reply::ToolCalls(calls) => {
            let tokens = calls.iter().map(|(n, a)| count(n) + count(a)).sum();
            let calls: Vec<Value> = calls
                .into_iter()
                .enumerate()
                .map(|(i, (name, arguments))| {
                    json!({"id": format!("call_{n}_{i}"), "type": "function",
                           "function": {"name": name, "arguments": arguments}})
                })
                .collect();
            (
                json!({"role": "assistant", "content": null, "tool_calls": calls}),
                "tool_calls",
                tokens,
            )
        }
    };
    let completion = step.completion_tokens.unwrap_or(completion);
    axum::Json(json!({
        "id": format!("chatcmpl-fake{n}"),
        "object": "chat.completion",
        "created": 1_750_000_000u32,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion,
                  "total_tokens": prompt_tokens + completion}
    }))
    .into_response()
}

fn error(status: u16, message: &str, retry_after: Option<u64>) -> Response {
    let kind = match status {
        429 => "rate_limit_error",
        401 => "invalid_request_error",
        s if s >= 500 => "server_error",
        _ => "invalid_request_error",
    };
    let body = json!({"error": {"message": message, "type": kind, "param": null, "code": null}});
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, axum::Json(body)).into_response();
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert("retry-after", secs.to_string().parse().expect("digits"));
    }
    response
}

fn count(text: &str) -> u64 {
    static BPE: OnceLock<tiktoken_rs::CoreBPE> = OnceLock::new();
    let bpe = BPE.get_or_init(|| tiktoken_rs::cl100k_base().expect("cl100k vocabulary"));
    bpe.encode_with_special_tokens(text).len() as u64
}

/// The prompt tokens of a request body, as described in the module header.
pub fn count_prompt_tokens(body: &Value) -> u64 {
    let mut total = 3;
    for m in body["messages"].as_array().into_iter().flatten() {
        total += 3 + count(m["role"].as_str().unwrap_or(""));
        if let Some(text) = m["content"].as_str() {
            total += count(text);
        }
        for call in m["tool_calls"].as_array().into_iter().flatten() {
            total += count(call["function"]["name"].as_str().unwrap_or(""))
                + count(call["function"]["arguments"].as_str().unwrap_or(""));
        }
    }
    for tool in body["tools"].as_array().into_iter().flatten() {
        total += count(&tool["function"].to_string());
    }
    total
}
