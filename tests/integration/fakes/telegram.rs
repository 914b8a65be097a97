//! A strict fake Telegram Bot API for driving teloxide unmodified: `/bot<token>/<method>` with
//! method names matched case-insensitively, JSON, form and query arguments, answers in
//! Telegram's shapes (`{"ok":true,"result":..}` / `{"ok":false,"error_code":..,
//! "description":..}`).
//!
//! Strict like Telegram: a wrong token gets 401 `Unauthorized`; unknown chats `Bad Request:
//! chat not found`; HTML that does not parse `can't parse entities`; more than 4096 visible
//! characters `message is too long`; callback data over 64 bytes `BUTTON_DATA_INVALID`; an
//! edit that changes nothing `message is not modified`; more than 20 messages a minute to one
//! group a 429 with `parameters.retry_after`; `getUpdates` while a webhook is set, or a second
//! poller, a 409 `Conflict`. Privacy mode is on (BotFather's default): in groups the bot only
//! receives mentions, commands and replies to its own messages.
//!
//! Tests play the humans with [`FakeTelegram::mention`], [`FakeTelegram::reply`] and
//! [`FakeTelegram::click`]; updates go to `getUpdates` or, once `setWebhook` was called, are
//! POSTed to the webhook with its secret token.

mod api;
mod args;
mod html;
mod updates;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

pub const BOT_ID: i64 = 7_000_000_001;
pub const BOT_USERNAME: &str = "lookout_test_bot";
/// A supergroup the bot is in (reply chains are its threads).
pub const ALERTS: i64 = -1_001_000_000_001;
/// A forum supergroup the bot is in (a topic per incident).
pub const FORUM: i64 = -1_001_000_000_002;
/// A supergroup the bot was removed from.
pub const KICKED: i64 = -1_001_000_000_003;
/// A chat that does not exist.
pub const MISSING: i64 = -1_001_999_999_999;

/// A refusal injected into the next `sendMessage` / `editMessageText` calls.
#[derive(Debug, Clone)]
pub enum Fault {
    /// 429 with `parameters.retry_after` in whole seconds.
    RateLimited(u64),
    /// An error code with its description (`502`, `Bad Gateway`).
    Error(u16, &'static str),
}

/// One message as the fake stores it.
#[derive(Debug, Clone)]
pub struct Stored {
    pub chat: i64,
    pub id: i32,
    /// The author's user id (the bot's for the bot's messages).
    pub from: i64,
    /// The thread: `topic:<id>` in a forum topic, else the id of the reply chain's root.
    pub thread: Option<String>,
    pub reply_to: Option<i32>,
    pub topic: Option<i32>,
    /// The HTML as sent (the bot's messages), or the text (people's).
    pub html: String,
    /// What a person reads.
    pub text: String,
    pub entities: Vec<Value>,
    /// Inline keyboard: (label, callback data).
    pub buttons: Vec<(String, String)>,
    pub edits: u32,
    /// A forum topic's creation (service message).
    pub topic_created: Option<String>,
    /// When the fake accepted it (pacing measurements).
    pub received: Instant,
}

impl Stored {
    pub fn by_bot(&self) -> bool {
        self.from == BOT_ID
    }
}

/// An answer to a callback query.
#[derive(Debug, Clone)]
pub struct Answer {
    pub query: String,
    pub user: i64,
    pub text: Option<String>,
    pub show_alert: bool,
}

pub(crate) struct Chat {
    pub id: i64,
    pub title: String,
    pub forum: bool,
    pub member: bool,
}

pub(crate) struct State {
    pub token: String,
    /// Every answered chat ids' kind: groups are fixed, private chats are any positive id.
    pub chats: Vec<Chat>,
    pub messages: Vec<Stored>,
    pub next_message: HashMap<i64, i32>,
    pub answers: Vec<Answer>,
    /// Open callback queries: id -> user.
    pub queries: HashMap<String, i64>,
    /// Every call by method (lower case), including refused ones.
    pub calls: Vec<String>,
    pub faults: VecDeque<Fault>,
    /// Everything answers 502 (an outage of the API).
    pub down: bool,
    /// Updates not yet confirmed: (update_id, update).
    pub updates: VecDeque<(i64, Value)>,
    pub next_update: i64,
    /// Bumped by each `getUpdates`: an older poll still waiting is terminated (409).
    pub poll_generation: u64,
    /// (url, secret token) once `setWebhook` was called.
    pub webhook: Option<(String, String)>,
    /// HTTP status of each webhook delivery.
    pub deliveries: Vec<u16>,
    /// Telegram's limit of messages to one group: (count, window).
    pub group_limit: (usize, Duration),
    /// 429s the fake gave for the group limit.
    pub group_refusals: usize,
    pub privacy: bool,
    pub users: HashMap<i64, String>,
}

impl State {
    pub fn chat(&self, id: i64) -> Option<&Chat> {
        self.chats.iter().find(|c| c.id == id)
    }

