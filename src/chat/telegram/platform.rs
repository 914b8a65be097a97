//! [`TelegramPlatform`]: Lookout's [`ChatPlatform`] on Telegram.
//!
//! Recovery after a crash ([`ChatPlatform::find_sent`]) is not possible: a bot cannot read a
//! chat's history and never receives its own messages, so nothing can tell whether a message
//! Telegram accepted before the crash is there. Lookout records the intent before sending (the
//! outbound queue) and accepts at-least-once: a crash between Telegram's accept and the record
//! repeats that one message; nothing is lost.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, instrument, warn};

use super::api::{self, Api, Place};
use super::config::{TelegramConfig, TelegramMode};
use super::inbound::{PLATFORM, Translator, topic_id};
use super::pacing::GroupWindow;
use super::render;
use crate::chat::event::{ChatEvent, Click};
use crate::chat::message::Message;
use crate::chat::platform::{ChatPlatform, Limits, MessageRef, SendError, ThreadRef};

/// Why the Telegram adapter cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum TelegramError {
    #[error("platforms.telegram.{field}: {reason}")]
    Config { field: &'static str, reason: String },
}

impl From<TelegramError> for crate::config::ConfigError {
    fn from(e: TelegramError) -> Self {
        let TelegramError::Config { field, reason } = e;
        Self::single(format!("platforms.telegram.{field}"), reason)
    }
}

/// Telegram: the Bot API for sending, long polling or a webhook for receiving.
pub struct TelegramPlatform {
    config: TelegramConfig,
    api: Arc<Api>,
    translator: Arc<Translator>,
    limits: Limits,
    groups: GroupWindow,
}

impl TelegramPlatform {
    /// Builds the adapter. Nothing is contacted until [`ChatPlatform::run`] or a send.
    pub fn new(config: TelegramConfig) -> Result<Self, TelegramError> {
        if let Some((field, reason)) = config.validate().into_iter().next() {
            return Err(TelegramError::Config { field, reason });
        }
        let api = Api::new(
            &config.api_url,
            config.bot_token.expose(),
            config.request_timeout,
            config.poll_timeout,
        )
        .map_err(|reason| TelegramError::Config {
            field: "api_url",
            reason,
        })?;
        Ok(Self {
            api: Arc::new(api),
            translator: Arc::new(Translator::new(config.username())),
            limits: Limits {
                // Room for the header, separators and markers within 4096 visible characters;
                // the renderer enforces the exact limit.
                max_block_chars: 3500,
                max_message_chars: 3900,
                max_blocks: 40,
                max_buttons: render::MAX_BUTTONS,
                max_button_label: render::MAX_BUTTON_TEXT,
                max_action_bytes: render::MAX_CALLBACK_DATA,
                min_interval: config.chat_interval,
            },
            groups: GroupWindow::new(config.group_limit, config.group_window),
            config,
        })
    }

    /// The bot's username once known (configured or from `getMe`).
    pub fn bot_username(&self) -> Option<String> {
        self.translator.identity().map(|i| i.username)
    }

