//! What the model (and people) are shown about an incident: the context builder.
//!
//! [`ContextBuilder::build`] reads the incident's primary resource, its pods, their owners,
//! events, logs (the previous container for crash loops), the Deployment's rollout history
//! and the nodes involved, and reduces each to facts ([`Context`]: typed sections). Rendering
//! ([`Context::render`]) turns them into compact plain text within a size budget, trimming
//! in a fixed priority order so the same state always gives the same text and the failing
//! container's evidence goes last. The context is NOT redacted here: the caller passes it
//! through the redactor before it goes anywhere.
//!
//! Layout: `builder` and `fetch` (IO, with `read` for timeouts and errors); `pods`,
//! `resource`, `events`, `rollout`, `nodes` (pure: objects to facts); `model` (the facts);
//! `entries`, `pod_entries`, `render`, `budget` (pure: facts to text); [`excerpt()`] (pure: the lines of a
//! log worth showing, reusable by the logs tool).

mod budget;
mod builder;
mod config;
mod entries;
mod events;
pub mod excerpt;
mod excerpt_blocks;
mod fetch;
mod model;
mod nodes;
mod pod_entries;
mod pods;
mod read;
mod render;
mod resource;
mod rollout;
mod rollout_diff;

#[cfg(test)]
mod tests;

pub use builder::ContextBuilder;
pub use config::{Budget, ContextConfig, SectionBudgets};
pub use excerpt::{excerpt, is_error_line};
pub use model::*;
pub use render::{DATA_CLOSE, DATA_OPEN, Section, SectionKind};

/// Why a context could not be built at all. Parts that cannot be read (forbidden, deleted,
/// timed out) do not fail the build; they are listed in [`Context::unavailable`].
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// The API server did not answer the first read (the primary resource); the other reads
    /// would only wait out their timeouts too.
    #[error("cannot reach the API server (reading {what}): {reason}")]
    Unreachable { what: String, reason: String },
}
