//! A strict fake Discord for driving serenity unmodified: the REST API under `/api/v10`
//! (messages, threads, interaction callbacks and follow-ups, `gateway/bot`, `users/@me`) and
//! the gateway over a WebSocket (HELLO, IDENTIFY -> READY, heartbeats, RESUME, RECONNECT,
//! dispatches with sequence numbers, replay of what a resumed session missed).
//!
//! Strict like Discord: Invalid Form Body (50035) with Discord's nested error shape for every
//! length limit (content 2000, embed description 4096, title 256, 25 fields of 256/1024, 6000
//! per embed, 5 rows of 5 buttons, custom_id 100, label 80, nonce 25); 50006 for an empty
//! message; 10003 Unknown Channel; 50001 Missing Access; 10008 Unknown Message; 401 for a bad
//! token (and gateway close 4004); 10062 for an interaction answered after 3 s; 40060 for one
//! answered twice; 160004 for a second thread on a message; 429 with `retry_after` (per
//! channel, 5 messages per 5 s, or injected); nonces enforced with `enforce_nonce`.
//!
//! Tests play the people with [`FakeDiscord::mention`], [`FakeDiscord::reply`] and
//! [`FakeDiscord::click`], and look at what the bot did with [`FakeDiscord::bot_messages`],
//! [`FakeDiscord::private_notes`] and [`FakeDiscord::callbacks`].

mod gateway;
mod interactions;
mod limits;
mod payloads;
mod people;
mod rest;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::task::JoinHandle;

pub use payloads::readable;

/// The server (guild) everything happens in.
pub const GUILD: u64 = 1_100_000_000_000_000_001;
/// The bot's user id, and its application's id.
pub const BOT_USER: u64 = 1_100_000_000_000_000_002;
pub const APPLICATION: u64 = 1_100_000_000_000_000_003;
/// A text channel the bot may post in.
pub const ALERTS: u64 = 1_200_000_000_000_000_001;
/// A second one (tests that must not share pacing).
pub const OPS: u64 = 1_200_000_000_000_000_002;
/// A channel the bot cannot see (403, Missing Access).
pub const HIDDEN: u64 = 1_200_000_000_000_000_003;
/// The id of a channel that does not exist (404, Unknown Channel).
pub const NO_CHANNEL: u64 = 1_299_999_999_999_999_999;

/// How long helpers wait for the bot before failing the test.
const WAIT: Duration = Duration::from_secs(20);

/// A refusal injected into the next message writes (create, edit, follow-up).
#[derive(Debug, Clone)]
pub enum Fault {
    /// 429 with this `retry_after` (seconds) in the body; `global` as Discord says it.
    RateLimited { retry_after: f64, global: bool },
    /// An HTTP status with a plain body (an outage at Discord's edge).
    Status(u16),
}

/// A message as the fake stores it.
#[derive(Debug, Clone)]
pub struct Stored {
    pub id: u64,
    /// Where it is: a channel, or a thread (a channel of its own).
    pub channel: u64,
    pub author: u64,
    pub content: String,
    pub embeds: Value,
    pub components: Value,
    pub nonce: Option<String>,
    pub mentions: Vec<u64>,
    /// The message it replies to.
    pub reference: Option<u64>,
    pub edits: u32,
    pub at: Instant,
}

impl Stored {
    /// What a person reads: content, embed titles, descriptions and fields, formatting removed.
    pub fn readable(&self) -> String {
        readable(&self.content, &self.embeds)
    }

    /// Buttons: (label, custom_id).
    pub fn buttons(&self) -> Vec<(String, String)> {
        payloads::buttons(&self.components)
    }
}

/// A channel or thread.
#[derive(Debug, Clone)]
pub struct Channel {
    pub id: u64,
    pub name: String,
    /// Set for a thread: the channel it is in.
    pub parent: Option<u64>,
    /// The bot can see it.
    pub visible: bool,
}

/// A private (ephemeral) note shown to one person.
#[derive(Debug, Clone)]
pub struct Note {
    pub user: u64,
    pub channel: u64,
    pub text: String,
}

/// A click and how the bot answered it.
#[derive(Debug, Clone)]
pub struct Callback {
    pub interaction: u64,
    pub user: u64,
    pub message: u64,
    /// The callback type the bot sent (6: deferred update, 7: update message, ...).
    pub kind: Option<u64>,
    /// From the click's dispatch to the callback.
    pub after: Option<Duration>,
}

pub(crate) struct Interaction {
    pub callback: Callback,
    pub token: String,
    pub channel: u64,
    pub sent: Instant,
}

pub(crate) struct State {
    pub token: String,
    /// Whether privileged intents (Message Content) are enabled for the application.
    pub privileged_intents: bool,
    pub channels: Vec<Channel>,
    pub messages: Vec<Stored>,
    pub notes: Vec<Note>,
    pub interactions: HashMap<u64, Interaction>,
    /// Role ids of the server's members.
    pub roles: HashMap<u64, Vec<u64>>,
    /// Every REST call by name (`create message`, ...), refused ones included.
    pub calls: Vec<String>,
    pub faults: VecDeque<Fault>,
    /// Message creates per channel, for Discord's 5 per 5 s.
    pub recent_creates: HashMap<u64, VecDeque<Instant>>,
    pub per_channel_limit: usize,
    pub nonce_window: Duration,
    pub next_id: u64,
    pub gateway: gateway::Gateway,
}

