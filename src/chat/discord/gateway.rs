//! The gateway: serenity's client keeps the WebSocket (HELLO, IDENTIFY, heartbeats, resuming
//! and reconnecting); this module signs in over REST first, so a refused token or an outage is
//! logged with its reason and retried with backoff (never fatal, other platforms unaffected),
//! then forwards what serenity dispatches.
//!
//! Clicks are answered (a deferred update) as soon as they arrive, before the bot decides
//! anything: Discord allows 3 seconds, and deciding an approval may take longer. The message
//! is then edited through the outbound queue, and private notes are follow-ups.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serenity::all::{
    ChannelId, ChannelType, ClientBuilder, Context, EventHandler, GatewayIntents, HttpBuilder,
    Interaction, Message, Ready, ResumedEvent,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::config::{DISCORD_URL, DiscordConfig};
use super::inbound::Translator;
use super::rest::Rest;
use crate::chat::event::ChatEvent;
use crate::chat::platform::SendError;

/// Messages in servers and direct messages, with their text (privileged: enable "Message
/// Content Intent" in the Developer Portal, or replies without a mention arrive empty).
pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::DIRECT_MESSAGES
        | GatewayIntents::MESSAGE_CONTENT
}

/// Sessions Discord opened (READY) and resumed (RESUMED) since start.
#[derive(Debug, Default)]
pub struct Sessions {
    pub ready: AtomicU64,
    pub resumed: AtomicU64,
}

/// What the gateway task needs.
pub struct Gateway {
    pub config: DiscordConfig,
    pub rest: Arc<Rest>,
    pub translator: Arc<Translator>,
    pub sessions: Arc<Sessions>,
}

