//! [`DiscordPlatform`]: Lookout's [`ChatPlatform`] on Discord.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serenity::all::{
    AutoArchiveDuration, ChannelId, CreateInteractionResponseFollowup, CreateThread, MessageId,
    MessageReference,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, instrument, warn};

use super::config::DiscordConfig;
use super::gateway::{Gateway, Sessions};
use super::inbound::{ClickToken, PLATFORM, Translator};
use super::render::{self, MAX_CONTENT};
use super::rest::Rest;
use crate::chat::event::{ChatEvent, Click};
use crate::chat::message::Message;
use crate::chat::platform::{ChatPlatform, Limits, MessageRef, SendError, ThreadRef};
use crate::config::ConfigError;

/// Longest thread name.
const MAX_THREAD_NAME: usize = 100;
/// At most this much of a cut message's full text follows it (a few messages, not a flood).
const MAX_OVERFLOW_CHARS: usize = 20_000;
/// Rate-limited parts of that text are tried again this often, when the wait is short.
const OVERFLOW_RETRIES: u32 = 3;
const MAX_OVERFLOW_WAIT: Duration = Duration::from_secs(10);

/// Discord: REST for sending, the gateway for receiving.
pub struct DiscordPlatform {
    config: DiscordConfig,
    rest: Arc<Rest>,
    translator: Arc<Translator>,
    sessions: Arc<Sessions>,
    limits: Limits,
}

impl DiscordPlatform {
    /// Builds the adapter. Nothing is contacted until [`ChatPlatform::run`] or a send.
    pub fn new(config: DiscordConfig) -> Result<Self, ConfigError> {
        if let Some((field, reason)) = config.validate().into_iter().next() {
            return Err(ConfigError::single(
                format!("platforms.discord.{field}"),
                reason,
            ));
        }
        let rest = Rest::new(&config).map_err(|e| {
            ConfigError::single("platforms.discord", format!("no HTTP client: {e}"))
        })?;
        Ok(Self {
            rest: Arc::new(rest),
            translator: Arc::new(Translator::new(config.application_id, config.guild_id)),
            sessions: Arc::new(Sessions::default()),
            limits: Limits {
                // Field values get half of a block (fit's rule): 1000 of Discord's 1024.
                max_block_chars: 2000,
                // The embed description holds 4096 with markup; what is longer follows in
                // the thread.
                max_message_chars: 3800,
                max_blocks: 40,
                max_buttons: render::MAX_ROWS * render::MAX_ROW_BUTTONS,
                max_button_label: render::MAX_LABEL,
                max_action_bytes: render::MAX_CUSTOM_ID,
                // Discord allows 5 messages per 5 s in a channel.
                min_interval: Duration::from_secs(1),
            },
            config,
        })
    }

    /// Gateway sessions Discord opened (READY) since start; reconnects that had to identify
    /// again count.
    pub fn sessions(&self) -> u64 {
        self.sessions.ready.load(Ordering::Relaxed)
    }

    /// Gateway sessions resumed after a dropped connection.
    pub fn resumes(&self) -> u64 {
        self.sessions.resumed.load(Ordering::Relaxed)
    }

    /// The bot's own user id, once known.
    pub fn bot_user_id(&self) -> Option<String> {
        self.translator.me().map(|id| id.to_string())
    }

    /// Posts what did not fit in a message after it: in `thread`, or as a reply to it. Best
    /// effort: the message itself went through, so a failure is logged, not returned (a retry
    /// of the send would post the message again).
    async fn post_overflow(
        &self,
        target: ChannelId,
        replying_to: Option<MessageId>,
        key: &str,
        overflow: &[String],
    ) {
        let text = overflow.join("\n\n");
        let mut shown: String = text.chars().take(MAX_OVERFLOW_CHARS).collect();
        let total = text.chars().count();
        if total > MAX_OVERFLOW_CHARS {
            shown.push_str(&format!(
                "\n… ({} more characters not shown)",
                total - MAX_OVERFLOW_CHARS
            ));
        }
        for (i, part) in crate::chat::fit::chunks(&shown, MAX_CONTENT - 100)
            .iter()
            .enumerate()
        {
            let r = render::render(&Message::default().code(part.clone()));
            let mut create = r.create(&render::nonce(&format!("{key}#rest{i}")));
            if let Some(id) = replying_to {
                create = create.reference_message(MessageReference::from((target, id)));
            }
            // These parts bypass the queue's pacing, so Discord's 5 messages per 5 s may
            // refuse one: wait as told (briefly) rather than lose the rest.
            let mut tries = 0;
            loop {
                match self.rest.send(target, &create).await {
                    Ok(_) => break,
                    Err(SendError::RateLimited(wait))
                        if tries < OVERFLOW_RETRIES && wait <= MAX_OVERFLOW_WAIT =>
                    {
                        tries += 1;
                        tokio::time::sleep(wait).await;
                    }
                    Err(e) => {
                        warn!(error = %e, channel = %target, "discord: posting the rest of a long message failed");
                        return;
                    }
                }
            }
        }
    }
}

