//! What platforms tell Lookout: messages that mention it or reply in one of its threads, and
//! button clicks, with the user's platform identity.

use serde::{Deserialize, Serialize};

use super::platform::{MessageRef, ThreadRef};

/// A user as a platform identifies them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChatUser {
    pub platform: String,
    /// The platform's user id (`U0123ABCD`, a snowflake, a Telegram id).
    pub id: String,
    /// Display name, when the platform sends one.
    #[serde(default)]
    pub name: Option<String>,
    /// Groups the platform reports with the event (Discord role ids); others are resolved by
    /// the approval policy when needed.
    #[serde(default)]
    pub groups: Vec<String>,
}

impl ChatUser {
    /// `platform:id`, as written in timelines, audit entries and approval policies.
    pub fn identity(&self) -> String {
        format!("{}:{}", self.platform, self.id)
    }
}

/// An inbound message for Lookout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    pub platform: String,
    pub channel: String,
    /// The thread it was posted in, if any.
    pub thread: Option<ThreadRef>,
    /// The message itself (reply to it to start a thread).
    pub message: MessageRef,
    pub user: ChatUser,
    /// The text with the bot's own mention removed.
    pub text: String,
    /// Whether the bot was mentioned (a reply in a bot thread may not mention it).
    pub mentioned: bool,
}

/// A button click.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Click {
    pub platform: String,
    pub channel: String,
    /// The message carrying the button.
    pub message: MessageRef,
    pub user: ChatUser,
    /// The button's action id.
    pub action: String,
    /// What the adapter needs to answer this click (interaction token, callback query id).
    pub token: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatEvent {
    Message(Inbound),
    Click(Click),
}
