//! Slack payloads in, [`ChatEvent`]s out — the same for Socket Mode and the HTTP Events API.
//!
//! - `app_mention` -> a message with `mentioned: true`, the bot's mention removed;
//! - `message` in a thread (or a direct message), from a person -> a message; one that
//!   mentions the bot is skipped because its `app_mention` already carries it;
//! - `block_actions` -> one click per button.
//!
//! Everything else (edits, joins, bot messages, our own messages, unknown types) is ignored.
//! Slack redelivers what was not acknowledged in time, so recent event ids are remembered and
//! a repeat is dropped.

use std::collections::{HashSet, VecDeque};
use std::sync::{Mutex, RwLock};

use slack_morphism::prelude::*;
use tracing::debug;

use super::api::BotIdentity;
use crate::chat::event::{ChatEvent, ChatUser, Click, Inbound};
use crate::chat::platform::{MessageRef, ThreadRef};

pub const PLATFORM: &str = "slack";

/// How many event ids are remembered to drop redeliveries.
const RECENT: usize = 4096;

/// Translates Slack payloads; knows the bot's identity once `auth.test` (or an event's
/// `authorizations`) told it.
#[derive(Default)]
pub struct Translator {
    me: RwLock<Option<BotIdentity>>,
    recent: Mutex<Recent>,
}

#[derive(Default)]
struct Recent {
    order: VecDeque<String>,
    set: HashSet<String>,
}

impl Recent {
    /// True the first time `id` is seen.
    fn first(&mut self, id: &str) -> bool {
        if id.is_empty() {
            return true;
        }
        if !self.set.insert(id.to_string()) {
            return false;
        }
        self.order.push_back(id.to_string());
        if self.order.len() > RECENT
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }
}

impl Translator {
    pub fn set_identity(&self, me: BotIdentity) {
        if let Ok(mut guard) = self.me.write() {
            *guard = Some(me);
        }
    }

    pub fn bot_user_id(&self) -> Option<String> {
        self.me
            .read()
            .ok()
            .and_then(|g| g.as_ref().map(|m| m.user_id.clone()))
    }

    fn first_time(&self, id: &str) -> bool {
        self.recent.lock().map(|mut r| r.first(id)).unwrap_or(true)
    }

    /// Forgets an event id, so Slack's redelivery of an event that could not be queued is
    /// taken.
    pub fn forget(&self, id: &str) {
        if let Ok(mut r) = self.recent.lock() {
            r.set.remove(id);
        }
    }

    /// An Events API callback (from either transport) as a chat event, if it is one.
    pub fn push_event(&self, cb: &SlackPushEventCallback) -> Option<ChatEvent> {
        if self.bot_user_id().is_none()
            && let Some(a) = cb
                .authorizations
                .as_ref()
                .and_then(|a| a.iter().find(|a| a.is_bot.unwrap_or(true)))
        {
            self.set_identity(BotIdentity {
                user_id: a.user_id.0.clone(),
                bot_id: None,
            });
        }
        if !self.first_time(&cb.event_id.0) {
            debug!(event_id = %cb.event_id.0, "slack event redelivered; already handled");
            return None;
        }
        match &cb.event {
            SlackEventCallbackBody::AppMention(m) => self.mention(m),
            SlackEventCallbackBody::Message(m) => self.message(m),
            SlackEventCallbackBody::Unknown(v) => {
                let kind = v.get("type").and_then(|t| t.as_str()).unwrap_or("?");
                debug!(kind, "slack event of an unknown or malformed type ignored");
                None
            }
            _ => {
                debug!("slack event ignored");
                None
            }
        }
    }

    fn mention(&self, m: &SlackAppMentionEvent) -> Option<ChatEvent> {
        if m.edited.is_some() {
            return None;
        }
        let channel = m.channel.0.clone();
        let ts = m.origin.ts.0.clone();
        let text = m.content.text.as_deref().unwrap_or_default();
        Some(ChatEvent::Message(Inbound {
            platform: PLATFORM.into(),
            thread: thread_of(&channel, &ts, m.origin.thread_ts.as_ref()),
            message: message_ref(&channel, &ts),
            user: user(&m.user.0, None),
            text: self.strip_mention(text),
            mentioned: true,
            channel,
        }))
    }

