//! A strict fake Slack for driving slack-morphism unmodified: the Web API over HTTP
//! (`/api/{method}`, JSON, form and query arguments, Bearer tokens), Socket Mode over a
//! WebSocket, and Events API deliveries with real signatures.
//!
//! Strict like Slack: Block Kit limits (50 blocks, 3000 characters of section text, 2000 per
//! field, 150 of header, 75 of button text, 255-character action ids, 2000-character values)
//! answer `invalid_blocks`; unknown channels `channel_not_found`; channels the bot is not in
//! `not_in_channel`; wrong tokens `invalid_auth`; and so on, with Slack's response shapes.
//!
//! Tests play the humans with [`FakeSlack::mention`], [`FakeSlack::reply`] and
//! [`FakeSlack::click`], which store the message and deliver the events Slack would (an
//! `app_mention` AND a `message` for a mention), and look at what the bot did with
//! [`FakeSlack::bot_messages`], [`FakeSlack::ephemeral_for`] and [`FakeSlack::acks`].

mod blocks;
mod history;
mod people;
mod signed;
mod socket;
mod web;

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::task::JoinHandle;

pub use blocks::read_mrkdwn;
pub use people::event_callback;
pub use signed::{Signature, SignedPoster};

pub const TEAM: &str = "T0LOOKOUT";
pub const APP: &str = "A0LOOKOUT";
pub const BOT_USER: &str = "U0LOOKOUT";
pub const BOT_ID: &str = "B0LOOKOUT";
/// The channel the bot is in.
pub const ALERTS: &str = "C0ALERTS";
pub const ALERTS_NAME: &str = "k8s-alerts";
/// A channel the bot is not a member of.
pub const NOT_IN: &str = "C0NOTIN";
/// An archived channel.
pub const ARCHIVED: &str = "C0ARCHIVED";

/// How long helpers wait for the bot (a socket connection, an ack) before failing the test.
const WAIT: Duration = Duration::from_secs(15);

/// A refusal injected into the next write calls (`chat.postMessage`, `chat.update`,
/// `chat.postEphemeral`).
#[derive(Debug, Clone)]
pub enum Fault {
    /// HTTP 429 with `Retry-After` in whole seconds.
    RateLimited(u64),
    /// An HTTP status with an empty body (a 5xx of Slack's edge).
    Status(u16),
    /// `{"ok":false,"error":code}`.
    Error(&'static str),
}

/// One message as the fake stores it.
#[derive(Debug, Clone)]
pub struct Stored {
    pub channel: String,
    pub ts: String,
    pub thread_ts: Option<String>,
    pub user: String,
    pub bot_id: Option<String>,
    pub text: String,
    pub blocks: Value,
    pub metadata: Option<Value>,
    pub edits: u32,
    pub reply_count: u32,
    pub latest_reply: Option<String>,
    /// When the fake received the post (latency measurements).
    #[allow(dead_code)] // read by benches/chat.rs, which includes these fakes
    pub received: Instant,
}

impl Stored {
    /// What a person reads: the blocks (or the text without blocks), formatting removed.
    pub fn readable(&self) -> String {
        blocks::readable(&self.blocks).unwrap_or_else(|| read_mrkdwn(&self.text))
    }

    /// Buttons: (label, action id).
    pub fn buttons(&self) -> Vec<(String, String)> {
        blocks::buttons(&self.blocks)
    }

    /// The thread it is a reply in (not set on a thread's parent).
    pub fn thread(&self) -> Option<&str> {
        self.thread_ts.as_deref().filter(|t| *t != self.ts)
    }
}

#[derive(Debug, Clone)]
pub struct Ephemeral {
    pub channel: String,
    pub user: String,
    pub thread_ts: Option<String>,
    pub text: String,
}

pub(crate) struct Channel {
    pub id: String,
    pub name: String,
    pub bot_member: bool,
    pub archived: bool,
    pub users: HashSet<String>,
}

/// Where events go: the bot's Socket Mode connections (default), or its HTTP endpoint.
#[derive(Clone)]
pub(crate) enum Sink {
    Socket,
    Http(SignedPoster),
}

pub(crate) struct State {
    pub bot_token: String,
    pub app_token: String,
    pub channels: Vec<Channel>,
    pub messages: Vec<Stored>,
    pub ephemeral: Vec<Ephemeral>,
    /// Every Web API call by method, including refused ones.
    pub calls: Vec<String>,
    pub faults: VecDeque<Fault>,
    last_micros: u128,
    seq: u64,
    pub tickets: HashSet<String>,
    pub connections: Vec<socket::Connection>,
    pub connects: u64,
    pub acks: Vec<Value>,
    pub sink: Sink,
}

impl State {
    /// A fresh, increasing Slack timestamp.
    pub fn next_ts(&mut self) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_micros();
        self.last_micros = now.max(self.last_micros + 1);
        format!(
            "{}.{:06}",
            self.last_micros / 1_000_000,
            self.last_micros % 1_000_000
        )
    }

    pub fn next_id(&mut self, prefix: &str) -> String {
        self.seq += 1;
        format!("{prefix}{:06}", self.seq)
    }

    /// By id, or by `#name` / `name` as Slack accepts for posting.
    pub fn channel(&self, given: &str, by_name: bool) -> Option<&Channel> {
        let name = given.trim_start_matches('#');
        self.channels
            .iter()
            .find(|c| c.id == given || (by_name && c.name == name))
    }

