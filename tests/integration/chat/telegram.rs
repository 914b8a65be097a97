//! The Telegram adapter as a chat harness: the real `TelegramPlatform` (teloxide, long
//! polling) against the fake Bot API; people are played through the fake.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lookout::chat::SharedPlatform;
use lookout::chat::telegram::{TelegramConfig, TelegramMode, TelegramPlatform};
use lookout::config::Secret;

use super::harness::{ChatHarness, SeenMessage};
use crate::fakes::telegram::{ALERTS, FakeTelegram, Fault, MISSING, Stored, user_id};

pub struct TelegramHarness {
    pub fake: FakeTelegram,
    pub platform: Arc<TelegramPlatform>,
}

/// A config for the fake: its URL and token, short polls and waits.
pub fn config_for(fake: &FakeTelegram, mode: TelegramMode) -> TelegramConfig {
    TelegramConfig {
        mode,
        api_url: fake.api_url.clone(),
        bot_token: Secret::new(FakeTelegram::TOKEN),
        poll_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        chat_interval: Duration::from_millis(100),
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        ..TelegramConfig::default()
    }
}

impl TelegramHarness {
    pub async fn new() -> Self {
        Self::with(|_| {}).await
    }

    /// A harness whose config (long polling on the fake) `tune` adjusts.
    pub async fn with(tune: impl FnOnce(&mut TelegramConfig)) -> Self {
        let fake = FakeTelegram::start().await;
        let mut config = config_for(&fake, TelegramMode::Polling);
        tune(&mut config);
        let platform = TelegramPlatform::new(config).expect("telegram");
        Self {
            fake,
            platform: Arc::new(platform),
        }
    }
}

pub fn seen(m: Stored) -> SeenMessage {
    SeenMessage {
        id: m.id.to_string(),
        channel: m.chat.to_string(),
        thread: m.thread.clone(),
        text: m.text.clone(),
        buttons: m.buttons.clone(),
        edits: m.edits,
    }
}

fn chat(channel: &str) -> i64 {
    channel.parse().expect("a Telegram chat id")
}

#[async_trait]
impl ChatHarness for TelegramHarness {
    fn platform(&self) -> SharedPlatform {
        self.platform.clone()
    }

    fn channel(&self) -> String {
        ALERTS.to_string()
    }

    fn missing_channel(&self) -> String {
        MISSING.to_string()
    }

    /// What the bot posted there (people's own messages are not listed).
    async fn messages(&self, channel: &str) -> Vec<SeenMessage> {
        self.fake
            .bot_messages(chat(channel))
            .into_iter()
            .map(seen)
            .collect()
    }

    async fn mention(&self, channel: &str, thread: Option<&str>, user: &str, text: &str) {
        self.fake.mention(chat(channel), thread, user, text);
    }

    async fn reply(&self, channel: &str, thread: &str, user: &str, text: &str) {
        self.fake.reply(chat(channel), thread, user, text);
    }

    async fn click(&self, channel: &str, message_id: &str, user: &str, action: &str) {
        let id = message_id.parse().expect("a Telegram message id");
        self.fake.click(chat(channel), id, user, action);
    }

    async fn private_notes(&self, user: &str) -> Vec<String> {
        self.fake
            .answers_for(user_id(user))
            .into_iter()
            .filter_map(|a| a.text)
            .collect()
    }

    async fn rate_limit_next(&self, n: usize, retry_after: Duration) {
        // retry_after is in whole seconds.
        let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        self.fake.clear_faults();
        self.fake.fail_next(n, Fault::RateLimited(secs));
    }

    async fn send_attempts(&self) -> usize {
        self.fake.calls("sendMessage")
    }

    fn user_id(&self, user: &str) -> String {
        user_id(user).to_string()
    }
}

crate::chat_conformance!(conformance, super::TelegramHarness::new().await);
