//! The one trait every chat platform implements. Adapters translate between the platform and
//! Lookout's neutral model; what the bot does lives elsewhere, once.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::event::{ChatEvent, Click};
use super::message::Message;

/// A message as the platform knows it: where it is and its id (a Slack `ts`, a Discord or
/// Telegram message id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MessageRef {
    pub platform: String,
    pub channel: String,
    pub id: String,
}

/// Where a conversation about a message continues: a Slack thread (`ts` of the parent), a
/// Discord thread channel, a Telegram reply chain or forum topic. Opaque outside the adapter
/// except as a key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ThreadRef {
    pub platform: String,
    /// The channel the thread belongs to (the parent's channel).
    pub channel: String,
    /// The platform's thread id.
    pub id: String,
}

impl ThreadRef {
    /// `platform:channel:id`, for store keys.
    pub fn key(&self) -> String {
        format!("{}:{}:{}", self.platform, self.channel, self.id)
    }
}

/// What a platform allows, used by the neutral fitting (`chat::fit`) and the outbound queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Longest text of one block (Slack section 3000, Discord embed 4096, Telegram 4096).
    pub max_block_chars: usize,
    /// Longest whole message text where the platform limits it.
    pub max_message_chars: usize,
    /// Most blocks in one message.
    pub max_blocks: usize,
    /// Most buttons in one message.
    pub max_buttons: usize,
    /// Longest button label.
    pub max_button_label: usize,
    /// Longest action id in bytes (Telegram callback data: 64).
    pub max_action_bytes: usize,
    /// Minimum spacing of messages to one channel (Slack about 1/s).
    pub min_interval: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_block_chars: 3000,
            max_message_chars: 40_000,
            max_blocks: 50,
            max_buttons: 5,
            max_button_label: 75,
            max_action_bytes: 255,
            min_interval: Duration::from_millis(1000),
        }
    }
}

/// Why a send did not go through, as the outbound queue needs to know it.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SendError {
    /// Told to slow down; retry after this long (from Retry-After / retry_after).
    #[error("rate limited; retry after {0:?}")]
    RateLimited(Duration),
    /// Worth retrying with backoff: network errors, 5xx, timeouts.
    #[error("temporary failure: {0}")]
    Transient(String),
    /// Will never work as is: channel not found, bot not in channel, invalid auth, message
    /// gone. Goes to the dead-letter list.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

/// A chat platform. Sends are called by the outbound queue (ordered and rate-limited per
/// channel); `run` delivers inbound events until shutdown.
#[async_trait]
pub trait ChatPlatform: Send + Sync + 'static {
    /// `slack`, `discord`, `telegram`, `console`.
    fn name(&self) -> &'static str;

    fn limits(&self) -> &Limits;

    /// Posts `message` to `channel`, in `thread` if given. `key` is the idempotency key of
    /// the logical message ("card of incident X"); platforms that can record it (Slack
    /// message metadata, a Discord nonce) do, so [`ChatPlatform::find_sent`] can find it.
    async fn send(
        &self,
        channel: &str,
        thread: Option<&ThreadRef>,
        message: &Message,
        key: &str,
    ) -> Result<MessageRef, SendError>;

    /// Replaces the content of a message Lookout posted.
    async fn edit(&self, message_ref: &MessageRef, message: &Message) -> Result<(), SendError>;

    /// Where replies to `parent` go (creating a Discord thread or a Telegram topic if needed).
    async fn open_thread(&self, parent: &MessageRef, title: &str) -> Result<ThreadRef, SendError>;

    /// Answers a button click. Every click is acknowledged exactly once; `private_note`, if
    /// given, is shown to the clicking user only (Slack ephemeral message, Discord ephemeral
    /// follow-up, Telegram callback answer).
    async fn acknowledge(&self, click: &Click, private_note: Option<&str>)
    -> Result<(), SendError>;

    /// After a crash between sending and recording: the message with idempotency key `key`
    /// sent to `channel` since `since`, if the platform can tell. Default: cannot.
    async fn find_sent(
        &self,
        channel: &str,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<MessageRef>, SendError> {
        let _ = (channel, key, since);
        Ok(None)
    }

    /// Receives events (mentions, thread replies, clicks) and forwards them until `shutdown`.
    /// Must survive the platform being down: retry with backoff, never panic.
    async fn run(self: Arc<Self>, events: mpsc::Sender<ChatEvent>, shutdown: CancellationToken);

    /// A link that opens `message` in the platform's client, when it has one.
    fn permalink(&self, message: &MessageRef) -> Option<String> {
        let _ = message;
        None
    }

    /// HTTP routes the platform needs on Lookout's server (Slack Events API, Telegram
    /// webhook), delivering into `events`. Default: none.
    fn routes(self: Arc<Self>, events: mpsc::Sender<ChatEvent>) -> Option<axum::Router> {
        let _ = events;
        None
    }
}

/// A shared platform.
pub type SharedPlatform = Arc<dyn ChatPlatform>;