impl State {
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn channel(&self, id: u64) -> Option<&Channel> {
        self.channels.iter().find(|c| c.id == id)
    }

    pub fn message(&self, id: u64) -> Option<&Stored> {
        self.messages.iter().find(|m| m.id == id)
    }

    /// The channel a channel or thread belongs to.
    pub fn root_of(&self, channel: u64) -> u64 {
        self.channel(channel)
            .and_then(|c| c.parent)
            .unwrap_or(channel)
    }
}

/// The fake. Dropping it stops its servers.
pub struct FakeDiscord {
    state: Arc<Mutex<State>>,
    /// `http://127.0.0.1:P`, for `api_url`.
    pub api_url: String,
    /// `ws://127.0.0.1:P`, for `gateway_url` (also what `GET /gateway/bot` says).
    pub gateway_url: String,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl FakeDiscord {
    pub const TOKEN: &'static str = "MTEwMDAwMDAwMDAwMDAwMDAwMg.fake.bot-token";

    pub async fn start() -> Self {
        let channel = |id, name: &str, visible| Channel {
            id,
            name: name.into(),
            parent: None,
            visible,
        };
        let state = Arc::new(Mutex::new(State {
            token: Self::TOKEN.into(),
            privileged_intents: true,
            channels: vec![
                channel(ALERTS, "k8s-alerts", true),
                channel(OPS, "ops", true),
                channel(HIDDEN, "private", false),
            ],
            messages: Vec::new(),
            notes: Vec::new(),
            interactions: HashMap::new(),
            roles: HashMap::new(),
            calls: Vec::new(),
            faults: VecDeque::new(),
            recent_creates: HashMap::new(),
            per_channel_limit: 5,
            nonce_window: Duration::from_secs(300),
            next_id: 1_300_000_000_000_000_000,
            gateway: gateway::Gateway::new(1500),
        }));
        let (ws_port, ws_task) = gateway::serve(state.clone()).await;
        let gateway_url = format!("ws://127.0.0.1:{ws_port}");
        let (http_port, http_task) = rest::serve(state.clone(), gateway_url.clone()).await;
        Self {
            state,
            api_url: format!("http://127.0.0.1:{http_port}"),
            gateway_url,
            tasks: vec![ws_task, http_task],
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("fake discord state")
    }

    /// The token the fake accepts from now on.
    pub fn set_token(&self, token: &str) {
        self.lock().token = token.into();
    }

    /// Whether the application may use privileged intents (else IDENTIFY closes with 4014).
    pub fn allow_privileged_intents(&self, allowed: bool) {
        self.lock().privileged_intents = allowed;
    }

    /// Gives a member of the server these roles (clicks and messages carry them).
    pub fn set_roles(&self, user: u64, roles: &[u64]) {
        self.lock().roles.insert(user, roles.to_vec());
    }

    /// The next `n` message writes are refused with `fault`.
    pub fn fail_next(&self, n: usize, fault: Fault) {
        self.lock().faults.extend(std::iter::repeat_n(fault, n));
    }

    /// Forgets faults not yet used.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// How many REST calls named `name` reached the fake (refused ones included).
    pub fn calls(&self, name: &str) -> usize {
        self.lock().calls.iter().filter(|c| *c == name).count()
    }

    /// Every message the bot posted in `channel` or its threads, oldest first.
    pub fn bot_messages(&self, channel: u64) -> Vec<Stored> {
        let s = self.lock();
        s.messages
            .iter()
            .filter(|m| m.author == BOT_USER && s.root_of(m.channel) == channel)
            .cloned()
            .collect()
    }

    pub fn message(&self, id: u64) -> Option<Stored> {
        self.lock().message(id).cloned()
    }

    /// The thread a channel id names, with its parent, if it is one.
    pub fn thread_parent(&self, id: u64) -> Option<u64> {
        self.lock().channel(id).and_then(|c| c.parent)
    }

    /// Private notes shown to `user`.
    pub fn private_notes(&self, user: u64) -> Vec<Note> {
        let s = self.lock();
        s.notes.iter().filter(|n| n.user == user).cloned().collect()
    }

    /// Every click so far and how it was answered.
    pub fn callbacks(&self) -> Vec<Callback> {
        let s = self.lock();
        let mut all: Vec<Callback> = s
            .interactions
            .values()
            .map(|i| i.callback.clone())
            .collect();
        all.sort_by_key(|c| c.interaction);
        all
    }

    /// Sessions identified (READY sent) and resumed so far.
    pub fn identifies(&self) -> u64 {
        self.lock().gateway.identifies
    }

    pub fn resumes(&self) -> u64 {
        self.lock().gateway.resumes
    }

    /// Waits until the bot has a live, identified gateway session.
    pub async fn wait_ready(&self) {
        wait_until("the bot's gateway session", || self.lock().gateway.live()).await;
    }

    /// Drops every gateway connection without a close frame, as a network failure would.
    pub fn drop_gateway(&self) {
        self.lock().gateway.drop_all();
    }

    /// Expires the bot's session and drops its connection: its RESUME is refused (op 9) and it
    /// must identify again.
    pub fn expire_session(&self) {
        self.lock().gateway.expire_session();
    }

    /// Asks the bot to reconnect and resume (op 7), as Discord does before moving a session.
    pub fn request_reconnect(&self) {
        self.lock().gateway.reconnect_all();
    }
}

/// Polls `cond` until it holds; fails the test after [`WAIT`].
pub async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
