//! The fake's Bot API: `GET|POST /bot<token>/<method>` with JSON, form or query arguments;
//! method names are matched case-insensitively (teloxide sends `SendMessage`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxumState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::updates::{message_json, thread_of_reply};
use super::{BOT_ID, Fault, State, Stored, html};

/// Calls that injected faults apply to.
const WRITES: &[&str] = &["sendmessage", "editmessagetext"];
/// Longest visible text, in UTF-16 code units.
const MAX_TEXT: usize = 4096;
/// Longest callback answer.
const MAX_ANSWER: usize = 200;

#[derive(Clone)]
struct Api {
    state: Arc<Mutex<State>>,
    notify: Arc<Notify>,
}

pub(super) async fn serve(state: Arc<Mutex<State>>, notify: Arc<Notify>) -> (u16, JoinHandle<()>) {
    let app = Router::new()
        .route("/{bot}/{method}", any(call))
        .with_state(Api { state, notify });
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind fake telegram");
    let port = listener.local_addr().expect("local addr").port();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("fake telegram api");
    });
    (port, task)
}

use super::args::{Args, flag, int, json_arg, parse_args, text};

/// Telegram's error answer.
fn fail(code: u16, description: &str) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
    let body = json!({"ok": false, "error_code": code, "description": description});
    (status, axum::Json(body)).into_response()
}

fn bad(description: impl AsRef<str>) -> Response {
    fail(400, description.as_ref())
}

