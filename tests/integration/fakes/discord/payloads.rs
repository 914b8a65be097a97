//! Discord's objects as the fake sends them (users, members, messages, channels, interactions,
//! READY), complete enough for serenity's models, and how a person reads a message.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{APPLICATION, BOT_USER, Channel, GUILD, State, Stored};

/// A Discord timestamp for `at` (messages carry their creation time).
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub fn user(id: u64) -> Value {
    let bot = id == BOT_USER;
    let name = if bot {
        "lookout".to_string()
    } else {
        format!("person{}", id % 100_000)
    };
    json!({"id": id.to_string(), "username": name, "discriminator": "0",
           "global_name": if bot { Value::Null } else { json!(name) },
           "avatar": null, "bot": bot, "public_flags": 0})
}

/// A guild member as MESSAGE_CREATE carries it (without the user).
pub fn member(s: &State, id: u64) -> Value {
    let roles: Vec<String> = s
        .roles
        .get(&id)
        .map(|r| r.iter().map(u64::to_string).collect())
        .unwrap_or_default();
    json!({"roles": roles, "joined_at": "2024-01-01T00:00:00.000Z", "deaf": false,
           "mute": false, "flags": 0, "nick": null, "avatar": null, "premium_since": null,
           "pending": false, "communication_disabled_until": null})
}

/// A message. `gateway` adds what only gateway events carry (guild and member).
pub fn message(s: &State, m: &Stored, gateway: bool) -> Value {
    let created = Utc::now()
        - chrono::Duration::from_std(m.at.elapsed()).unwrap_or_else(|_| chrono::Duration::zero());
    let mut v = json!({
        "id": m.id.to_string(), "channel_id": m.channel.to_string(), "author": user(m.author),
        "content": m.content, "timestamp": timestamp(created),
        "edited_timestamp": if m.edits > 0 { json!(timestamp(Utc::now())) } else { Value::Null },
        "tts": false, "mention_everyone": false,
        "mentions": m.mentions.iter().map(|u| user(*u)).collect::<Vec<_>>(),
        "mention_roles": [], "attachments": [], "embeds": m.embeds,
        "components": m.components, "pinned": false, "flags": 0,
        "type": if m.reference.is_some() { 19 } else { 0 },
    });
    if let Some(n) = &m.nonce {
        v["nonce"] = json!(n);
    }
    if let Some(r) = m.reference {
        v["message_reference"] = json!({"message_id": r.to_string(),
                                        "channel_id": m.channel.to_string(),
                                        "guild_id": GUILD.to_string()});
    }
    if m.author == BOT_USER {
        v["application_id"] = json!(APPLICATION.to_string());
    }
    if gateway {
        v["guild_id"] = json!(GUILD.to_string());
        if m.author != BOT_USER {
            v["member"] = member(s, m.author);
        }
    }
    v
}

/// A channel (type 0) or a public thread (type 11).
pub fn channel(c: &Channel) -> Value {
    let mut v = json!({"id": c.id.to_string(), "guild_id": GUILD.to_string(),
                       "name": c.name, "type": 0, "position": 0,
                       "permission_overwrites": [], "nsfw": false, "parent_id": null,
                       "topic": null, "last_message_id": null, "rate_limit_per_user": 0,
                       "flags": 0});
    if let Some(parent) = c.parent {
        v["type"] = json!(11);
        v["parent_id"] = json!(parent.to_string());
        v["owner_id"] = json!(BOT_USER.to_string());
        v["message_count"] = json!(0);
        v["member_count"] = json!(1);
        v["thread_metadata"] = json!({"archived": false, "auto_archive_duration": 10080,
                                      "archive_timestamp": timestamp(Utc::now()),
                                      "locked": false});
    }
    v
}

/// INTERACTION_CREATE for a click on `custom_id` of message `m` by `who`.
pub fn interaction(
    s: &State,
    id: u64,
    token: &str,
    m: &Stored,
    who: u64,
    custom_id: &str,
) -> Value {
    let mut member = member(s, who);
    member["user"] = user(who);
    member["permissions"] = json!("2248473465835073");
    json!({
        "id": id.to_string(), "application_id": APPLICATION.to_string(), "type": 3,
        "data": {"custom_id": custom_id, "component_type": 2},
        "guild_id": GUILD.to_string(), "channel_id": m.channel.to_string(),
        "channel": {"id": m.channel.to_string(), "type": 0},
        "member": member, "token": token, "version": 1,
        "message": message(s, m, false), "app_permissions": "2248473465835073",
        "locale": "en-US", "guild_locale": "en-US", "entitlements": [],
        "authorizing_integration_owners": {"0": GUILD.to_string()}, "context": 0,
        "attachment_size_limit": 10_485_760,
    })
}

pub fn ready(session: &str, resume_url: &str) -> Value {
    json!({"v": 10, "user": user(BOT_USER), "guilds": [{"id": GUILD.to_string(), "unavailable": true}],
           "session_id": session, "resume_gateway_url": resume_url, "shard": [0, 1],
           "application": {"id": APPLICATION.to_string(), "flags": 0}})
}

/// Buttons of a message's components: (label, custom_id).
pub fn buttons(components: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for row in components.as_array().into_iter().flatten() {
        for c in row["components"].as_array().into_iter().flatten() {
            if c["type"] == 2 {
                let label = c["label"].as_str().unwrap_or_default().to_string();
                let id = c["custom_id"].as_str().unwrap_or_default().to_string();
                out.push((label, id));
            }
        }
    }
    out
}

/// What a person reads: content, then each embed's title, description and fields, with
/// markdown (bold, subtext, fences, escapes) removed.
pub fn readable(content: &str, embeds: &Value) -> String {
    let mut parts = Vec::new();
    if !content.is_empty() {
        parts.push(unmark(content));
    }
    for e in embeds.as_array().into_iter().flatten() {
        for key in ["title", "description"] {
            if let Some(t) = e[key].as_str() {
                parts.push(unmark(t));
            }
        }
        for f in e["fields"].as_array().into_iter().flatten() {
            let name = unmark(f["name"].as_str().unwrap_or_default());
            let value = unmark(f["value"].as_str().unwrap_or_default());
            parts.push(format!("{name}: {value}"));
        }
    }
    parts.join("\n")
}

fn unmark(md: &str) -> String {
    let mut lines = Vec::new();
    for line in md.lines() {
        if line.trim() == "```" || line.trim_start().starts_with("```") && line.trim().len() <= 12 {
            continue; // a fence (with or without a language)
        }
        lines.push(line.strip_prefix("-# ").unwrap_or(line).replace("**", ""));
    }
    let text = lines.join("\n").replace('\u{200b}', "");
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}
