//! Chat: the neutral message model, the platform trait, routing, the outbound queue, and the
//! behaviour (incident cards and threads, commands, clicks) written once for every platform.
//! Platform adapters (`slack`, `console`, ...) only translate.

pub mod action;
pub mod cards;
pub mod commands;
pub mod console;
pub mod discord;
pub mod event;
pub mod fit;
pub mod handler;
pub mod message;
pub mod notifier;
pub mod ops;
pub mod outbound;
pub mod platform;
pub mod redact;
pub mod reminders;
pub mod routing;
pub mod slack;
pub mod telegram;

pub use action::{Action, ActionCodec, ActionError};
pub use event::{ChatEvent, ChatUser, Click, Inbound};
pub use message::{Block, Button, ButtonStyle, Field, Header, Mention, Message, Span, Text, Tone};
pub use platform::{ChatPlatform, Limits, MessageRef, SendError, SharedPlatform, ThreadRef};
