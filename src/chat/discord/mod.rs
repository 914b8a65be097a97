//! Discord, on serenity: incident cards as embeds with buttons, a thread per incident, edits,
//! ephemeral notes, mentions and thread replies, over the gateway.
//!
//! - `config`: the `platforms.discord` section;
//! - `render`: the neutral message as content, an embed and components within Discord's
//!   limits (pure);
//! - `rest`: REST calls built by serenity, with failures (429 bodies included) classified for
//!   the outbound queue;
//! - `inbound`: gateway payloads as chat events;
//! - `gateway`: signing in, serenity's gateway client, clicks answered on arrival;
//! - `platform`: [`DiscordPlatform`], the [`crate::chat::ChatPlatform`] implementation.

pub mod config;
mod gateway;
pub mod inbound;
mod platform;
pub mod render;
pub mod rest;

pub use config::DiscordConfig;
pub use gateway::intents;
pub use platform::DiscordPlatform;