/// A channel or message id from a route or a reference.
fn snowflake(what: &str, s: &str) -> Result<u64, SendError> {
    s.parse::<u64>().ok().filter(|n| *n != 0).ok_or_else(|| {
        SendError::Permanent(format!(
            "discord: `{s}` is not a {what} id (Discord routes name channels by id, e.g. discord:123456789012345678)"
        ))
    })
}

#[async_trait]
impl ChatPlatform for DiscordPlatform {
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
        // A thread is a channel of its own.
        let target = ChannelId::new(match thread {
            Some(t) => snowflake("thread", &t.id)?,
            None => snowflake("channel", channel)?,
        });
        let r = render::render(message);
        let posted = self
            .rest
            .send(target, &r.create(&render::nonce(key)))
            .await?;
        if !r.overflow.is_empty() {
            debug!(
                parts = r.overflow.len(),
                "discord: message cut to fit; the rest follows"
            );
            let reply = thread.is_none().then_some(posted.id);
            self.post_overflow(target, reply, key, &r.overflow).await;
        }
        Ok(MessageRef {
            platform: PLATFORM.into(),
            channel: posted.channel_id.to_string(),
            id: posted.id.to_string(),
        })
    }

    #[instrument(skip(self, message_ref, message), fields(channel = %message_ref.channel, id = %message_ref.id))]
    async fn edit(&self, message_ref: &MessageRef, message: &Message) -> Result<(), SendError> {
        let channel = ChannelId::new(snowflake("channel", &message_ref.channel)?);
        let id = MessageId::new(snowflake("message", &message_ref.id)?);
        let r = render::render(message);
        if !r.overflow.is_empty() {
            // Posting the rest on every edit would flood the thread; the card stays cut.
            debug!(
                parts = r.overflow.len(),
                "discord: edited message cut to fit"
            );
        }
        self.rest.edit(channel, id, &r.edit()).await
    }

    async fn open_thread(&self, parent: &MessageRef, title: &str) -> Result<ThreadRef, SendError> {
        let channel = ChannelId::new(snowflake("channel", &parent.channel)?);
        let message = MessageId::new(snowflake("message", &parent.id)?);
        let mut name: String = title.trim().chars().take(MAX_THREAD_NAME).collect();
        if name.is_empty() {
            name = "Lookout".into();
        }
        let create = CreateThread::new(name).auto_archive_duration(AutoArchiveDuration::OneWeek);
        // A thread started from a message has the message's id, so one that exists already
        // (a retry after a crash) is found without asking.
        let id = match self.rest.start_thread(channel, message, &create).await? {
            Some(thread) => thread.id,
            None => ChannelId::new(message.get()),
        };
        self.translator.learn(id, Some(channel));
        Ok(ThreadRef {
            platform: PLATFORM.into(),
            channel: parent.channel.clone(),
            id: id.to_string(),
        })
    }

    #[instrument(skip(self, click, private_note), fields(user = %click.user.id, action = %click.action))]
    async fn acknowledge(
        &self,
        click: &Click,
        private_note: Option<&str>,
    ) -> Result<(), SendError> {
        // The click itself was answered (a deferred update) when it arrived.
        let Some(note) = private_note else {
            return Ok(());
        };
        let Some(token) = ClickToken::parse(&click.token) else {
            return Err(SendError::Permanent("discord: not a Discord click".into()));
        };
        let text: String = note.chars().take(MAX_CONTENT).collect();
        let followup = CreateInteractionResponseFollowup::new()
            .content(text)
            .ephemeral(true);
        self.rest
            .followup(token.application, token.token, &followup)
            .await
    }

    /// Discord cannot be searched for a nonce: it returns nonces only with the create and the
    /// gateway event, not with history. A resend carries the same nonce with `enforce_nonce`,
    /// so within Discord's window (a few minutes) Discord answers with the message it already
    /// has instead of posting it again; after a longer outage a repeat is possible.
    async fn find_sent(
        &self,
        _channel: &str,
        _key: &str,
        _since: DateTime<Utc>,
    ) -> Result<Option<MessageRef>, SendError> {
        Ok(None)
    }

    async fn run(self: Arc<Self>, events: mpsc::Sender<ChatEvent>, shutdown: CancellationToken) {
        let gateway = Arc::new(Gateway {
            config: self.config.clone(),
            rest: self.rest.clone(),
            translator: self.translator.clone(),
            sessions: self.sessions.clone(),
        });
        gateway.run(events, shutdown).await;
    }

    fn permalink(&self, message: &MessageRef) -> Option<String> {
        let guild = self.config.guild_id?;
        Some(format!(
            "https://discord.com/channels/{guild}/{}/{}",
            message.channel, message.id
        ))
    }
}
