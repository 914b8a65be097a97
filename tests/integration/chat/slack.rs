//! The Slack adapter as a chat harness: the real `SlackPlatform` (slack-morphism, Socket
//! Mode) against the fake Slack; people are played through the fake.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lookout::chat::slack::{SlackConfig, SlackMode, SlackPlatform};
use lookout::chat::{
    ButtonStyle, ChatEvent, ChatPlatform, Click, Inbound, Message, SharedPlatform, Text, Tone,
};
use lookout::config::Secret;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::harness::{ChatHarness, SeenMessage};
use crate::fakes::slack::{ALERTS, FakeSlack, Fault, Stored};

pub struct SlackHarness {
    pub fake: FakeSlack,
    pub platform: Arc<SlackPlatform>,
}

/// A config for the fake: its URL and tokens, one connection, short waits.
pub fn config_for(fake: &FakeSlack, mode: SlackMode) -> SlackConfig {
    SlackConfig {
        mode,
        api_url: fake.api_url.clone(),
        bot_token: Secret::new(FakeSlack::BOT_TOKEN),
        app_token: Secret::new(FakeSlack::APP_TOKEN),
        signing_secret: Secret::new("fake-signing-secret"),
        request_timeout: Duration::from_secs(5),
        max_connections: 1,
        reconnect_delay: Duration::from_secs(1),
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        ..SlackConfig::default()
    }
}

impl SlackHarness {
    pub async fn new() -> Self {
        lookout::install_crypto_provider();
        let fake = FakeSlack::start().await;
        let platform = SlackPlatform::new(config_for(&fake, SlackMode::Socket)).expect("slack");
        Self {
            fake,
            platform: Arc::new(platform),
        }
    }
}

/// The Slack id of a person the suite names (`alice` -> `UALICE`).
pub fn slack_user(name: &str) -> String {
    let id: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_uppercase();
    format!("U{id}")
}

pub fn seen(m: Stored) -> SeenMessage {
    SeenMessage {
        id: m.ts.clone(),
        channel: m.channel.clone(),
        thread: m.thread().map(str::to_string),
        text: m.readable(),
        buttons: m.buttons(),
        edits: m.edits,
    }
}

/// How long a test waits for an event.
pub const WAIT: Duration = Duration::from_secs(15);
/// The action id of the Approve button on [`card`].
pub const APPROVE: &str = "abcd0123:approve:A-7";

/// A platform's listener running until dropped.
pub struct Running {
    pub events: mpsc::Receiver<ChatEvent>,
    pub stop: CancellationToken,
    pub task: tokio::task::JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Starts the platform's listener, as the bot does.
pub fn run(platform: &Arc<SlackPlatform>) -> Running {
    let (tx, events) = mpsc::channel(64);
    let stop = CancellationToken::new();
    let task = tokio::spawn(platform.clone().run(tx, stop.clone()));
    Running { events, stop, task }
}

pub async fn next(rx: &mut mpsc::Receiver<ChatEvent>) -> ChatEvent {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("an event in time")
        .expect("listener running")
}

pub async fn next_message(rx: &mut mpsc::Receiver<ChatEvent>) -> Inbound {
    match next(rx).await {
        ChatEvent::Message(m) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

pub async fn next_click(rx: &mut mpsc::Receiver<ChatEvent>) -> Click {
    match next(rx).await {
        ChatEvent::Click(c) => c,
        other => panic!("expected a click, got {other:?}"),
    }
}

/// A card with mrkdwn-sensitive text, a header, a state line and an Approve button.
pub fn card(state: &str) -> Message {
    Message::text(
        Text::plain("Pod ")
            .bold("checkout-7f9")
            .and(" & co <crash> looping"),
    )
    .with_header("checkout is crash-looping", "HIGH", Tone::Danger)
    .context(state)
    .button("Approve", APPROVE, ButtonStyle::Primary)
}

#[async_trait]
impl ChatHarness for SlackHarness {
    fn platform(&self) -> SharedPlatform {
        self.platform.clone()
    }

    fn channel(&self) -> String {
        ALERTS.into()
    }

    fn missing_channel(&self) -> String {
        "C0DOESNOTEXIST".into()
    }

    /// What the bot posted there (people's own messages are not listed).
    async fn messages(&self, channel: &str) -> Vec<SeenMessage> {
        self.fake
            .bot_messages(channel)
            .into_iter()
            .map(seen)
            .collect()
    }

    async fn mention(&self, channel: &str, thread: Option<&str>, user: &str, text: &str) {
        self.fake
            .mention(channel, thread, &slack_user(user), text)
            .await;
    }

    async fn reply(&self, channel: &str, thread: &str, user: &str, text: &str) {
        self.fake
            .reply(channel, thread, &slack_user(user), text)
            .await;
    }

    async fn click(&self, channel: &str, message_id: &str, user: &str, action: &str) {
        self.fake
            .click(channel, message_id, &slack_user(user), action)
            .await;
    }

    async fn private_notes(&self, user: &str) -> Vec<String> {
        self.fake
            .ephemeral_for(&slack_user(user))
            .into_iter()
            .map(|e| e.text)
            .collect()
    }

    async fn rate_limit_next(&self, n: usize, retry_after: Duration) {
        // Retry-After is in whole seconds.
        let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        self.fake.clear_faults();
        self.fake.fail_next(n, Fault::RateLimited(secs));
    }

    async fn send_attempts(&self) -> usize {
        self.fake.calls("chat.postMessage")
    }

    fn user_id(&self, user: &str) -> String {
        slack_user(user)
    }
}

crate::chat_conformance!(conformance, super::SlackHarness::new().await);