impl Gateway {
    /// Runs until `shutdown`: sign in, connect, and start over with backoff when Discord
    /// refuses the token or the session ends for good.
    pub async fn run(
        self: Arc<Self>,
        events: mpsc::Sender<ChatEvent>,
        shutdown: CancellationToken,
    ) {
        let mut wait = self.config.initial_backoff;
        loop {
            match self.connect(&events, &shutdown).await {
                Ok(()) => return, // shut down
                Err(reason) => {
                    error!(%reason, retry_in = ?wait, "discord: not connected; retrying");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.cancelled() => return,
            }
            wait = (wait * 2).min(self.config.max_backoff);
        }
    }

    /// One session: sign in, find the gateway, run serenity's client until it stops (an error)
    /// or `shutdown` (Ok).
    async fn connect(
        self: &Arc<Self>,
        events: &mpsc::Sender<ChatEvent>,
        shutdown: &CancellationToken,
    ) -> Result<(), String> {
        let me = tokio::select! {
            r = self.rest.current_user() => r.map_err(|e| explain(&e))?,
            _ = shutdown.cancelled() => return Ok(()),
        };
        self.translator.set_me(me.id);
        info!(user_id = %me.id, name = %me.name, "discord: signed in");
        let url = match &self.config.gateway_url {
            Some(url) => url.clone(),
            None => tokio::select! {
                r = self.rest.gateway_url() => r.map_err(|e| explain(&e))?,
                _ = shutdown.cancelled() => return Ok(()),
            },
        };
        let mut http = HttpBuilder::new(self.config.bot_token.expose())
            .client(self.rest.client().clone())
            // Lookout's outbound queue paces and waits out 429s; serenity's limiter would
            // also ignore a base URL.
            .ratelimiter_disabled(true);
        if self.config.api_url != DISCORD_URL {
            http = http.proxy(self.config.api_url.clone());
        }
        if let Some(app) = self.translator.application() {
            http = http.application_id(app);
        }
        let handler = Handler {
            gateway: self.clone(),
            events: events.clone(),
        };
        let mut client = ClientBuilder::new_with_http(http.build(), intents())
            .event_handler(handler)
            .await
            .map_err(|e| format!("cannot build the gateway client: {e}"))?;
        *client.ws_url.lock().await = url.clone();
        info!(%url, "discord: connecting to the gateway");
        let manager = client.shard_manager.clone();
        let result = tokio::select! {
            r = client.start() => r,
            _ = shutdown.cancelled() => {
                manager.shutdown_all().await;
                info!("discord: gateway stopped");
                return Ok(());
            }
        };
        manager.shutdown_all().await;
        match result {
            Ok(()) => Err("the gateway session ended".into()),
            Err(e) => Err(format!(
                "the gateway closed the session: {e} (check LOOKOUT_DISCORD_BOT_TOKEN and, for \
                 disallowed intents, enable Message Content Intent for the bot)"
            )),
        }
    }

    /// Whether `channel` is a thread, and of which channel: asked once, then remembered.
    async fn parent_of(&self, channel: ChannelId) -> Option<ChannelId> {
        if let Some(known) = self.translator.parent_of(channel) {
            return known;
        }
        match self.rest.channel(channel).await {
            Ok(c) => {
                let parent = c.guild().and_then(|g| {
                    matches!(
                        g.kind,
                        ChannelType::PublicThread
                            | ChannelType::PrivateThread
                            | ChannelType::NewsThread
                    )
                    .then_some(g.parent_id)
                    .flatten()
                });
                self.translator.learn(channel, parent);
                parent
            }
            Err(e) => {
                // Taken as a plain channel this time; asked again with the next message.
                warn!(%channel, error = %e, "discord: cannot tell whether a channel is a thread");
                None
            }
        }
    }
}

/// A failure to sign in, with what to check.
fn explain(e: &SendError) -> String {
    match e {
        SendError::Permanent(r) => format!("{r} (check LOOKOUT_DISCORD_BOT_TOKEN)"),
        SendError::RateLimited(d) => format!("rate limited for {d:?}"),
        SendError::Transient(r) => format!("discord unreachable: {r}"),
    }
}

struct Handler {
    gateway: Arc<Gateway>,
    events: mpsc::Sender<ChatEvent>,
}

impl Handler {
    async fn forward(&self, event: ChatEvent) {
        if self.events.send(event).await.is_err() {
            warn!("discord: the chat event queue is closed; event dropped");
        }
    }
}

#[serenity::async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        let g = &self.gateway;
        g.translator.set_me(ready.user.id);
        g.translator.set_application(ready.application.id);
        let n = g.sessions.ready.fetch_add(1, Ordering::Relaxed) + 1;
        info!(session = n, user = %ready.user.name, "discord: gateway ready");
    }

    async fn resume(&self, _ctx: Context, _event: ResumedEvent) {
        let n = self
            .gateway
            .sessions
            .resumed
            .fetch_add(1, Ordering::Relaxed)
            + 1;
        info!(resumes = n, "discord: gateway session resumed");
    }

    async fn message(&self, _ctx: Context, msg: Message) {
        let t = &self.gateway.translator;
        if !t.wants(&msg) {
            return;
        }
        let parent = match msg.guild_id {
            Some(_) => self.gateway.parent_of(msg.channel_id).await,
            None => None,
        };
        if let Some(event) = t.message(&msg, parent) {
            self.forward(event).await;
        }
    }

    async fn interaction_create(&self, _ctx: Context, interaction: Interaction) {
        let Interaction::Component(c) = interaction else {
            return;
        };
        let Some(click) = self.gateway.translator.click(&c) else {
            return;
        };
        let started = std::time::Instant::now();
        match self.gateway.rest.defer_update(c.id, &c.token).await {
            Ok(()) => {
                let took = started.elapsed();
                if took > Duration::from_secs(2) {
                    warn!(
                        ?took,
                        "discord: a click was answered close to Discord's 3 s limit"
                    );
                }
            }
            Err(e) => warn!(error = %e, "discord: could not answer a click in time"),
        }
        self.forward(ChatEvent::Click(click)).await;
    }
}
