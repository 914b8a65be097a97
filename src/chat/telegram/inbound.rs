//! Telegram updates in, [`ChatEvent`]s out — the same for long polling and the webhook.
//!
//! - a text message that mentions the bot (`@botname`, a text mention of it, or a
//!   `/command@botname`), or any text message in a private chat -> a message with
//!   `mentioned: true`, the mention removed;
//! - a text message in one of the bot's threads without a mention (a reply to one of its
//!   messages, a reply in a reply chain it wrote in, a message in a forum topic) -> a message
//!   with `mentioned: false`. With privacy mode on (BotFather's default) Telegram only sends
//!   the bot replies to its own messages, mentions and commands, so "reply to the bot's
//!   message" is how people answer it;
//! - a callback query (a button click) -> a click; its query id is the token to answer it.
//!
//! Threads: a forum topic is `topic:<message_thread_id>`; a reply chain is the id of its root
//! message. Supergroups tell the root in `message_thread_id`; elsewhere the root is looked up
//! from the messages seen and sent (Telegram does not nest `reply_to_message`), falling back to
//! the message replied to. Everything else (bots, edits, joins, chatter) is ignored, and an
//! update id seen before (a webhook retry) is dropped.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, RwLock};

use teloxide::types::{
    CallbackQuery, Chat, ChatKind, Me, Message as TgMessage, MessageEntityKind, PublicChatKind,
    Update, UpdateKind, User,
};
use tracing::debug;

use crate::chat::event::{ChatEvent, ChatUser, Click, Inbound};
use crate::chat::platform::{MessageRef, ThreadRef};

pub const PLATFORM: &str = "telegram";

/// How many update ids, message-to-thread links, own messages and forums are remembered.
const RECENT: usize = 4096;

/// The thread id of a forum topic.
pub fn topic_id(thread: i32) -> String {
    format!("topic:{thread}")
}

/// What an update asks of Lookout.
// One lives per update for a moment, then the event moves on: boxing would only add a copy.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Translated {
    Event(ChatEvent),
    /// A click Lookout cannot use (no data, or on a message it cannot see): answer it with
    /// this query id so the button stops spinning.
    AnswerOnly(String),
    Nothing,
}

/// Who the bot is, from `getMe` (or the configured username until then).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub id: Option<u64>,
    pub username: String,
}

/// Translates updates; knows the bot's identity once set, and remembers enough about recent
/// messages to place replies in their threads.
#[derive(Default)]
pub struct Translator {
    me: RwLock<Option<Identity>>,
    memory: Mutex<Memory>,
}

/// Bounded memories, oldest forgotten first.
#[derive(Default)]
struct Memory {
    updates: Bounded<u32>,
    /// (chat, message id) -> thread id, for messages in threads.
    thread_of: HashMap<(i64, i32), String>,
    thread_order: VecDeque<(i64, i32)>,
    /// (chat, thread id) of the threads Lookout posted in.
    threads: Bounded<(i64, String)>,
    /// (chat, message id) of Lookout's own top-level messages.
    own: Bounded<(i64, i32)>,
    forums: Bounded<i64>,
}

struct Bounded<T> {
    order: VecDeque<T>,
    set: HashSet<T>,
}

impl<T> Default for Bounded<T> {
    fn default() -> Self {
        Self {
            order: VecDeque::new(),
            set: HashSet::new(),
        }
    }
}

impl<T: std::hash::Hash + Eq + Clone> Bounded<T> {
    /// True when `v` was not there yet.
    fn insert(&mut self, v: T) -> bool {
        if !self.set.insert(v.clone()) {
            return false;
        }
        self.order.push_back(v);
        if self.order.len() > RECENT
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }

    fn contains(&self, v: &T) -> bool {
        self.set.contains(v)
    }

    fn remove(&mut self, v: &T) {
        self.set.remove(v);
    }
}

impl Translator {
    /// A translator that knows the configured username before `getMe` answers.
    pub fn new(username: Option<&str>) -> Self {
        Self {
            me: RwLock::new(username.map(|u| Identity {
                id: None,
                username: u.to_string(),
            })),
            memory: Mutex::default(),
        }
    }