    pub fn next_message_id(&mut self, chat: i64) -> i32 {
        let n = self.next_message.entry(chat).or_insert(1);
        *n += 1;
        *n
    }

    pub fn message(&self, chat: i64, id: i32) -> Option<&Stored> {
        self.messages.iter().find(|m| m.chat == chat && m.id == id)
    }

    pub fn message_mut(&mut self, chat: i64, id: i32) -> Option<&mut Stored> {
        self.messages
            .iter_mut()
            .find(|m| m.chat == chat && m.id == id)
    }
}

/// The fake. Dropping it stops its server.
pub struct FakeTelegram {
    state: Arc<Mutex<State>>,
    notify: Arc<Notify>,
    /// `http://127.0.0.1:P`, for `api_url`.
    pub api_url: String,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A stable Telegram user id for a person tests name (`alice`), or the id itself (`12345`).
pub fn user_id(name: &str) -> i64 {
    if let Ok(id) = name.parse() {
        return id;
    }
    let h = name.bytes().fold(1_469_598_103u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(16_777_619)
    });
    100_000 + (h % 900_000) as i64
}

impl FakeTelegram {
    pub const TOKEN: &'static str = "123456:FAKE-telegram-bot-token";

    pub async fn start() -> Self {
        let chat = |id, title: &str, forum, member| Chat {
            id,
            title: title.into(),
            forum,
            member,
        };
        let state = Arc::new(Mutex::new(State {
            token: Self::TOKEN.into(),
            chats: vec![
                chat(ALERTS, "k8s-alerts", false, true),
                chat(FORUM, "k8s-incidents", true, true),
                chat(KICKED, "old-alerts", false, false),
            ],
            messages: Vec::new(),
            next_message: HashMap::new(),
            answers: Vec::new(),
            queries: HashMap::new(),
            calls: Vec::new(),
            faults: VecDeque::new(),
            down: false,
            updates: VecDeque::new(),
            next_update: 500_000,
            poll_generation: 0,
            webhook: None,
            deliveries: Vec::new(),
            group_limit: (20, Duration::from_secs(60)),
            group_refusals: 0,
            privacy: true,
            users: HashMap::new(),
        }));
        let notify = Arc::new(Notify::new());
        let (port, server) = api::serve(state.clone(), notify.clone()).await;
        let deliverer = tokio::spawn(updates::deliver(state.clone(), notify.clone()));
        Self {
            state,
            notify,
            api_url: format!("http://127.0.0.1:{port}"),
            tasks: vec![server, deliverer],
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("fake telegram state")
    }

    /// The token the fake accepts from now on.
    pub fn set_token(&self, token: &str) {
        self.state().token = token.into();
    }

    /// Every call answers 502 while `down`.
    pub fn set_down(&self, down: bool) {
        self.state().down = down;
    }

    /// Telegram's per-group message limit, made shorter for a test.
    pub fn set_group_limit(&self, count: usize, window: Duration) {
        self.state().group_limit = (count, window);
    }

    pub fn group_refusals(&self) -> usize {
        self.state().group_refusals
    }

    pub fn fail_next(&self, n: usize, fault: Fault) {
        self.state().faults.extend(std::iter::repeat_n(fault, n));
    }

    pub fn clear_faults(&self) {
        self.state().faults.clear();
    }

    /// Calls of `method` (any case) so far, refused ones included.
    pub fn calls(&self, method: &str) -> usize {
        let m = method.to_ascii_lowercase();
        self.state().calls.iter().filter(|c| **c == m).count()
    }

    /// Messages the bot posted in `chat`, oldest first (forum topic creations excluded).
    pub fn bot_messages(&self, chat: i64) -> Vec<Stored> {
        self.state()
            .messages
            .iter()
            .filter(|m| m.chat == chat && m.by_bot() && m.topic_created.is_none())
            .cloned()
            .collect()
    }

    pub fn message(&self, chat: i64, id: i32) -> Option<Stored> {
        self.state().message(chat, id).cloned()
    }

    /// Forum topics created in `chat`: (thread id, name).
    pub fn topics(&self, chat: i64) -> Vec<(i32, String)> {
        self.state()
            .messages
            .iter()
            .filter(|m| m.chat == chat)
            .filter_map(|m| m.topic_created.clone().map(|n| (m.id, n)))
            .collect()
    }

    /// Callback answers shown to `user`.
    pub fn answers_for(&self, user: i64) -> Vec<Answer> {
        self.state()
            .answers
            .iter()
            .filter(|a| a.user == user)
            .cloned()
            .collect()
    }

    /// The webhook the bot registered: (url, secret token).
    pub fn webhook(&self) -> Option<(String, String)> {
        self.state().webhook.clone()
    }

    /// HTTP statuses of the webhook deliveries so far.
    pub fn deliveries(&self) -> Vec<u16> {
        self.state().deliveries.clone()
    }

    /// Updates not yet confirmed by the bot.
    pub fn pending_updates(&self) -> usize {
        self.state().updates.len()
    }

    /// `user` writes `@bot text` in `chat` (in `thread`, a root message id or `topic:N`).
    /// Returns the message id.
    pub fn mention(&self, chat: i64, thread: Option<&str>, user: &str, text: &str) -> i32 {
        let mention = format!("@{BOT_USERNAME}");
        let full = format!("{mention} {text}");
        let entity = serde_json::json!({"type": "mention", "offset": 0, "length": mention.len()});
        self.post(chat, thread, user, &full, vec![entity])
    }

    /// `user` writes `text` in `thread` without mentioning the bot: a reply to the thread's
    /// root (a reply chain) or a message in the topic.
    pub fn reply(&self, chat: i64, thread: &str, user: &str, text: &str) -> i32 {
        self.post(chat, Some(thread), user, text, Vec::new())
    }

    /// `user` writes `text` in `chat`, neither to the bot nor in a thread.
    pub fn say(&self, chat: i64, user: &str, text: &str) -> i32 {
        self.post(chat, None, user, text, Vec::new())
    }

    /// `user` writes `text` replying to message `to`.
    pub fn reply_to(&self, chat: i64, to: i32, user: &str, text: &str) -> i32 {
        updates::human(
            &mut self.state(),
            &self.notify,
            updates::Human {
                chat,
                place: updates::HumanPlace::ReplyTo(to),
                user,
                text,
                entities: Vec::new(),
            },
        )
    }

    fn post(
        &self,
        chat: i64,
        thread: Option<&str>,
        user: &str,
        text: &str,
        entities: Vec<Value>,
    ) -> i32 {
        let place = match thread {
            None => updates::HumanPlace::Chat,
            Some(t) => match t.strip_prefix("topic:") {
                Some(topic) => updates::HumanPlace::Topic(topic.parse().expect("topic id")),
                None => updates::HumanPlace::ReplyTo(t.parse().expect("message id")),
            },
        };
        updates::human(
            &mut self.state(),
            &self.notify,
            updates::Human {
                chat,
                place,
                user,
                text,
                entities,
            },
        )
    }

    /// `user` clicks the button with `data` on message `id`: a callback query.
    pub fn click(&self, chat: i64, id: i32, user: &str, data: &str) {
        updates::click(&mut self.state(), &self.notify, chat, id, user, data);
    }
}
