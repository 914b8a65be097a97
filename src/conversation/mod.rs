//! Conversations: people ask the bot about the cluster by mentioning it, anywhere, and it
//! answers in a thread, grounded in live state and Lookout's incident records.
//!
//! A mention that is no command is a question ([`Conversations`] is the chat handler's
//! `QuestionHandler`); any later reply in that thread, with or without a mention, continues
//! it (its `ReplyHandler`), except in a thread that was there before the question (an
//! incident's, people's), where only mentions do. Each answer is a bounded loop with the model over read-only tools
//! only ([`tools`]): the catalogue's get/describe/logs/events/list plus incidents, incident
//! timelines, rollout history and node conditions. A model that asks for a change is refused
//! and told so; it may only *suggest* one, shown under the answer with a Propose button
//! ([`propose`]) that asks for it through the normal approval path of the incident it belongs
//! to ([`suggestions`] keeps it for the button). Everything sent to
//! the model is redacted; what the answer looked at is cited by Lookout, not by the model
//! ([`cite`]). Memory lives in the store per thread with a TTL, a turn cap and a size cap
//! ([`memory`]); per-person and per-channel limits keep the model's cost in check
//! ([`limits`]).
//!
//! Layout: `service` (the component, its tasks and posting), `ask` (the model loop), `tools`,
//! `tools_store`, `tools_cluster` (what it may call), `memory`, `limits`, `cite`, `reply`
//! (pure: what is said in chat), `suggestions` and `propose` (the Propose button), `config`,
//! `metrics`.

mod ask;
pub mod cite;
mod config;
pub mod limits;
pub mod memory;
mod metrics;
pub mod propose;
pub mod reply;
mod service;
pub mod suggestions;
pub mod tools;
mod tools_cluster;
mod tools_store;

pub use ask::{Answer, AskError};
pub use config::{ConversationsConfig, RateLimit};
pub use metrics::ConversationMetrics;
pub use propose::{PROPOSE, ProposeButton};
pub use service::{Conversations, Deps};
