//! Gateway events in, [`ChatEvent`]s out.
//!
//! - a message that mentions the bot (or any direct message) -> a message with
//!   `mentioned: true`, the bot's mention removed;
//! - a message in a thread, from a person, that does not mention the bot -> a message with
//!   `mentioned: false` (a rejection's reason, a follow-up);
//! - a button click -> a click, with the member's role ids as groups (`role:<id>` in approval
//!   roles).
//!
//! Everything else (bots, the bot's own messages, channel chatter, other servers when a
//! server is configured) is ignored. A message's channel may be a thread: the gateway does not
//! say, so the adapter asks once per channel and tells the translator ([`Translator::learn`]).

use std::collections::HashMap;
use std::sync::RwLock;

use serenity::all::{
    ApplicationId, ChannelId, ComponentInteraction, ComponentInteractionDataKind, GuildId, Message,
    RoleId, User, UserId,
};
use tracing::debug;

use crate::chat::event::{ChatEvent, ChatUser, Click, Inbound};
use crate::chat::platform::{MessageRef, ThreadRef};

pub const PLATFORM: &str = "discord";

/// Translates gateway payloads; knows who the bot is once Discord said so.
#[derive(Default)]
pub struct Translator {
    me: RwLock<Option<UserId>>,
    application: RwLock<Option<ApplicationId>>,
    /// The configured application: clicks for another one are ignored.
    configured_application: Option<ApplicationId>,
    guild: Option<GuildId>,
    /// Channel -> its parent when it is a thread, `None` when it is not.
    channels: RwLock<HashMap<ChannelId, Option<ChannelId>>>,
}

impl Translator {
    pub fn new(application: Option<u64>, guild: Option<u64>) -> Self {
        let application = application.filter(|id| *id != 0).map(ApplicationId::new);
        Self {
            application: RwLock::new(application),
            configured_application: application,
            guild: guild.filter(|id| *id != 0).map(GuildId::new),
            ..Self::default()
        }
    }

    pub fn set_me(&self, id: UserId) {
        if let Ok(mut me) = self.me.write() {
            *me = Some(id);
        }
    }

    pub fn me(&self) -> Option<UserId> {
        self.me.read().ok().and_then(|m| *m)
    }

    pub fn set_application(&self, id: ApplicationId) {
        if let Ok(mut a) = self.application.write() {
            a.get_or_insert(id);
        }
    }

    pub fn application(&self) -> Option<ApplicationId> {
        self.application.read().ok().and_then(|a| *a)
    }

    /// Records whether `channel` is a thread (and of which channel).
    pub fn learn(&self, channel: ChannelId, parent: Option<ChannelId>) {
        if let Ok(mut c) = self.channels.write() {
            c.insert(channel, parent);
        }
    }

    /// `Some(parent)` for a known thread, `Some(None)` for a known channel, `None` if unknown.
    pub fn parent_of(&self, channel: ChannelId) -> Option<Option<ChannelId>> {
        self.channels.read().ok()?.get(&channel).copied()
    }

    /// Whether a message may concern the bot at all: a person's, in the configured server
    /// (or a direct message), not the bot's own.
    pub fn wants(&self, msg: &Message) -> bool {
        let own = self.me() == Some(msg.author.id);
        let foreign = matches!((self.guild, msg.guild_id), (Some(g), Some(m)) if g != m);
        !(msg.author.bot || msg.author.system || own || foreign || msg.webhook_id.is_some())
    }

    pub fn mentions_me(&self, msg: &Message) -> bool {
        self.me()
            .is_some_and(|me| msg.mentions.iter().any(|u| u.id == me))
    }

    /// A wanted message as a chat event. `parent` is the channel's parent when the message is
    /// in a thread.
    pub fn message(&self, msg: &Message, parent: Option<ChannelId>) -> Option<ChatEvent> {
        if !self.wants(msg) {
            return None;
        }
        let direct = msg.guild_id.is_none();
        let mentioned = direct || self.mentions_me(msg);
        if !mentioned && parent.is_none() {
            return None; // channel chatter, neither for us nor in a thread
        }
        let here = msg.channel_id.to_string();
        let channel = parent.map_or_else(|| here.clone(), |p| p.to_string());
        let groups = msg
            .member
            .as_ref()
            .map(|m| ids(&m.roles))
            .unwrap_or_default();
        Some(ChatEvent::Message(Inbound {
            platform: PLATFORM.into(),
            thread: parent.map(|_| ThreadRef {
                platform: PLATFORM.into(),
                channel: channel.clone(),
                id: here.clone(),
            }),
            message: MessageRef {
                platform: PLATFORM.into(),
                channel: here,
                id: msg.id.to_string(),
            },
            user: user(&msg.author, groups),
            text: self.strip_mention(&msg.content),
            mentioned,
            channel,
        }))
    }

    /// A button click as a chat event. The click's token carries what answering it needs:
    /// `application:interaction:token`.
    pub fn click(&self, i: &ComponentInteraction) -> Option<Click> {
        if !matches!(i.data.kind, ComponentInteractionDataKind::Button) {
            debug!(custom_id = %i.data.custom_id, "discord component other than a button ignored");
            return None;
        }
        if self
            .configured_application
            .is_some_and(|a| a != i.application_id)
        {
            debug!(application = %i.application_id, "discord click for another application ignored");
            return None;
        }
        if matches!((self.guild, i.guild_id), (Some(g), Some(c)) if g != c) {
            debug!("discord click from another server ignored");
            return None;
        }
        self.set_application(i.application_id);
        let (who, groups) = match &i.member {
            Some(m) => (&m.user, ids(&m.roles)),
            None => (&i.user, Vec::new()),
        };
        let channel = i.channel_id.to_string();
        Some(Click {
            platform: PLATFORM.into(),
            message: MessageRef {
                platform: PLATFORM.into(),
                channel: channel.clone(),
                id: i.message.id.to_string(),
            },
            channel,
            user: user(who, groups),
            action: i.data.custom_id.clone(),
            token: format!("{}:{}:{}", i.application_id, i.id, i.token),
        })
    }

    /// The text without the bot's mention (`<@id>` or `<@!id>`).
    fn strip_mention(&self, text: &str) -> String {
        let Some(me) = self.me() else {
            return text.trim().to_string();
        };
        let stripped = text
            .replace(&format!("<@{me}>"), " ")
            .replace(&format!("<@!{me}>"), " ");
        stripped.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

fn ids(roles: &[RoleId]) -> Vec<String> {
    roles.iter().map(ToString::to_string).collect()
}

fn user(u: &User, groups: Vec<String>) -> ChatUser {
    ChatUser {
        platform: PLATFORM.into(),
        id: u.id.to_string(),
        name: Some(u.global_name.clone().unwrap_or_else(|| u.name.clone())),
        groups,
    }
}

/// What a click's token carries, for answering it.
pub struct ClickToken<'a> {
    pub application: ApplicationId,
    pub interaction: serenity::all::InteractionId,
    pub token: &'a str,
}

impl<'a> ClickToken<'a> {
    pub fn parse(s: &'a str) -> Option<Self> {
        let mut parts = s.splitn(3, ':');
        let application = parts.next()?.parse::<u64>().ok().filter(|n| *n != 0)?;
        let interaction = parts.next()?.parse::<u64>().ok().filter(|n| *n != 0)?;
        let token = parts.next().filter(|t| !t.is_empty())?;
        Some(Self {
            application: ApplicationId::new(application),
            interaction: serenity::all::InteractionId::new(interaction),
            token,
        })
    }
}

#[cfg(test)]
mod tests;
