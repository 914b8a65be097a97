//! What every fake chat service offers the chat conformance suite, so the same suite runs
//! unchanged against each adapter (Slack, console, and later Discord and Telegram). A harness
//! owns a fake server (or the console's pipes), the REAL adapter pointed at it, and ways to
//! play the humans: mention the bot, reply in a thread, click a button — and to look at what
//! the bot sent.

use std::time::Duration;

use async_trait::async_trait;
use lookout::chat::SharedPlatform;

/// A message as the fake service stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenMessage {
    /// The platform's message id (what `MessageRef.id` says).
    pub id: String,
    pub channel: String,
    /// The thread it was posted in (the platform's thread id), if any.
    pub thread: Option<String>,
    /// Everything a person would read, as plain text (header, blocks, fields, code).
    pub text: String,
    /// Buttons: (label, action id).
    pub buttons: Vec<(String, String)>,
    /// How many times it was edited.
    pub edits: u32,
}

#[async_trait]
pub trait ChatHarness: Send + Sync {
    /// The real adapter, talking to the fake.
    fn platform(&self) -> SharedPlatform;
    /// A channel that exists and the bot is in.
    fn channel(&self) -> String;
    /// A channel the bot cannot post to (the platform's "not found"/"not in channel").
    fn missing_channel(&self) -> String;
    /// Messages in `channel` (including thread replies), oldest first.
    async fn messages(&self, channel: &str) -> Vec<SeenMessage>;
    /// A person mentions the bot in `channel` (in `thread` if given).
    async fn mention(&self, channel: &str, thread: Option<&str>, user: &str, text: &str);
    /// A person replies in a thread without mentioning the bot.
    async fn reply(&self, channel: &str, thread: &str, user: &str, text: &str);
    /// A person clicks a button of a message.
    async fn click(&self, channel: &str, message_id: &str, user: &str, action: &str);
    /// Private notes (ephemeral messages, callback answers) shown to `user`.
    async fn private_notes(&self, user: &str) -> Vec<String>;
    /// The next `n` sends are refused with a rate limit asking to wait `retry_after`.
    async fn rate_limit_next(&self, n: usize, retry_after: Duration);
    /// How many send attempts (including refused ones) reached the fake.
    async fn send_attempts(&self) -> usize;
    /// The platform user id events carry for a person the suite calls `user` (the console has
    /// one user whatever the name).
    fn user_id(&self, user: &str) -> String {
        user.to_string()
    }
}
