//! The fake's Web API: `GET|POST /api/{method}` with JSON, form or query arguments and a
//! Bearer token (or a `token` argument), answering in Slack's shapes and error codes.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxumState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::{APP, BOT_ID, BOT_USER, Ephemeral, Fault, Sink, State, Stored, TEAM, blocks, socket};

/// Calls that injected faults apply to.
const WRITES: &[&str] = &["chat.postMessage", "chat.update", "chat.postEphemeral"];
/// Slack's limit on `text`.
const MAX_TEXT: usize = 40_000;

#[derive(Clone)]
struct Web {
    state: Arc<Mutex<State>>,
    ws_port: u16,
}

pub(super) async fn serve(state: Arc<Mutex<State>>, ws_port: u16) -> (u16, JoinHandle<()>) {
    let app = Router::new()
        .route("/api/{method}", any(api))
        .with_state(Web { state, ws_port });
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind fake slack");
    let port = listener.local_addr().expect("local addr").port();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .await
            .expect("fake slack web api");
    });
    (port, task)
}

pub(super) type Args = Map<String, Value>;

/// What a method answers, and a bot message Slack would echo as a `message` event.
pub(super) type Outcome = (Response, Option<Value>);

async fn api(
    AxumState(web): AxumState<Web>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let args = match parse_args(query.as_deref(), &headers, &body) {
        Ok(a) => a,
        Err(code) => return fail(code),
    };
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let token = bearer.or_else(|| {
        args.get("token")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    let (response, echo) = {
        let mut s = web.state.lock().expect("fake slack state");
        s.calls.push(method.clone());
        if WRITES.contains(&method.as_str())
            && let Some(fault) = s.faults.pop_front()
        {
            return fault_response(fault);
        }
        dispatch(&mut s, &method, token.as_deref(), &args, web.ws_port)
    };
    if let Some(event) = echo {
        let state = web.state.clone();
        tokio::spawn(async move { echo_event(state, event).await });
    }
    response
}

fn parse_args(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Result<Args, &'static str> {
    let mut args = Args::new();
    let form = |bytes: &[u8], args: &mut Args| {
        for (k, v) in url::form_urlencoded::parse(bytes) {
            args.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    };
    if let Some(q) = query {
        form(q.as_bytes(), &mut args);
    }
    if body.is_empty() {
        return Ok(args);
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.starts_with("application/json") {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(o)) => args.extend(o),
            _ => return Err("invalid_json"),
        }
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        form(body, &mut args);
    } else {
        return Err("invalid_form_data");
    }
    Ok(args)
}

/// An argument that is JSON, given as JSON or (form, query) as a JSON string.
fn json_arg(args: &Args, name: &str) -> Result<Option<Value>, &'static str> {
    match args.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => serde_json::from_str(s)
            .map(Some)
            .map_err(|_| "invalid_arguments"),
        Some(v) => Ok(Some(v.clone())),
    }
}

pub(super) fn str_arg<'a>(args: &'a Args, name: &str) -> Option<&'a str> {
    args.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn dispatch(
    s: &mut State,
    method: &str,
    token: Option<&str>,
    args: &Args,
    ws_port: u16,
) -> Outcome {
    let is_app_method = method == "apps.connections.open";
    match token {
        None => return (fail("not_authed"), None),
        Some(t) if is_app_method && t == s.bot_token => {
            return (fail("not_allowed_token_type"), None);
        }
        Some(t) if is_app_method && t != s.app_token => return (fail("invalid_auth"), None),
        Some(t) if !is_app_method && t == s.app_token => {
            return (fail("not_allowed_token_type"), None);
        }
        Some(t) if !is_app_method && t != s.bot_token => return (fail("invalid_auth"), None),
        Some(_) => {}
    }
    let result = match method {
        "auth.test" => Ok((
            ok(
                json!({"url": "https://lookout-test.slack.com/", "team": "Lookout Test",
                      "user": "lookout", "team_id": TEAM, "user_id": BOT_USER, "bot_id": BOT_ID,
                      "is_enterprise_install": false}),
            ),
            None,
        )),
        "chat.postMessage" => post_message(s, args),
        "chat.update" => update(s, args),
        "chat.postEphemeral" => ephemeral(s, args),
        "conversations.history" => super::history::history(s, args),
        "conversations.replies" => super::history::replies(s, args),
        "apps.connections.open" => {
            let ticket = s.next_id("ticket-");
            s.tickets.insert(ticket.clone());
            Ok((
                ok(
                    json!({"url": format!("ws://127.0.0.1:{ws_port}/link/?ticket={ticket}&app_id={APP}")}),
                ),
                None,
            ))
        }
        _ => Err("unknown_method"),
    };
    result.unwrap_or_else(|code| (fail(code), None))
}