    /// Learns who the bot is (`getMe`), retrying with backoff: a refused token or an outage is
    /// logged with the reason until it works. False when shut down first.
    async fn identify(&self, shutdown: &CancellationToken) -> bool {
        let mut backoff = self.config.initial_backoff;
        loop {
            let attempt = tokio::select! {
                r = self.api.get_me() => r,
                _ = shutdown.cancelled() => return false,
            };
            let wait = match attempt {
                Ok(me) => {
                    if let Some(configured) = self.config.username()
                        && !configured.eq_ignore_ascii_case(me.username())
                    {
                        warn!(
                            configured,
                            actual = me.username(),
                            "telegram: bot_username differs from getMe; using getMe's"
                        );
                    }
                    info!(
                        username = me.username(),
                        privacy_mode = !me.can_read_all_group_messages,
                        "telegram: signed in"
                    );
                    self.translator.set_identity(&me);
                    return true;
                }
                Err(SendError::Permanent(reason)) => {
                    error!(
                        %reason, retry_in = ?backoff,
                        "telegram: the bot token was refused (check LOOKOUT_TELEGRAM_BOT_TOKEN); \
                         sends fail until it is fixed; retrying"
                    );
                    backoff
                }
                Err(SendError::RateLimited(after)) => after.max(backoff),
                Err(SendError::Transient(reason)) => {
                    warn!(%reason, retry_in = ?backoff, "telegram: unreachable; retrying");
                    backoff
                }
            };
            backoff = (backoff * 2).min(self.config.max_backoff);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.cancelled() => return false,
            }
        }
    }

    /// Registers the webhook (mode `webhook`), retrying until it works.
    async fn register_webhook(&self, shutdown: &CancellationToken) {
        let mut backoff = self.config.initial_backoff;
        loop {
            let attempt = tokio::select! {
                r = self.api.set_webhook(&self.config.webhook_url, self.config.webhook_secret.expose()) => r,
                _ = shutdown.cancelled() => return,
            };
            let wait = match attempt {
                Ok(()) => {
                    info!(url = %self.config.webhook_url, "telegram: webhook registered");
                    return;
                }
                Err(SendError::RateLimited(after)) => after.max(backoff),
                Err(e) => {
                    error!(error = %e, url = %self.config.webhook_url, retry_in = ?backoff, "telegram: cannot register the webhook; retrying");
                    backoff
                }
            };
            backoff = (backoff * 2).min(self.config.max_backoff);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.cancelled() => return,
            }
        }
    }

    /// Posts what did not fit in a message at `place`, as preformatted parts. Best effort: the
    /// message itself went through, so a failure here is logged, not returned (a retry of the
    /// send would post the message twice). Paced like everything else to the chat.
    async fn post_overflow(
        &self,
        channel: &str,
        place: Place,
        thread: Option<&str>,
        overflow: &[String],
    ) {
        let text = overflow.join("\n\n");
        let total = text.chars().count();
        let max = self.config.max_overflow_chars;
        let mut shown: String = text.chars().take(max).collect();
        if total > max {
            shown.push_str(&format!("\n… ({} more characters not shown)", total - max));
        }
        for part in crate::chat::fit::chunks(&shown, render::MAX_TEXT - 96) {
            let rendered = render::render(&Message::default().code(part));
            let mut tries = 0;
            loop {
                tokio::time::sleep(self.config.chat_interval).await;
                let slot = self.groups.try_acquire(channel);
                let result = match slot {
                    Err(wait) => Err(SendError::RateLimited(wait)),
                    Ok(()) => match api::recipient(channel) {
                        Ok(chat) => self.api.send(chat, place, &rendered).await,
                        Err(e) => Err(e),
                    },
                };
                match result {
                    Ok(sent) => {
                        self.groups.sent(channel);
                        self.translator.sent(&sent, thread);
                        break;
                    }
                    Err(SendError::RateLimited(wait)) if tries < 3 => {
                        tries += 1;
                        tokio::time::sleep(wait).await;
                    }
                    Err(e) => {
                        warn!(error = %e, channel, "telegram: posting the rest of a long message failed");
                        return;
                    }
                }
            }
        }
    }
}

/// Where a thread's messages go.
fn place_of(thread: &ThreadRef) -> Result<Place, SendError> {
    let bad = || SendError::Permanent(format!("`{}` is not a Telegram thread", thread.id));
    match thread.id.strip_prefix("topic:") {
        Some(topic) => topic.parse().map(Place::Topic).map_err(|_| bad()),
        None => thread.id.parse().map(Place::ReplyTo).map_err(|_| bad()),
    }
}

fn message_id(m: &MessageRef) -> Result<i32, SendError> {
    m.id.parse()
        .map_err(|_| SendError::Permanent(format!("`{}` is not a Telegram message id", m.id)))
}