    fn channel_mut(&mut self, id: &str) -> &mut Channel {
        self.channels
            .iter_mut()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("fake slack has no channel {id}"))
    }
}

/// The fake. Dropping it stops its servers.
pub struct FakeSlack {
    state: Arc<Mutex<State>>,
    /// `http://127.0.0.1:P/api`, for `api_url`.
    pub api_url: String,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for FakeSlack {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl FakeSlack {
    pub const BOT_TOKEN: &'static str = "xoxb-fake-bot-token";
    pub const APP_TOKEN: &'static str = "xapp-fake-app-token";

    pub async fn start() -> Self {
        let channel = |id: &str, name: &str, bot_member, archived| Channel {
            id: id.into(),
            name: name.into(),
            bot_member,
            archived,
            users: HashSet::new(),
        };
        let state = Arc::new(Mutex::new(State {
            bot_token: Self::BOT_TOKEN.into(),
            app_token: Self::APP_TOKEN.into(),
            channels: vec![
                channel(ALERTS, ALERTS_NAME, true, false),
                channel(NOT_IN, "random", false, false),
                channel(ARCHIVED, "old-alerts", true, true),
            ],
            messages: Vec::new(),
            ephemeral: Vec::new(),
            calls: Vec::new(),
            faults: VecDeque::new(),
            last_micros: 0,
            seq: 0,
            tickets: HashSet::new(),
            connections: Vec::new(),
            connects: 0,
            acks: Vec::new(),
            sink: Sink::Socket,
        }));
        let (ws_port, ws_task) = socket::serve(state.clone()).await;
        let (http_port, http_task) = web::serve(state.clone(), ws_port).await;
        Self {
            state,
            api_url: format!("http://127.0.0.1:{http_port}/api"),
            tasks: vec![ws_task, http_task],
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("fake slack state")
    }

    /// Adds a channel the bot is a member of (benchmarks use one per sample, so no
    /// per-channel pacing is pending).
    #[allow(dead_code)] // used by benches/chat.rs
    pub fn add_channel(&self, id: &str, name: &str) {
        self.lock().channels.push(Channel {
            id: id.into(),
            name: name.into(),
            bot_member: true,
            archived: false,
            users: HashSet::new(),
        });
    }

    /// Tokens the fake accepts from now on.
    pub fn set_tokens(&self, bot: &str, app: &str) {
        let mut s = self.lock();
        s.bot_token = bot.into();
        s.app_token = app.into();
    }

    /// Deliver events to the bot's Events API endpoint instead of Socket Mode.
    pub fn deliver_over_http(&self, poster: SignedPoster) {
        self.lock().sink = Sink::Http(poster);
    }

    /// The next `n` write calls are refused with `fault`.
    pub fn fail_next(&self, n: usize, fault: Fault) {
        let mut s = self.lock();
        s.faults.extend(std::iter::repeat_n(fault, n));
    }

    /// Forgets faults not yet used.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// How many calls of `method` reached the fake (refused ones included).
    pub fn calls(&self, method: &str) -> usize {
        self.lock().calls.iter().filter(|m| *m == method).count()
    }

    /// Every message of `channel` the bot posted (replies included), oldest first.
    pub fn bot_messages(&self, channel: &str) -> Vec<Stored> {
        self.lock()
            .messages
            .iter()
            .filter(|m| m.channel == channel && m.user == BOT_USER)
            .cloned()
            .collect()
    }

    pub fn message(&self, channel: &str, ts: &str) -> Option<Stored> {
        self.lock()
            .messages
            .iter()
            .find(|m| m.channel == channel && m.ts == ts)
            .cloned()
    }

    /// Ephemeral messages shown to `user`.
    pub fn ephemeral_for(&self, user: &str) -> Vec<Ephemeral> {
        self.lock()
            .ephemeral
            .iter()
            .filter(|e| e.user == user)
            .cloned()
            .collect()
    }

    /// Socket Mode connections open now.
    pub fn connections(&self) -> usize {
        self.lock().connections.len()
    }

    /// Socket Mode connections accepted so far (reconnects count).
    pub fn connects(&self) -> u64 {
        self.lock().connects
    }

    /// Envelope acks the bot sent, in order.
    pub fn acks(&self) -> Vec<Value> {
        self.lock().acks.clone()
    }

    /// Waits until the bot acknowledged `envelope_id`.
    pub async fn wait_ack(&self, envelope_id: &str) {
        let acked = || {
            self.lock()
                .acks
                .iter()
                .any(|a| a["envelope_id"] == envelope_id)
        };
        wait_until(&format!("ack of envelope {envelope_id}"), acked).await;
    }

    /// Waits until at least `n` Socket Mode connections were made.
    pub async fn wait_connects(&self, n: u64) {
        wait_until(&format!("{n} socket mode connections"), || {
            self.connects() >= n
        })
        .await;
    }

    /// Drops every Socket Mode connection without a close frame, as a network failure would.
    pub fn drop_sockets(&self) {
        socket::drop_all(&mut self.lock());
    }

    /// Asks the bot to reconnect, as Slack does before restarting a server.
    pub fn request_refresh(&self) {
        socket::send_to_all(
            &mut self.lock(),
            json!({"type": "disconnect", "reason": "refresh_requested",
                   "debug_info": {"host": "fake-slack"}}),
        );
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