fn retry_after(secs: u64) -> Response {
    let body = json!({
        "ok": false,
        "error_code": 429,
        "description": format!("Too Many Requests: retry after {secs}"),
        "parameters": {"retry_after": secs},
    });
    (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response()
}

fn ok(result: Value) -> Response {
    axum::Json(json!({"ok": true, "result": result})).into_response()
}

async fn call(
    AxumState(api): AxumState<Api>,
    Path((bot, method)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let method = method.to_ascii_lowercase();
    let Some(token) = bot.strip_prefix("bot") else {
        return fail(404, "Not Found");
    };
    let args = match parse_args(query.as_deref(), &headers, &body) {
        Ok(a) => a,
        Err(e) => return bad(e),
    };
    {
        let mut s = api.state.lock().expect("fake telegram state");
        s.calls.push(method.clone());
        if s.down {
            return fail(502, "Bad Gateway");
        }
        if token != s.token {
            return fail(401, "Unauthorized");
        }
        if WRITES.contains(&method.as_str())
            && let Some(fault) = s.faults.pop_front()
        {
            return match fault {
                Fault::RateLimited(secs) => retry_after(secs),
                Fault::Error(code, description) => fail(code, description),
            };
        }
    }
    if method == "getupdates" {
        return get_updates(&api, &args).await;
    }
    let mut s = api.state.lock().expect("fake telegram state");
    match method.as_str() {
        "getme" => ok(json!({
            "id": BOT_ID, "is_bot": true, "first_name": "Lookout", "username": super::BOT_USERNAME,
            "can_join_groups": true, "can_read_all_group_messages": !s.privacy,
            "supports_inline_queries": false, "can_connect_to_business": false,
            "has_main_web_app": false,
        })),
        "sendmessage" => send_message(&mut s, &args),
        "editmessagetext" => edit_message(&mut s, &args),
        "answercallbackquery" => answer(&mut s, &args),
        "createforumtopic" => create_topic(&mut s, &args),
        "setwebhook" => {
            let Some(url) = args.get("url").and_then(Value::as_str) else {
                return bad("Bad Request: bad webhook: An HTTPS URL must be provided for webhook");
            };
            let secret = args
                .get("secret_token")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if secret.len() > 256
                || !secret
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return bad("Bad Request: secret token contains unallowed characters");
            }
            s.webhook = Some((url.to_string(), secret.to_string()));
            api.notify.notify_waiters();
            ok(json!(true))
        }
        "deletewebhook" => {
            s.webhook = None;
            if flag(&args, "drop_pending_updates") {
                s.updates.clear();
            }
            ok(json!(true))
        }
        "getwebhookinfo" => ok(json!({
            "url": s.webhook.as_ref().map(|w| w.0.clone()).unwrap_or_default(),
            "has_custom_certificate": false,
            "pending_update_count": s.updates.len(),
        })),
        _ => fail(404, "Not Found: method not found"),
    }
}

/// A refusal, boxed: responses are large.
type Refused = Box<Response>;

fn refuse(description: impl AsRef<str>) -> Refused {
    Box::new(bad(description))
}

/// The chat a write goes to, or Telegram's refusal.
fn chat_for_write(s: &State, args: &Args) -> Result<i64, Refused> {
    let Some(chat) = int(args, "chat_id") else {
        return Err(refuse(match args.get("chat_id") {
            None => "Bad Request: chat_id is empty",
            Some(_) => "Bad Request: chat not found",
        }));
    };
    match s.chat(chat) {
        Some(c) if !c.member => Err(Box::new(fail(
            403,
            "Forbidden: bot is not a member of the supergroup chat",
        ))),
        Some(_) => Ok(chat),
        None if chat > 0 => Ok(chat),
        None => Err(refuse("Bad Request: chat not found")),
    }
}

/// What a send or an edit shows.
struct Content {
    /// As sent.
    raw: String,
    /// As a person reads it.
    shown: String,
    buttons: Vec<(String, String)>,
}

/// The visible text and keyboard of a send or an edit, or Telegram's refusal.
fn content(args: &Args) -> Result<Content, Refused> {
    let raw = text(args, "text").unwrap_or_default();
    let shown = match text(args, "parse_mode").as_deref() {
        Some(m) if m.eq_ignore_ascii_case("html") => html::visible(&raw).map_err(refuse)?,
        Some(other) => {
            return Err(refuse(format!(
                "Bad Request: unsupported parse_mode {other}"
            )));
        }
        None => raw.clone(),
    };
    if shown.trim().is_empty() {
        return Err(refuse("Bad Request: message text is empty"));
    }
    if shown.encode_utf16().count() > MAX_TEXT {
        return Err(refuse("Bad Request: message is too long"));
    }
    let markup = json_arg(args, "reply_markup").map_err(refuse)?;
    let buttons = html::keyboard(markup.as_ref()).map_err(refuse)?;
    Ok(Content {
        raw,
        shown,
        buttons,
    })
}

fn send_message(s: &mut State, args: &Args) -> Response {
    let chat = match chat_for_write(s, args) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let Content {
        raw,
        shown,
        buttons,
    } = match content(args) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let reply = match json_arg(args, "reply_parameters") {
        Ok(r) => r,
        Err(e) => return bad(e),
    };
    let reply_to = reply
        .as_ref()
        .and_then(|r| r.get("message_id").and_then(Value::as_i64))
        .or_else(|| int(args, "reply_to_message_id"))
        .map(|id| id as i32);
    let allow_without = reply
        .as_ref()
        .and_then(|r| r.get("allow_sending_without_reply"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let (mut thread, mut topic) = (None, None);
    if let Some(t) = int(args, "message_thread_id") {
        let exists = s.chat(chat).is_some_and(|c| c.forum)
            && s.message(chat, t as i32)
                .is_some_and(|m| m.topic_created.is_some());
        if !exists {
            return bad("Bad Request: message thread not found");
        }
        thread = Some(format!("topic:{t}"));
        topic = Some(t as i32);
    }
    let reply_to = match reply_to {
        Some(to) if s.message(chat, to).is_some() => {
            if topic.is_none() {
                (thread, topic) = thread_of_reply(s, chat, to);
            }
            Some(to)
        }
        Some(_) if allow_without => None,
        Some(_) => return bad("Bad Request: message to be replied not found"),
        None => None,
    };
    if chat < 0 {
        let (limit, window) = s.group_limit;
        let now = Instant::now();
        let recent: Vec<Instant> = s
            .messages
            .iter()
            .filter(|m| m.chat == chat && m.by_bot() && now.duration_since(m.received) < window)
            .map(|m| m.received)
            .collect();
        if recent.len() >= limit {
            s.group_refusals += 1;
            let oldest = recent.iter().min().copied().unwrap_or(now);
            let wait = (oldest + window).saturating_duration_since(now);
            return retry_after(wait.as_secs() + u64::from(wait.subsec_nanos() > 0));
        }
    }
    let id = s.next_message_id(chat);
    let stored = Stored {
        chat,
        id,
        from: BOT_ID,
        thread,
        reply_to,
        topic,
        html: raw,
        text: shown,
        entities: Vec::new(),
        buttons,
        edits: 0,
        topic_created: None,
        received: Instant::now(),
    };
    let result = message_json(s, &stored, true);
    s.messages.push(stored);
    ok(result)
}

fn edit_message(s: &mut State, args: &Args) -> Response {
    if args.contains_key("inline_message_id") {
        return bad("Bad Request: MESSAGE_ID_INVALID");
    }
    let chat = match chat_for_write(s, args) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let Content {
        raw,
        shown,
        buttons,
    } = match content(args) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let Some(id) = int(args, "message_id") else {
        return bad("Bad Request: message identifier is not specified");
    };
    let Some(m) = s.message_mut(chat, id as i32) else {
        return bad("Bad Request: message to edit not found");
    };
    if m.from != BOT_ID || m.topic_created.is_some() {
        return bad("Bad Request: message can't be edited");
    }
    if m.html == raw && m.buttons == buttons {
        return bad(
            "Bad Request: message is not modified: specified new message content and reply \
             markup are exactly the same as a current content and reply markup of the message",
        );
    }
    m.html = raw;
    m.text = shown;
    m.buttons = buttons;
    m.edits += 1;
    let m = m.clone();
    ok(message_json(s, &m, true))
}

fn answer(s: &mut State, args: &Args) -> Response {
    let query = text(args, "callback_query_id").unwrap_or_default();
    let Some(user) = s.queries.remove(&query) else {
        return bad(
            "Bad Request: query is too old and response timeout expired or query ID is invalid",
        );
    };
    let note = text(args, "text");
    if note
        .as_ref()
        .is_some_and(|t| t.chars().count() > MAX_ANSWER)
    {
        return bad("Bad Request: MESSAGE_TOO_LONG");
    }
    s.answers.push(super::Answer {
        query,
        user,
        text: note,
        show_alert: flag(args, "show_alert"),
    });
    ok(json!(true))
}

fn create_topic(s: &mut State, args: &Args) -> Response {
    let chat = match chat_for_write(s, args) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    if !s.chat(chat).is_some_and(|c| c.forum) {
        return bad("Bad Request: the chat is not a forum");
    }
    let name = text(args, "name").unwrap_or_default();
    let len = name.chars().count();
    if len == 0 || len > 128 {
        return bad("Bad Request: TOPIC_NAME_INVALID");
    }
    let id = s.next_message_id(chat);
    s.messages.push(Stored {
        chat,
        id,
        from: BOT_ID,
        thread: Some(format!("topic:{id}")),
        reply_to: None,
        topic: Some(id),
        html: String::new(),
        text: String::new(),
        entities: Vec::new(),
        buttons: Vec::new(),
        edits: 0,
        topic_created: Some(name.clone()),
        received: Instant::now(),
    });
    ok(json!({"message_thread_id": id, "name": name, "icon_color": 7_322_096}))
}

/// `getUpdates` with its arguments.
async fn get_updates(api: &Api, args: &Args) -> Response {
    let offset = int(args, "offset").unwrap_or(0);
    let wait = Duration::from_secs(int(args, "timeout").unwrap_or(0).max(0) as u64);
    let limit = int(args, "limit").unwrap_or(100).clamp(1, 100) as usize;
    match super::updates::poll(&api.state, &api.notify, offset, wait, limit).await {
        Ok(updates) => ok(Value::Array(updates)),
        Err(conflict) => fail(409, conflict),
    }
}