    fn message(&self, m: &SlackMessageEvent) -> Option<ChatEvent> {
        let by_person = m.subtype.is_none()
            || matches!(m.subtype, Some(SlackMessageEventType::ThreadBroadcast));
        if !by_person || m.sender.bot_id.is_some() {
            return None;
        }
        let me = self.bot_user_id();
        let author = m.sender.user.as_ref()?.0.clone();
        if me.as_deref() == Some(author.as_str()) {
            return None;
        }
        let channel = m.origin.channel.as_ref()?.0.clone();
        let ts = m.origin.ts.0.clone();
        let text = m
            .content
            .as_ref()
            .and_then(|c| c.text.as_deref())
            .unwrap_or_default();
        if let Some(me) = &me
            && text.contains(&format!("<@{me}"))
        {
            return None; // the app_mention event carries it
        }
        let direct = matches!(m.origin.channel_type.as_ref(), Some(t) if t.0 == "im");
        let thread = thread_of(&channel, &ts, m.origin.thread_ts.as_ref());
        if thread.is_none() && !direct {
            return None; // channel chatter that is neither for us nor in a thread
        }
        Some(ChatEvent::Message(Inbound {
            platform: PLATFORM.into(),
            thread,
            message: message_ref(&channel, &ts),
            user: user(&author, None),
            text: self.strip_mention(text),
            mentioned: direct,
            channel,
        }))
    }

    /// A `block_actions` payload as clicks (one per action; Slack sends one per button press).
    pub fn interaction(&self, ev: &SlackInteractionEvent) -> Vec<ChatEvent> {
        let SlackInteractionEvent::BlockActions(ev) = ev else {
            debug!("slack interaction other than block_actions ignored");
            return Vec::new();
        };
        if !self.first_time(&ev.trigger_id.0) {
            debug!(trigger_id = %ev.trigger_id.0, "slack click redelivered; already handled");
            return Vec::new();
        }
        let SlackInteractionActionContainer::Message(container) = &ev.container else {
            debug!("slack block_actions outside a message ignored");
            return Vec::new();
        };
        let channel = ev
            .channel
            .as_ref()
            .map(|c| c.id.0.clone())
            .or_else(|| container.channel_id.as_ref().map(|c| c.0.clone()));
        let (Some(channel), Some(who)) = (channel, ev.user.as_ref()) else {
            debug!("slack block_actions without channel or user ignored");
            return Vec::new();
        };
        let ts = container.message_ts.0.clone();
        // Where the private answer goes: the clicked message's thread, if it is in one.
        let thread_ts = ev
            .message
            .as_ref()
            .and_then(|m| m.origin.thread_ts.as_ref())
            .filter(|t| t.0 != ts)
            .map(|t| t.0.clone())
            .unwrap_or_default();
        let name = who.username.clone().or_else(|| who.name.clone());
        ev.actions
            .iter()
            .flatten()
            .map(|a| {
                ChatEvent::Click(Click {
                    platform: PLATFORM.into(),
                    channel: channel.clone(),
                    message: message_ref(&channel, &ts),
                    user: user(&who.id.0, name.clone()),
                    action: a.action_id.0.clone(),
                    token: thread_ts.clone(),
                })
            })
            .collect()
    }

    /// The text without the bot's mention (or, before the bot knows its id, without the
    /// leading mention), with Slack's escapes undone.
    fn strip_mention(&self, text: &str) -> String {
        let stripped = match self.bot_user_id() {
            Some(me) => remove_mentions_of(text, &me),
            None => match text.trim_start().strip_prefix("<@") {
                Some(rest) => rest.split_once('>').map_or(text, |(_, r)| r).to_string(),
                None => text.to_string(),
            },
        };
        unescape(stripped.trim())
    }
}

fn remove_mentions_of(text: &str, me: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let open = format!("<@{me}");
    while let Some(at) = rest.find(&open) {
        let after = &rest[at + open.len()..];
        // `<@U1>` or `<@U1|name>`, not `<@U12>`.
        if let Some(end) = after.find('>')
            && (end == 0 || after.starts_with('|'))
        {
            out.push_str(&rest[..at]);
            rest = &after[end + 1..];
            // `hi <@U1> there` -> `hi there`, not `hi  there`.
            if out.is_empty() || out.ends_with(' ') {
                rest = rest.strip_prefix(' ').unwrap_or(rest);
            }
        } else {
            out.push_str(&rest[..at + open.len()]);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Undoes Slack's escaping of `&`, `<` and `>`.
pub fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn thread_of(channel: &str, ts: &str, thread_ts: Option<&SlackTs>) -> Option<ThreadRef> {
    thread_ts
        .filter(|t| t.0 != ts && !t.0.is_empty())
        .map(|t| ThreadRef {
            platform: PLATFORM.into(),
            channel: channel.to_string(),
            id: t.0.clone(),
        })
}

fn message_ref(channel: &str, ts: &str) -> MessageRef {
    MessageRef {
        platform: PLATFORM.into(),
        channel: channel.to_string(),
        id: ts.to_string(),
    }
}

fn user(id: &str, name: Option<String>) -> ChatUser {
    ChatUser {
        platform: PLATFORM.into(),
        id: id.to_string(),
        name,
        groups: Vec::new(),
    }
}

#[cfg(test)]
mod tests;
