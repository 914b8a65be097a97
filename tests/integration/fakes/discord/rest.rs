//! The fake's REST API under `/api/v10`, answering in Discord's shapes and error codes: the
//! bot token on every call but interaction answers (which carry their own token), Invalid Form
//! Body for anything over a limit, 429 with `retry_after` for injected faults and for more
//! than 5 messages in 5 s in one channel, and nonces enforced with `enforce_nonce`.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxumState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::limits::{ApiError, check_message, json_error};
use super::{BOT_USER, Channel, Fault, State, Stored, interactions, payloads};

/// Discord's window for a channel's message creates, and how many it allows.
const CREATE_WINDOW: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub(super) struct Rest {
    state: Arc<Mutex<State>>,
    gateway_url: String,
}

impl Rest {
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("fake discord state")
    }
}

type Answer = Result<Value, ApiError>;

pub(super) async fn serve(state: Arc<Mutex<State>>, gateway_url: String) -> (u16, JoinHandle<()>) {
    let app = Router::new()
        .route("/api/v10/users/@me", get(me))
        .route("/api/v10/gateway", get(gateway))
        .route("/api/v10/gateway/bot", get(gateway_bot))
        .route("/api/v10/channels/{channel}", get(get_channel))
        .route("/api/v10/channels/{channel}/messages", post(create))
        .route(
            "/api/v10/channels/{channel}/messages/{message}",
            get(get_message).patch(edit),
        )
        .route(
            "/api/v10/channels/{channel}/messages/{message}/threads",
            post(start_thread),
        )
        .route(
            "/api/v10/interactions/{interaction}/{token}/callback",
            post(interactions::callback),
        )
        .route(
            "/api/v10/webhooks/{application}/{token}",
            post(interactions::followup),
        )
        .fallback(|| async { answer(Err(json_error(404, 0, "404: Not Found"))) })
        .with_state(Rest { state, gateway_url });
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind fake discord");
    let port = listener.local_addr().expect("local addr").port();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .await
            .expect("fake discord rest api");
    });
    (port, task)
}

/// 200 with a body, 204 for `null`, or Discord's error.
pub(super) fn answer(result: Answer) -> Response {
    match result {
        Ok(Value::Null) => StatusCode::NO_CONTENT.into_response(),
        Ok(v) => (StatusCode::OK, axum::Json(v)).into_response(),
        Err((status, body)) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            (status, axum::Json(body)).into_response()
        }
    }
}

pub(super) fn fault_response(fault: Fault) -> Response {
    match fault {
        Fault::RateLimited {
            retry_after,
            global,
        } => rate_limited(retry_after, global),
        Fault::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY);
            (status, "upstream connect error").into_response()
        }
    }
}

fn rate_limited(retry_after: f64, global: bool) -> Response {
    let body = json!({"message": "You are being rate limited.", "retry_after": retry_after,
                      "global": global});
    let mut headers = HeaderMap::new();
    let secs = retry_after.ceil().max(0.0) as u64;
    headers.insert(header::RETRY_AFTER, secs.into());
    headers.insert(
        "x-ratelimit-scope",
        if global { "global" } else { "user" }
            .parse()
            .expect("header"),
    );
    if global {
        headers.insert("x-ratelimit-global", "true".parse().expect("header"));
    }
    (StatusCode::TOO_MANY_REQUESTS, headers, axum::Json(body)).into_response()
}

/// The bot's token, or 401 as Discord answers it.
fn authorized(s: &State, headers: &HeaderMap) -> Result<(), ApiError> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if given.strip_prefix("Bot ") == Some(s.token.as_str()) {
        Ok(())
    } else {
        Err(json_error(401, 0, "401: Unauthorized"))
    }
}

pub(super) fn parse(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|_| json_error(400, 50109, "The request body contains invalid JSON."))
}

pub(super) fn snowflake(s: &str) -> u64 {
    s.parse().unwrap_or(0)
}

/// A channel (or thread) the bot may use.
fn usable(s: &State, id: u64) -> Result<Channel, ApiError> {
    match s.channel(id) {
        None => Err(json_error(404, 10003, "Unknown Channel")),
        Some(c) if !c.visible => Err(json_error(403, 50001, "Missing Access")),
        Some(c) => Ok(c.clone()),
    }
}

