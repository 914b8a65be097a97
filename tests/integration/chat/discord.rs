//! The Discord adapter as a chat harness: the real `DiscordPlatform` (serenity, gateway and
//! REST) against the fake Discord; people are played through the fake.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lookout::chat::SharedPlatform;
use lookout::chat::discord::{DiscordConfig, DiscordPlatform};
use lookout::config::Secret;

use super::harness::{ChatHarness, SeenMessage};
use crate::fakes::discord::{ALERTS, APPLICATION, FakeDiscord, Fault, GUILD, NO_CHANNEL, Stored};

pub struct DiscordHarness {
    pub fake: FakeDiscord,
    pub platform: Arc<DiscordPlatform>,
}

/// A config for the fake: its URLs and token, the test server, short waits.
pub fn config_for(fake: &FakeDiscord) -> DiscordConfig {
    DiscordConfig {
        bot_token: Secret::new(FakeDiscord::TOKEN),
        application_id: Some(APPLICATION),
        api_url: fake.api_url.clone(),
        gateway_url: Some(fake.gateway_url.clone()),
        guild_id: Some(GUILD),
        request_timeout: Duration::from_secs(5),
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
    }
}

impl DiscordHarness {
    pub async fn new() -> Self {
        lookout::install_crypto_provider();
        let fake = FakeDiscord::start().await;
        let platform = DiscordPlatform::new(config_for(&fake)).expect("discord");
        Self {
            fake,
            platform: Arc::new(platform),
        }
    }
}

/// The Discord id of a person the suite names: a stable snowflake per name.
pub fn discord_user(name: &str) -> u64 {
    // FNV-1a: stable across runs, unlike the std hasher.
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    1_400_000_000_000_000_000 + hash % 1_000_000_000_000
}

fn id(s: &str) -> u64 {
    s.parse()
        .unwrap_or_else(|_| panic!("`{s}` is not a Discord id"))
}

/// A stored message as the suite sees it: in its channel, with its thread when it is in one.
pub fn seen(fake: &FakeDiscord, m: Stored) -> SeenMessage {
    let parent = fake.thread_parent(m.channel);
    SeenMessage {
        id: m.id.to_string(),
        channel: parent.unwrap_or(m.channel).to_string(),
        thread: parent.map(|_| m.channel.to_string()),
        text: m.readable(),
        buttons: m.buttons(),
        edits: m.edits,
    }
}

#[async_trait]
impl ChatHarness for DiscordHarness {
    fn platform(&self) -> SharedPlatform {
        self.platform.clone()
    }

    fn channel(&self) -> String {
        ALERTS.to_string()
    }

    fn missing_channel(&self) -> String {
        NO_CHANNEL.to_string()
    }

    /// What the bot posted there and in its threads (people's own messages are not listed).
    async fn messages(&self, channel: &str) -> Vec<SeenMessage> {
        self.fake
            .bot_messages(id(channel))
            .into_iter()
            .map(|m| seen(&self.fake, m))
            .collect()
    }

    async fn mention(&self, channel: &str, thread: Option<&str>, user: &str, text: &str) {
        self.fake
            .mention(id(channel), thread.map(id), discord_user(user), text)
            .await;
    }

    async fn reply(&self, _channel: &str, thread: &str, user: &str, text: &str) {
        self.fake.reply(id(thread), discord_user(user), text).await;
    }

    async fn click(&self, _channel: &str, message_id: &str, user: &str, action: &str) {
        self.fake
            .click(id(message_id), discord_user(user), action)
            .await;
    }

    async fn private_notes(&self, user: &str) -> Vec<String> {
        self.fake
            .private_notes(discord_user(user))
            .into_iter()
            .map(|n| n.text)
            .collect()
    }

    async fn rate_limit_next(&self, n: usize, retry_after: Duration) {
        self.fake.clear_faults();
        self.fake.fail_next(
            n,
            Fault::RateLimited {
                retry_after: retry_after.as_secs_f64(),
                global: false,
            },
        );
    }

    async fn send_attempts(&self) -> usize {
        self.fake.calls("create message")
    }

    fn user_id(&self, user: &str) -> String {
        discord_user(user).to_string()
    }
}

crate::chat_conformance!(conformance, super::DiscordHarness::new().await);
