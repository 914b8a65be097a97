//! [`SlackPlatform`]: Lookout's [`ChatPlatform`] on Slack.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, instrument, warn};

use super::api::{self, Api};
use super::backoff::Backoff;
use super::config::{SlackConfig, SlackMode};
use super::inbound::{PLATFORM, Translator};
use super::render;
use crate::chat::event::{ChatEvent, Click};
use crate::chat::message::Message;
use crate::chat::platform::{ChatPlatform, Limits, MessageRef, SendError, ThreadRef};

/// Why the Slack adapter cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    #[error("platforms.slack.{field}: {reason}")]
    Config { field: &'static str, reason: String },
    #[error("slack: no usable TLS root certificates on this system")]
    Tls(#[source] std::io::Error),
}

/// Slack: Web API for sending, Socket Mode or the Events API for receiving.
pub struct SlackPlatform {
    config: SlackConfig,
    api: Arc<Api>,
    translator: Arc<Translator>,
    limits: Limits,
    /// `#name` -> channel id, learnt from posts (history needs ids).
    channel_ids: RwLock<HashMap<String, String>>,
    hellos: Arc<AtomicU64>,
}

impl SlackPlatform {
    /// Builds the adapter. Nothing is contacted until [`ChatPlatform::run`] or a send.
    pub fn new(config: SlackConfig) -> Result<Self, SlackError> {
        if let Some((field, reason)) = config.validate().into_iter().next() {
            return Err(SlackError::Config { field, reason });
        }
        let client = api::client(&config.api_url).map_err(SlackError::Tls)?;
        let api = Api::new(client, config.bot_token.expose(), config.request_timeout);
        Ok(Self {
            api: Arc::new(api),
            translator: Arc::new(Translator::default()),
            limits: Limits {
                max_block_chars: render::MAX_SECTION_TEXT,
                max_message_chars: 40_000,
                // 50 blocks, less the header and one row of buttons the neutral model adds.
                max_blocks: render::MAX_BLOCKS - 2,
                max_buttons: render::MAX_ACTIONS,
                max_button_label: render::MAX_BUTTON_TEXT,
                max_action_bytes: render::MAX_ACTION_ID,
                min_interval: Duration::from_secs(1),
            },
            channel_ids: RwLock::new(HashMap::new()),
            hellos: Arc::new(AtomicU64::new(0)),
            config,
        })
    }

    /// How many Socket Mode connections Slack has greeted since start (reconnects count).
    pub fn connections(&self) -> u64 {
        self.hellos.load(Ordering::Relaxed)
    }

    /// The bot's own user id, once known.
    pub fn bot_user_id(&self) -> Option<String> {
        self.translator.bot_user_id()
    }

    /// Learns who the bot is (`auth.test`), retrying with backoff: a refused bot token is
    /// logged with the reason until it works.
    async fn identify(&self, shutdown: &CancellationToken) {
        let mut backoff = Backoff::new(self.config.initial_backoff, self.config.max_backoff);
        loop {
            let attempt = tokio::select! {
                r = self.api.auth_test() => r,
                _ = shutdown.cancelled() => return,
            };
            let wait = match attempt {
                Ok(me) => {
                    info!(user_id = %me.user_id, "slack: signed in");
                    self.translator.set_identity(me);
                    return;
                }
                Err(SendError::Permanent(reason)) => {
                    let wait = backoff.next();
                    error!(
                        %reason, retry_in = ?wait,
                        "slack: the bot token was refused (check LOOKOUT_SLACK_BOT_TOKEN); \
                         sends fail until it is fixed; retrying"
                    );
                    wait
                }
                Err(SendError::RateLimited(after)) => backoff.next().max(after),
                Err(SendError::Transient(reason)) => {
                    let wait = backoff.next();
                    warn!(%reason, retry_in = ?wait, "slack: unreachable; retrying");
                    wait
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.cancelled() => return,
            }
        }
    }

    /// Posts what did not fit in a message to `thread_ts`, as preformatted parts. Best effort:
    /// the message itself went through, so a failure here is logged, not returned (a retry
    /// of the send would post the message twice).
    async fn post_overflow(&self, channel: &str, thread_ts: &str, overflow: &[String]) {
        let text = overflow.join("\n\n");
        let total = text.chars().count();
        let max = self.config.max_overflow_chars;
        let mut shown: String = text.chars().take(max).collect();
        if total > max {
            shown.push_str(&format!("\n… ({} more characters not shown)", total - max));
        }
        let room = render::MAX_SECTION_TEXT - 100;
        for part in crate::chat::fit::chunks(&shown, room) {
            let rendered = render::render(&Message::default().code(part));
            if let Err(e) = self
                .api
                .post(channel, Some(thread_ts), &rendered, None)
                .await
            {
                warn!(error = %e, channel, thread = thread_ts, "slack: posting the rest of a long message failed");
                return;
            }
        }
    }

    /// The id for a channel given by id or by name (`#name`, `name`), if known.
    fn channel_id(&self, channel: &str) -> Option<String> {
        let is_id = channel.starts_with(['C', 'G', 'D'])
            && channel
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if is_id {
            return Some(channel.to_string());
        }
        self.channel_ids.read().ok()?.get(channel).cloned()
    }
}

#[async_trait]
impl ChatPlatform for SlackPlatform {
    fn name(&self) -> &'static str {
        PLATFORM
    }

    fn limits(&self) -> &Limits {
        &self.limits
    }

    #[instrument(skip(self, thread, message), fields(thread = thread.map(|t| t.id.as_str())))]
    async fn send(
        &self,
        channel: &str,
        thread: Option<&ThreadRef>,
        message: &Message,
        key: &str,
    ) -> Result<MessageRef, SendError> {
        let r = render::render(message);
        let thread_ts = thread.map(|t| t.id.as_str());
        let (channel_id, ts) = self.api.post(channel, thread_ts, &r, Some(key)).await?;
        if channel != channel_id
            && let Ok(mut ids) = self.channel_ids.write()
        {
            ids.insert(channel.to_string(), channel_id.clone());
        }
        if !r.overflow.is_empty() {
            debug!(
                parts = r.overflow.len(),
                "slack: message cut to fit; rest goes to the thread"
            );
            self.post_overflow(&channel_id, thread_ts.unwrap_or(&ts), &r.overflow)
                .await;
        }
        Ok(MessageRef {
            platform: PLATFORM.into(),
            channel: channel_id,
            id: ts,
        })
    }

    #[instrument(skip(self, message_ref, message), fields(channel = %message_ref.channel, ts = %message_ref.id))]
    async fn edit(&self, message_ref: &MessageRef, message: &Message) -> Result<(), SendError> {
        let r = render::render(message);
        if !r.overflow.is_empty() {
            // Posting the rest on every edit would flood the thread; the card stays cut.
            debug!(parts = r.overflow.len(), "slack: edited message cut to fit");
        }
        let channel = self
            .channel_id(&message_ref.channel)
            .unwrap_or_else(|| message_ref.channel.clone());
        self.api.update(&channel, &message_ref.id, &r).await
    }

    async fn open_thread(&self, parent: &MessageRef, _title: &str) -> Result<ThreadRef, SendError> {
        // A Slack thread is the replies to its parent's ts: nothing to create.
        Ok(ThreadRef {
            platform: PLATFORM.into(),
            channel: parent.channel.clone(),
            id: parent.id.clone(),
        })
    }

    #[instrument(skip(self, click, private_note), fields(user = %click.user.id, action = %click.action))]
    async fn acknowledge(
        &self,
        click: &Click,
        private_note: Option<&str>,
    ) -> Result<(), SendError> {
        // The click itself was acknowledged to Slack when it arrived (envelope ack / 200).
        let Some(note) = private_note else {
            return Ok(());
        };
        let thread = Some(click.token.as_str()).filter(|t| !t.is_empty());
        self.api
            .ephemeral(&click.channel, &click.user.id, thread, note)
            .await
    }

    async fn find_sent(
        &self,
        channel: &str,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<MessageRef>, SendError> {
        let Some(channel_id) = self.channel_id(channel) else {
            debug!(
                channel,
                "slack: cannot search a channel by name before posting to it; use channel ids in routing"
            );
            return Ok(None);
        };
        let found = self.api.find_sent(&channel_id, key, since).await?;
        Ok(found.map(|ts| MessageRef {
            platform: PLATFORM.into(),
            channel: channel_id,
            id: ts,
        }))
    }

    async fn run(self: Arc<Self>, events: mpsc::Sender<ChatEvent>, shutdown: CancellationToken) {
        let me = self.clone();
        let stop = shutdown.clone();
        let identify = tokio::spawn(async move { me.identify(&stop).await });
        match self.config.mode {
            SlackMode::Socket => {
                super::socket::run(
                    self.api.clone(),
                    self.translator.clone(),
                    &self.config,
                    events,
                    self.hellos.clone(),
                    shutdown,
                )
                .await
            }
            // Events arrive through `routes`; only the identity is needed here.
            SlackMode::Http => shutdown.cancelled().await,
        }
        if let Err(e) = identify.await {
            error!(error = %e, "slack: identity task failed");
        }
    }

    fn routes(self: Arc<Self>, events: mpsc::Sender<ChatEvent>) -> Option<axum::Router> {
        if self.config.mode != SlackMode::Http {
            return None;
        }
        Some(super::events_api::router(
            &self.config.events_path,
            self.config.signing_secret.expose(),
            self.config.max_body_bytes,
            self.translator.clone(),
            events,
        ))
    }
}
