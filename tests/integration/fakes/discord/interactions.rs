//! The fake's answers to clicks: the interaction callback (within 3 s, once) and follow-ups
//! with the interaction's token (ephemeral ones shown to the clicker only).

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State as AxumState};
use axum::response::Response;
use serde_json::{Value, json};

use super::limits::{check_message, json_error};
use super::rest::{Rest, answer, apply_edit, fault_response, parse, snowflake, take_fault};
use super::{BOT_USER, Note, Stored, payloads};

/// Discord allows 3 s to answer a click.
const CLICK_DEADLINE: Duration = Duration::from_secs(3);
/// Ephemeral message flag.
const EPHEMERAL: u64 = 1 << 6;

pub(super) async fn callback(
    AxumState(r): AxumState<Rest>,
    Path((interaction, token)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let mut s = r.lock();
    s.calls.push("interaction callback".into());
    let body = match parse(&body) {
        Ok(b) => b,
        Err(e) => return answer(Err(e)),
    };
    let id = snowflake(&interaction);
    let Some(i) = s.interactions.get(&id).filter(|i| i.token == token) else {
        return answer(Err(json_error(404, 10062, "Unknown interaction")));
    };
    if i.callback.kind.is_some() {
        return answer(Err(json_error(
            400,
            40060,
            "Interaction has already been acknowledged.",
        )));
    }
    let after = i.sent.elapsed();
    if after > CLICK_DEADLINE {
        return answer(Err(json_error(404, 10062, "Unknown interaction")));
    }
    let kind = body["type"].as_u64().unwrap_or(0);
    let (user, channel, message) = (i.callback.user, i.channel, i.callback.message);
    let data = &body["data"];
    let result = match kind {
        // Deferred update: the message is edited later.
        6 => Ok(Value::Null),
        // Update the clicked message now.
        7 => check_message(data, false)
            .and_then(|()| apply_edit(&mut s, channel, message, data))
            .map(|_| Value::Null),
        // A message in answer (private with the ephemeral flag).
        4 => check_message(data, true).map(|()| {
            if data["flags"].as_u64().unwrap_or(0) & EPHEMERAL != 0 {
                s.notes.push(Note {
                    user,
                    channel,
                    text: data["content"].as_str().unwrap_or_default().to_string(),
                });
            }
            Value::Null
        }),
        _ => Err(json_error(400, 50035, "Invalid Form Body")),
    };
    if result.is_ok()
        && let Some(i) = s.interactions.get_mut(&id)
    {
        i.callback.kind = Some(kind);
        i.callback.after = Some(after);
    }
    answer(result)
}

pub(super) async fn followup(
    AxumState(r): AxumState<Rest>,
    Path((application, token)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let mut s = r.lock();
    s.calls.push("follow-up".into());
    if let Some(fault) = take_fault(&mut s) {
        return fault_response(fault);
    }
    let found = s
        .interactions
        .values()
        .find(|i| i.token == token)
        .map(|i| (i.callback.clone(), i.channel, i.sent));
    let result = match found {
        Some(_) if snowflake(&application) != super::APPLICATION => {
            Err(json_error(404, 10015, "Unknown Webhook"))
        }
        None => Err(json_error(404, 10015, "Unknown Webhook")),
        // Follow-ups exist once the click was answered.
        Some((cb, _, _)) if cb.kind.is_none() => Err(json_error(404, 10015, "Unknown Webhook")),
        // The token lives 15 minutes.
        Some((_, _, sent)) if sent.elapsed() > Duration::from_secs(900) => {
            Err(json_error(401, 50027, "Invalid Webhook Token"))
        }
        Some((cb, channel, _)) => parse(&body)
            .and_then(|b| check_message(&b, true).map(|()| b))
            .map(|b| {
                let text = b["content"].as_str().unwrap_or_default().to_string();
                let ephemeral = b["flags"].as_u64().unwrap_or(0) & EPHEMERAL != 0;
                let id = s.next_id();
                let stored = Stored {
                    id,
                    channel,
                    author: BOT_USER,
                    content: text.clone(),
                    embeds: b.get("embeds").cloned().unwrap_or_else(|| json!([])),
                    components: b.get("components").cloned().unwrap_or_else(|| json!([])),
                    nonce: None,
                    mentions: Vec::new(),
                    reference: None,
                    edits: 0,
                    at: Instant::now(),
                };
                let mut v = payloads::message(&s, &stored, false);
                if ephemeral {
                    v["flags"] = json!(EPHEMERAL);
                    s.notes.push(Note {
                        user: cb.user,
                        channel,
                        text,
                    });
                } else {
                    s.messages.push(stored);
                }
                v
            }),
    };
    answer(result)
}