async fn me(AxumState(r): AxumState<Rest>, headers: HeaderMap) -> Response {
    let mut s = r.lock();
    s.calls.push("users/@me".into());
    answer(authorized(&s, &headers).map(|()| payloads::user(BOT_USER)))
}

async fn gateway(AxumState(r): AxumState<Rest>) -> Response {
    r.lock().calls.push("gateway".into());
    answer(Ok(json!({"url": r.gateway_url})))
}

async fn gateway_bot(AxumState(r): AxumState<Rest>, headers: HeaderMap) -> Response {
    let mut s = r.lock();
    s.calls.push("gateway/bot".into());
    answer(authorized(&s, &headers).map(|()| {
        json!({"url": r.gateway_url, "shards": 1,
               "session_start_limit": {"total": 1000, "remaining": 999,
                                       "reset_after": 14_400_000, "max_concurrency": 1}})
    }))
}

async fn get_channel(
    AxumState(r): AxumState<Rest>,
    Path(channel): Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut s = r.lock();
    s.calls.push("get channel".into());
    answer(
        authorized(&s, &headers)
            .and_then(|()| usable(&s, snowflake(&channel)))
            .map(|c| payloads::channel(&c)),
    )
}

async fn get_message(
    AxumState(r): AxumState<Rest>,
    Path((channel, message)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut s = r.lock();
    s.calls.push("get message".into());
    let result = authorized(&s, &headers)
        .and_then(|()| usable(&s, snowflake(&channel)))
        .and_then(|c| {
            s.message(snowflake(&message))
                .filter(|m| m.channel == c.id)
                .map(|m| payloads::message(&s, m, false))
                .ok_or_else(|| json_error(404, 10008, "Unknown Message"))
        });
    answer(result)
}

/// A fault waiting for the next message write, if any.
pub(super) fn take_fault(s: &mut State) -> Option<Fault> {
    s.faults.pop_front()
}

async fn create(
    AxumState(r): AxumState<Rest>,
    Path(channel): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut s = r.lock();
    s.calls.push("create message".into());
    if let Err(e) = authorized(&s, &headers) {
        return answer(Err(e));
    }
    if let Some(fault) = take_fault(&mut s) {
        return fault_response(fault);
    }
    let channel = match usable(&s, snowflake(&channel)) {
        Ok(c) => c.id,
        Err(e) => return answer(Err(e)),
    };
    let body = match parse(&body).and_then(|b| check_message(&b, true).map(|()| b)) {
        Ok(b) => b,
        Err(e) => return answer(Err(e)),
    };
    let nonce = match &body["nonce"] {
        Value::String(n) => Some(n.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    // With enforce_nonce, the same nonce from the same author within the window answers
    // with the message already posted.
    if body["enforce_nonce"] == true
        && let Some(n) = &nonce
    {
        let window = s.nonce_window;
        if let Some(m) = s.messages.iter().find(|m| {
            m.author == BOT_USER
                && m.channel == channel
                && m.nonce.as_deref() == Some(n)
                && m.at.elapsed() < window
        }) {
            return answer(Ok(payloads::message(&s, m, false)));
        }
    }
    let limit = s.per_channel_limit;
    let recent = s.recent_creates.entry(channel).or_default();
    while recent.front().is_some_and(|t| t.elapsed() >= CREATE_WINDOW) {
        recent.pop_front();
    }
    if recent.len() >= limit {
        let wait = CREATE_WINDOW.saturating_sub(recent[0].elapsed());
        return rate_limited((wait.as_secs_f64() * 1000.0).ceil() / 1000.0, false);
    }
    recent.push_back(Instant::now());
    let reference = body["message_reference"]["message_id"]
        .as_str()
        .map(snowflake);
    let id = s.next_id();
    let stored = Stored {
        id,
        channel,
        author: BOT_USER,
        content: body["content"].as_str().unwrap_or_default().to_string(),
        embeds: body.get("embeds").cloned().unwrap_or_else(|| json!([])),
        components: body.get("components").cloned().unwrap_or_else(|| json!([])),
        nonce,
        mentions: Vec::new(),
        reference,
        edits: 0,
        at: Instant::now(),
    };
    let out = payloads::message(&s, &stored, false);
    let event = payloads::message(&s, &stored, true);
    s.messages.push(stored);
    // Discord echoes the bot's own messages over the gateway.
    s.gateway.dispatch("MESSAGE_CREATE", event);
    answer(Ok(out))
}

async fn edit(
    AxumState(r): AxumState<Rest>,
    Path((channel, message)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut s = r.lock();
    s.calls.push("edit message".into());
    if let Err(e) = authorized(&s, &headers) {
        return answer(Err(e));
    }
    if let Some(fault) = take_fault(&mut s) {
        return fault_response(fault);
    }
    let result = usable(&s, snowflake(&channel))
        .and_then(|c| parse(&body).map(|b| (c, b)))
        .and_then(|(c, b)| check_message(&b, false).map(|()| (c, b)))
        .and_then(|(c, b)| apply_edit(&mut s, c.id, snowflake(&message), &b));
    answer(result)
}

/// Replaces what the edit gives (content, embeds, components) on the bot's own message.
pub(super) fn apply_edit(s: &mut State, channel: u64, id: u64, body: &Value) -> Answer {
    let Some(slot) = s
        .messages
        .iter()
        .position(|m| m.id == id && m.channel == channel)
    else {
        return Err(json_error(404, 10008, "Unknown Message"));
    };
    let mut m = s.messages[slot].clone();
    if m.author != BOT_USER {
        return Err(json_error(
            403,
            50005,
            "Cannot edit a message authored by another user",
        ));
    }
    if let Some(c) = body.get("content") {
        m.content = c.as_str().unwrap_or_default().to_string();
    }
    if let Some(e) = body.get("embeds") {
        m.embeds = if e.is_null() { json!([]) } else { e.clone() };
    }
    if let Some(c) = body.get("components") {
        m.components = if c.is_null() { json!([]) } else { c.clone() };
    }
    let empty = m.content.is_empty()
        && m.embeds.as_array().is_none_or(Vec::is_empty)
        && m.components.as_array().is_none_or(Vec::is_empty);
    if empty {
        return Err(json_error(400, 50006, "Cannot send an empty message"));
    }
    m.edits += 1;
    s.messages[slot] = m.clone();
    Ok(payloads::message(s, &m, false))
}

async fn start_thread(
    AxumState(r): AxumState<Rest>,
    Path((channel, message)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut s = r.lock();
    s.calls.push("start thread".into());
    if let Err(e) = authorized(&s, &headers) {
        return answer(Err(e));
    }
    let result = usable(&s, snowflake(&channel))
        .and_then(|c| parse(&body).map(|b| (c, b)))
        .and_then(|(c, b)| thread_from(&mut s, c, snowflake(&message), &b));
    answer(result)
}

fn thread_from(s: &mut State, parent: Channel, message: u64, body: &Value) -> Answer {
    if parent.parent.is_some() {
        return Err(json_error(
            400,
            50024,
            "Cannot execute action on this channel type",
        ));
    }
    if !s
        .messages
        .iter()
        .any(|m| m.id == message && m.channel == parent.id)
    {
        return Err(json_error(404, 10008, "Unknown Message"));
    }
    let name = body["name"].as_str().unwrap_or_default();
    if name.trim().is_empty() || name.chars().count() > 100 {
        let errors = json!({"name": {"_errors": [{"code": "BASE_TYPE_BAD_LENGTH",
                                     "message": "Must be between 1 and 100 in length."}]}});
        return Err((
            400,
            json!({"code": 50035, "message": "Invalid Form Body", "errors": errors}),
        ));
    }
    // A thread started from a message has the message's id.
    if s.channel(message).is_some() {
        return Err(json_error(
            400,
            160_004,
            "A thread has already been created for this message",
        ));
    }
    let thread = Channel {
        id: message,
        name: name.to_string(),
        parent: Some(parent.id),
        visible: true,
    };
    s.channels.push(thread.clone());
    Ok(payloads::channel(&thread))
}