pub(super) type MethodResult = Result<Outcome, &'static str>;

/// The channel for a write: exists, the bot is in it, not archived.
fn writable(s: &State, given: &str, by_name: bool) -> Result<String, &'static str> {
    let c = s.channel(given, by_name).ok_or("channel_not_found")?;
    if c.archived {
        return Err("is_archived");
    }
    if !c.bot_member {
        return Err("not_in_channel");
    }
    Ok(c.id.clone())
}

/// Why a post or update is refused: an error code, with details for `invalid_blocks`.
struct Refusal(&'static str, Option<String>);

impl Refusal {
    fn outcome(self) -> Outcome {
        match self.1 {
            Some(detail) => (fail_with(self.0, &detail), None),
            None => (fail(self.0), None),
        }
    }
}

/// Text, blocks and metadata of a post or update, validated like Slack.
fn content(args: &Args) -> Result<(String, Value, Option<Value>), Refusal> {
    let refuse = |code| Refusal(code, None);
    let text = str_arg(args, "text").unwrap_or_default().to_string();
    let blocks = json_arg(args, "blocks")
        .map_err(refuse)?
        .unwrap_or(Value::Null);
    if text.chars().count() > MAX_TEXT {
        return Err(refuse("msg_too_long"));
    }
    if !blocks.is_null()
        && let Err(detail) = blocks::validate(&blocks)
    {
        return Err(Refusal("invalid_blocks", Some(detail)));
    }
    let no_blocks = blocks.as_array().is_none_or(|b| b.is_empty());
    if text.trim().is_empty() && no_blocks {
        return Err(refuse("no_text"));
    }
    let metadata = json_arg(args, "metadata").map_err(refuse)?;
    if let Some(m) = &metadata {
        let typed = m["event_type"].as_str().is_some_and(|t| !t.is_empty());
        if !typed || !(m["event_payload"].is_object() || m["event_payload"].is_null()) {
            return Err(refuse("invalid_metadata_format"));
        }
    }
    Ok((text, blocks, metadata))
}

fn post_message(s: &mut State, args: &Args) -> MethodResult {
    let channel = writable(
        s,
        str_arg(args, "channel").ok_or("channel_not_found")?,
        true,
    )?;
    let (text, blocks, metadata) = match content(args) {
        Ok(c) => c,
        Err(refused) => return Ok(refused.outcome()),
    };
    let thread_ts = str_arg(args, "thread_ts").map(str::to_string);
    let ts = s.next_ts();
    if let Some(parent) = &thread_ts {
        count_reply(s, &channel, parent, &ts);
    }
    let stored = Stored {
        channel: channel.clone(),
        ts: ts.clone(),
        thread_ts,
        user: BOT_USER.into(),
        bot_id: Some(BOT_ID.into()),
        text,
        blocks,
        metadata,
        edits: 0,
        reply_count: 0,
        latest_reply: None,
        received: std::time::Instant::now(),
    };
    let message = super::history::message_json(&stored, true);
    s.messages.push(stored);
    let mut echo = message.clone();
    echo["channel"] = json!(channel);
    echo["channel_type"] = json!("channel");
    echo["event_ts"] = json!(ts);
    Ok((
        ok(json!({"channel": channel, "ts": ts, "message": message})),
        Some(echo),
    ))
}

/// Records a reply in its parent's counters.
pub(super) fn count_reply(s: &mut State, channel: &str, parent: &str, reply_ts: &str) {
    if let Some(p) = s
        .messages
        .iter_mut()
        .find(|m| m.channel == channel && m.ts == parent)
    {
        p.reply_count += 1;
        p.latest_reply = Some(reply_ts.to_string());
        p.thread_ts = Some(parent.to_string());
    }
}

fn update(s: &mut State, args: &Args) -> MethodResult {
    // chat.update wants the channel's id, not its name.
    let channel = writable(
        s,
        str_arg(args, "channel").ok_or("channel_not_found")?,
        false,
    )?;
    let ts = str_arg(args, "ts").ok_or("message_not_found")?.to_string();
    let (text, blocks, metadata) = match content(args) {
        Ok(c) => c,
        Err(refused) => return Ok(refused.outcome()),
    };
    let m = s
        .messages
        .iter_mut()
        .find(|m| m.channel == channel && m.ts == ts)
        .ok_or("message_not_found")?;
    if m.user != BOT_USER {
        return Err("cant_update_message");
    }
    m.text = text;
    m.blocks = blocks;
    if metadata.is_some() {
        m.metadata = metadata;
    }
    m.edits += 1;
    let mut message = super::history::message_json(m, true);
    message["edited"] = json!({"user": BOT_USER, "ts": ts});
    Ok((
        ok(json!({"channel": channel, "ts": ts, "text": m.text, "message": message})),
        None,
    ))
}

fn ephemeral(s: &mut State, args: &Args) -> MethodResult {
    let channel = writable(
        s,
        str_arg(args, "channel").ok_or("channel_not_found")?,
        true,
    )?;
    let user = str_arg(args, "user").ok_or("user_not_found")?.to_string();
    let in_channel = s
        .channel(&channel, false)
        .is_some_and(|c| c.users.contains(&user));
    if !in_channel {
        return Err("user_not_in_channel");
    }
    let (text, blocks, _) = match content(args) {
        Ok(c) => c,
        Err(refused) => return Ok(refused.outcome()),
    };
    let ts = s.next_ts();
    let text = blocks::readable(&blocks).unwrap_or_else(|| blocks::read_mrkdwn(&text));
    s.ephemeral.push(Ephemeral {
        channel,
        user,
        thread_ts: str_arg(args, "thread_ts").map(str::to_string),
        text,
    });
    Ok((ok(json!({"message_ts": ts})), None))
}

/// The bot's own post comes back as a `message` event, as it does from Slack when the app
/// subscribes to channel messages; the adapter must ignore it. Only to a connected bot.
async fn echo_event(state: Arc<Mutex<State>>, event: Value) {
    let (sink, callback) = {
        let mut s = state.lock().expect("fake slack state");
        let id = s.next_id("Ev");
        (s.sink.clone(), super::event_callback(event, &id))
    };
    match sink {
        Sink::Socket => socket::deliver_if_connected(&state, "events_api", callback),
        Sink::Http(poster) => {
            poster.post_json(&callback, super::Signature::Valid).await;
        }
    }
}

pub(super) fn ok(mut body: Value) -> Response {
    body["ok"] = json!(true);
    axum::Json(body).into_response()
}

fn fail(code: &str) -> Response {
    axum::Json(json!({"ok": false, "error": code})).into_response()
}

fn fail_with(code: &str, detail: &str) -> Response {
    axum::Json(json!({"ok": false, "error": code, "errors": [detail],
                      "response_metadata": {"messages": [format!("[ERROR] {detail}")]}}))
    .into_response()
}

fn fault_response(fault: Fault) -> Response {
    match fault {
        Fault::RateLimited(secs) => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, secs.to_string())],
            axum::Json(json!({"ok": false, "error": "ratelimited"})),
        )
            .into_response(),
        Fault::Status(code) => StatusCode::from_u16(code)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response(),
        Fault::Error(code) => fail(code),
    }
}
