//! Telegram, on teloxide: HTML messages with inline keyboards, edits in place, threads as
//! reply chains (or a forum topic per incident), callback answers as private notes, and updates
//! by long polling (default) or a webhook with a secret token.
//!
//! - `config`: the `platforms.telegram` section;
//! - `render`: the neutral message as Telegram HTML and a keyboard within its limits (pure);
//! - `api`: Bot API calls and their failures as the outbound queue sees them;
//! - `inbound`: updates as chat events (shared by both transports);
//! - `polling`, `webhook`: the two transports;
//! - `pacing`: Telegram's per-group message window;
//! - `platform`: [`TelegramPlatform`], the [`crate::chat::ChatPlatform`] implementation.

pub mod api;
pub mod config;
pub mod inbound;
mod pacing;
mod platform;
mod polling;
pub mod render;
mod webhook;

pub use config::{TelegramConfig, TelegramMode};
pub use platform::{TelegramError, TelegramPlatform};
pub use webhook::SECRET_HEADER;