#[async_trait]
impl ChatPlatform for TelegramPlatform {
    fn name(&self) -> &'static str {
        PLATFORM
    }

    fn limits(&self) -> &Limits {
        &self.limits
    }

    #[instrument(skip(self, thread, message, _key), fields(thread = thread.map(|t| t.id.as_str())))]
    async fn send(
        &self,
        channel: &str,
        thread: Option<&ThreadRef>,
        message: &Message,
        _key: &str,
    ) -> Result<MessageRef, SendError> {
        let chat = api::recipient(channel)?;
        let place = match thread {
            Some(t) => place_of(t)?,
            None => Place::Chat,
        };
        if let Err(wait) = self.groups.try_acquire(channel) {
            debug!(
                channel,
                ?wait,
                "telegram: group message limit reached; waiting"
            );
            return Err(SendError::RateLimited(wait));
        }
        let r = render::render(message);
        let sent = self.api.send(chat, place, &r).await?;
        self.groups.sent(channel);
        let thread_id = thread.map(|t| t.id.as_str());
        self.translator.sent(&sent, thread_id);
        let chat_id = sent.chat.id.0.to_string();
        if !r.overflow.is_empty() {
            debug!(
                parts = r.overflow.len(),
                "telegram: message cut to fit; rest goes to the thread"
            );
            let (rest, rest_thread) = match place {
                Place::Chat => (Place::ReplyTo(sent.id.0), sent.id.0.to_string()),
                other => (other, thread_id.unwrap_or_default().to_string()),
            };
            self.post_overflow(&chat_id, rest, Some(&rest_thread), &r.overflow)
                .await;
        }
        Ok(MessageRef {
            platform: PLATFORM.into(),
            channel: chat_id,
            id: sent.id.0.to_string(),
        })
    }

    #[instrument(skip(self, message_ref, message), fields(chat = %message_ref.channel, id = %message_ref.id))]
    async fn edit(&self, message_ref: &MessageRef, message: &Message) -> Result<(), SendError> {
        let chat = api::recipient(&message_ref.channel)?;
        let r = render::render(message);
        if !r.overflow.is_empty() {
            // Posting the rest on every edit would flood the thread; the card stays cut.
            debug!(
                parts = r.overflow.len(),
                "telegram: edited message cut to fit"
            );
        }
        self.api.edit(chat, message_id(message_ref)?, &r).await
    }

    async fn open_thread(&self, parent: &MessageRef, title: &str) -> Result<ThreadRef, SendError> {
        let id = message_id(parent)?;
        let thread = |id: String| ThreadRef {
            platform: PLATFORM.into(),
            channel: parent.channel.clone(),
            id,
        };
        let chat: i64 = parent.channel.parse().unwrap_or_default();
        // A topic per incident card in a forum; a person's question is answered in place.
        if self.config.forum_topics
            && self.translator.is_forum(chat)
            && self.translator.is_own(chat, id)
        {
            match self
                .api
                .create_topic(api::recipient(&parent.channel)?, title)
                .await
            {
                Ok(topic) => {
                    let t = thread(topic_id(topic));
                    self.translator.opened(chat, &t.id);
                    return Ok(t);
                }
                Err(SendError::Permanent(reason)) => warn!(
                    %reason, chat,
                    "telegram: cannot create a forum topic (the bot needs the Manage topics right); \
                     using a reply chain"
                ),
                Err(e) => return Err(e),
            }
        }
        let t = thread(id.to_string());
        self.translator.opened(chat, &t.id);
        Ok(t)
    }

    #[instrument(skip(self, click, private_note), fields(user = %click.user.id, action = %click.action))]
    async fn acknowledge(
        &self,
        click: &Click,
        private_note: Option<&str>,
    ) -> Result<(), SendError> {
        self.api.answer(&click.token, private_note).await
    }

    async fn run(self: Arc<Self>, events: mpsc::Sender<ChatEvent>, shutdown: CancellationToken) {
        if !self.identify(&shutdown).await {
            return;
        }
        match self.config.mode {
            TelegramMode::Polling => {
                super::polling::run(
                    self.api.clone(),
                    self.translator.clone(),
                    &self.config,
                    events,
                    shutdown,
                )
                .await
            }
            // Updates arrive through `routes`.
            TelegramMode::Webhook => {
                self.register_webhook(&shutdown).await;
                shutdown.cancelled().await;
            }
        }
    }

    fn permalink(&self, message: &MessageRef) -> Option<String> {
        // Private supergroups and channels (-100 ids) have t.me/c links for their members.
        let internal = message.channel.strip_prefix("-100")?;
        Some(format!("https://t.me/c/{internal}/{}", message.id))
    }

    fn routes(self: Arc<Self>, events: mpsc::Sender<ChatEvent>) -> Option<axum::Router> {
        if self.config.mode != TelegramMode::Webhook {
            return None;
        }
        Some(super::webhook::router(
            &self.config.webhook_path,
            self.config.webhook_secret.expose(),
            self.config.max_body_bytes,
            self.translator.clone(),
            self.api.clone(),
            events,
        ))
    }
}