    pub fn set_identity(&self, me: &Me) {
        if let Ok(mut guard) = self.me.write() {
            *guard = Some(Identity {
                id: Some(me.id.0),
                username: me.username().to_string(),
            });
        }
    }

    pub fn identity(&self) -> Option<Identity> {
        self.me.read().ok().and_then(|g| g.clone())
    }

    /// Whether `getMe` answered (replies to the bot are recognised by its id).
    pub fn ready(&self) -> bool {
        self.identity().is_some_and(|i| i.id.is_some())
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.memory.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets an update id, so its redelivery (after the event queue was full) is taken.
    pub fn forget(&self, update_id: u32) {
        self.memory().updates.remove(&update_id);
    }

    /// Records a message Lookout sent: where it is (its thread, if any), and what the chat is.
    pub fn sent(&self, message: &TgMessage, thread: Option<&str>) {
        let chat = message.chat.id.0;
        let mut m = self.memory();
        if is_forum(&message.chat) {
            m.forums.insert(chat);
        }
        match thread {
            Some(t) => {
                link(&mut m, chat, message.id.0, t);
                m.threads.insert((chat, t.to_string()));
            }
            None => {
                m.own.insert((chat, message.id.0));
            }
        }
    }

    /// Records a thread Lookout opened.
    pub fn opened(&self, chat: i64, thread: &str) {
        self.memory().threads.insert((chat, thread.to_string()));
    }

    /// Whether `chat` is a forum (learnt from messages in it).
    pub fn is_forum(&self, chat: i64) -> bool {
        self.memory().forums.contains(&chat)
    }

    /// Whether `message` in `chat` is one of Lookout's own top-level messages.
    pub fn is_own(&self, chat: i64, message: i32) -> bool {
        self.memory().own.contains(&(chat, message))
    }

    /// An update as what Lookout should do about it.
    pub fn update(&self, update: &Update) -> Translated {
        if !self.memory().updates.insert(update.id.0) {
            debug!(
                update_id = update.id.0,
                "telegram update redelivered; already handled"
            );
            return Translated::Nothing;
        }
        match &update.kind {
            UpdateKind::Message(m) => self
                .message(m)
                .map_or(Translated::Nothing, Translated::Event),
            UpdateKind::CallbackQuery(q) => self.click(q),
            _ => {
                debug!(
                    update_id = update.id.0,
                    "telegram update of another kind ignored"
                );
                Translated::Nothing
            }
        }
    }

    fn message(&self, m: &TgMessage) -> Option<ChatEvent> {
        let from = m.from.as_ref()?;
        let me = self.identity();
        if from.is_bot {
            return None;
        }
        let text = m.text()?;
        let chat = m.chat.id.0;
        if is_forum(&m.chat) {
            self.memory().forums.insert(chat);
        }
        let thread = self.thread_of(m);
        if let Some(t) = &thread {
            link(&mut self.memory(), chat, m.id.0, t);
        }
        let (mentioned, stripped) = match &me {
            Some(me) => strip_mention(m, text, me),
            None => (false, text.to_string()),
        };
        let private = m.chat.is_private();
        if !mentioned && !private {
            let to_bot = m
                .reply_to_message()
                .and_then(|r| r.from.as_ref())
                .zip(me.as_ref().and_then(|me| me.id))
                .is_some_and(|(author, id)| author.id.0 == id);
            let known = thread
                .as_ref()
                .is_some_and(|t| self.memory().threads.contains(&(chat, t.clone())));
            if !(to_bot || known) {
                return None; // group chatter that is neither for the bot nor in its threads
            }
        }
        let channel = chat.to_string();
        Some(ChatEvent::Message(Inbound {
            platform: PLATFORM.into(),
            thread: thread.map(|id| ThreadRef {
                platform: PLATFORM.into(),
                channel: channel.clone(),
                id,
            }),
            message: message_ref(&channel, m.id.0),
            user: user(from),
            text: stripped,
            mentioned: mentioned || private,
            channel,
        }))
    }

    fn click(&self, q: &CallbackQuery) -> Translated {
        let (Some(data), Some(message)) = (q.data.as_ref(), q.message.as_ref()) else {
            debug!(query = %q.id, "telegram callback query without data or message; answered");
            return Translated::AnswerOnly(q.id.0.clone());
        };
        let channel = message.chat().id.0.to_string();
        Translated::Event(ChatEvent::Click(Click {
            platform: PLATFORM.into(),
            message: message_ref(&channel, message.id().0),
            channel,
            user: user(&q.from),
            action: data.clone(),
            token: q.id.0.clone(),
        }))
    }

    fn thread_of(&self, m: &TgMessage) -> Option<String> {
        if m.is_topic_message
            && let Some(t) = m.thread_id
        {
            return Some(topic_id(t.0.0));
        }
        // In supergroups, replies carry the root of their reply chain.
        if let Some(t) = m.thread_id {
            return Some(t.0.0.to_string());
        }
        let parent = m.reply_to_message()?;
        let known = self
            .memory()
            .thread_of
            .get(&(m.chat.id.0, parent.id.0))
            .cloned();
        Some(known.unwrap_or_else(|| parent.id.0.to_string()))
    }
}

fn link(m: &mut Memory, chat: i64, message: i32, thread: &str) {
    if m.thread_of
        .insert((chat, message), thread.to_string())
        .is_none()
    {
        m.thread_order.push_back((chat, message));
    }
    if m.thread_order.len() > RECENT
        && let Some(old) = m.thread_order.pop_front()
    {
        m.thread_of.remove(&old);
    }
}

fn is_forum(chat: &Chat) -> bool {
    matches!(
        &chat.kind,
        ChatKind::Public(p) if matches!(&p.kind, PublicChatKind::Supergroup(s) if s.is_forum)
    )
}

/// Whether `m` is addressed to the bot, and its text without that address: `@botname`
/// anywhere, a text mention of the bot, or a leading `/command` (for this bot).
fn strip_mention(m: &TgMessage, text: &str, me: &Identity) -> (bool, String) {
    let handle = format!("@{}", me.username);
    let mut cut: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    for e in m.parse_entities().unwrap_or_default() {
        match e.kind() {
            MessageEntityKind::Mention if e.text().eq_ignore_ascii_case(&handle) => {
                cut.push((e.range(), String::new()));
            }
            MessageEntityKind::TextMention { user } if Some(user.id.0) == me.id => {
                cut.push((e.range(), String::new()));
            }
            MessageEntityKind::BotCommand if e.start() == 0 => {
                let command = e.text().trim_start_matches('/');
                let (name, target) = command.split_once('@').unwrap_or((command, ""));
                if target.is_empty() || target.eq_ignore_ascii_case(&me.username) {
                    cut.push((e.range(), name.to_string()));
                }
            }
            _ => {}
        }
    }
    if cut.is_empty() {
        return (false, text.trim().to_string());
    }
    let mut out = String::new();
    let mut at = 0;
    for (range, replacement) in cut {
        if range.start < at || range.end > text.len() {
            continue;
        }
        out.push_str(&text[at..range.start]);
        out.push_str(&replacement);
        at = range.end;
    }
    out.push_str(&text[at..]);
    (true, collapse_spaces(out.trim()))
}

/// `hi @bot there` without the mention is `hi there`, not `hi  there`; newlines stay.
fn collapse_spaces(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == ' ' && out.ends_with(' ') {
            continue;
        }
        out.push(c);
    }
    out
}

fn message_ref(channel: &str, id: i32) -> MessageRef {
    MessageRef {
        platform: PLATFORM.into(),
        channel: channel.to_string(),
        id: id.to_string(),
    }
}

fn user(u: &User) -> ChatUser {
    ChatUser {
        platform: PLATFORM.into(),
        id: u.id.0.to_string(),
        name: Some(
            u.username
                .as_ref()
                .map(|n| format!("@{n}"))
                .unwrap_or_else(|| u.full_name()),
        ),
        groups: Vec::new(),
    }
}

#[cfg(test)]
mod tests;
