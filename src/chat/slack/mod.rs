//! Slack, on slack-morphism: Block Kit cards with buttons, threads, edits, ephemeral notes,
//! and events by Socket Mode (default) or the HTTP Events API.
//!
//! - `config`: the `platforms.slack` section;
//! - `render`: the neutral message as Block Kit within Slack's limits (pure);
//! - `api`: Web API calls and their failures as the outbound queue sees them;
//! - `inbound`: Slack payloads as chat events (shared by both transports);
//! - `socket`, `events_api`: the two transports;
//! - `platform`: [`SlackPlatform`], the [`crate::chat::ChatPlatform`] implementation.

pub mod api;
mod backoff;
pub mod config;
mod events_api;
pub mod inbound;
mod platform;
pub mod render;
mod socket;

pub use config::{SlackConfig, SlackMode};
pub use platform::{SlackError, SlackPlatform};
