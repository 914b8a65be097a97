//! What the outbound queue persists before sending: an intent per logical message, keyed by
//! its idempotency key, and the record of a delivered message.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::chat::message::Message;
use crate::chat::platform::{MessageRef, ThreadRef};

/// Store collections.
pub const OUTBOX: &str = "chat-outbox";
pub const SENT: &str = "chat-sent";
pub const DEAD: &str = "chat-dead";

/// One message to send or edit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    /// The idempotency key of the logical message (`card:prod/INC-7:slack:#alerts`); for an
    /// edit, `edit:` and the key of the message it edits.
    pub key: String,
    /// Order of arrival; a restart replays intents in this order.
    pub seq: u64,
    pub platform: String,
    pub channel: String,
    pub op: Op,
    pub created_at: DateTime<Utc>,
    /// When the event this message announces happened, for the post-latency histogram.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    Post {
        message: Message,
        /// Post in the thread of the message with this key (its card), if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        thread_of: Option<String>,
        /// Post in this thread (a conversation the user started).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        thread: Option<ThreadRef>,
        /// After posting, open a thread under it with this title.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        open_thread: Option<String>,
    },
    Edit {
        /// Key of the message to edit.
        target: String,
        message: Message,
    },
}

impl Intent {
    /// The key of the message this intent is about (the target of an edit).
    pub fn subject(&self) -> &str {
        match &self.op {
            Op::Post { .. } => &self.key,
            Op::Edit { target, .. } => target,
        }
    }
}

/// A delivered message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent {
    pub message: MessageRef,
    /// Its thread, once opened.
    #[serde(default)]
    pub thread: Option<ThreadRef>,
    pub at: DateTime<Utc>,
}

/// A message that can never be delivered, kept for the operator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dead {
    pub intent: Intent,
    pub error: String,
    pub at: DateTime<Utc>,
}
