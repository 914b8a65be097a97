//! The fake's reading methods: `conversations.history` (top-level messages, newest first,
//! paged by cursor) and `conversations.replies` (a thread, oldest first), with message
//! metadata only when `include_all_metadata` is asked for, as on Slack.

use serde_json::{Value, json};

use super::web::{Args, MethodResult, ok, str_arg};
use super::{APP, State, Stored, TEAM};

pub(super) fn history(s: &mut State, args: &Args) -> MethodResult {
    let channel = s
        .channel(str_arg(args, "channel").ok_or("channel_not_found")?, false)
        .ok_or("channel_not_found")?
        .id
        .clone();
    let with_metadata = str_arg(args, "include_all_metadata") == Some("true");
    let oldest = str_arg(args, "oldest").map(ts_micros).unwrap_or(0);
    let latest = str_arg(args, "latest").map(ts_micros).unwrap_or(u128::MAX);
    let limit: usize = str_arg(args, "limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(100)
        .clamp(1, 999);
    let offset: usize = str_arg(args, "cursor")
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut top: Vec<&Stored> = s
        .messages
        .iter()
        .filter(|m| m.channel == channel && m.thread().is_none())
        .filter(|m| (oldest..=latest).contains(&ts_micros(&m.ts)))
        .collect();
    top.reverse(); // newest first, as Slack answers
    let page: Vec<Value> = top
        .iter()
        .skip(offset)
        .take(limit)
        .map(|m| message_json(m, with_metadata))
        .collect();
    let more = top.len() > offset + limit;
    let cursor = if more {
        (offset + limit).to_string()
    } else {
        String::new()
    };
    Ok((
        ok(json!({"messages": page, "has_more": more, "pin_count": 0,
                  "response_metadata": {"next_cursor": cursor}})),
        None,
    ))
}

pub(super) fn replies(s: &mut State, args: &Args) -> MethodResult {
    let channel = s
        .channel(str_arg(args, "channel").ok_or("channel_not_found")?, false)
        .ok_or("channel_not_found")?
        .id
        .clone();
    let parent = str_arg(args, "ts").ok_or("thread_not_found")?;
    let with_metadata = str_arg(args, "include_all_metadata") == Some("true");
    let oldest = str_arg(args, "oldest").map(ts_micros).unwrap_or(0);
    let head = s
        .messages
        .iter()
        .find(|m| m.channel == channel && m.ts == parent)
        .ok_or("thread_not_found")?;
    let mut messages = vec![message_json(head, with_metadata)];
    messages.extend(
        s.messages
            .iter()
            .filter(|m| m.channel == channel && m.thread() == Some(parent))
            .filter(|m| ts_micros(&m.ts) >= oldest)
            .map(|m| message_json(m, with_metadata)),
    );
    Ok((
        ok(json!({"messages": messages, "has_more": false,
                  "response_metadata": {"next_cursor": ""}})),
        None,
    ))
}

pub(super) fn message_json(m: &Stored, with_metadata: bool) -> Value {
    let mut v =
        json!({"type": "message", "user": m.user, "text": m.text, "ts": m.ts, "team": TEAM});
    if let Some(b) = &m.bot_id {
        v["bot_id"] = json!(b);
        v["app_id"] = json!(APP);
    }
    if m.blocks.is_array() {
        v["blocks"] = m.blocks.clone();
    }
    if let Some(t) = &m.thread_ts {
        v["thread_ts"] = json!(t);
    }
    if m.reply_count > 0 {
        v["reply_count"] = json!(m.reply_count);
        v["latest_reply"] = json!(m.latest_reply);
    }
    if m.edits > 0 {
        v["edited"] = json!({"user": m.user, "ts": m.ts});
    }
    if with_metadata && let Some(md) = &m.metadata {
        v["metadata"] = md.clone();
    }
    v
}

/// A Slack ts in microseconds (0 if malformed).
fn ts_micros(ts: &str) -> u128 {
    let (secs, frac) = ts.split_once('.').unwrap_or((ts, "0"));
    let frac: String = frac.chars().chain(std::iter::repeat('0')).take(6).collect();
    secs.parse::<u128>().unwrap_or(0) * 1_000_000 + frac.parse::<u128>().unwrap_or(0)
}
