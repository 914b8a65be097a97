//! The postmortem: what happened to an incident, told in its thread once it resolves or
//! escalates, and kept in the store.
//!
//! The facts (impact, timeline, actions with who approved them and what came of it, what was
//! rejected and why) are assembled from the incident record and its timeline by [`assemble`],
//! pure and deterministic. The narrative parts (summary, impact, root cause, lessons,
//! prevention) are written by the model where one is configured ([`write`]) and otherwise
//! derived from the same facts, so a postmortem is always posted. It renders through a
//! handlebars template (`templates/postmortem.hbs`) into a neutral chat message.
//!
//! `assemble` reads the timeline (`moments` tells it), `narrative` holds the deterministic narrative and the check
//! of the model's, `render` the template and the message, `write` the model call, `store` the
//! record.

mod assemble;
mod model;
mod moments;
mod narrative;
mod render;
mod store;
mod write;

#[cfg(test)]
mod tests;

pub use assemble::assemble;
pub use model::*;
pub use narrative::NarrativeError;
pub use render::{PostmortemTemplate, TemplateError};
pub use store::{COLLECTION, load, load_timeline, parse_entry, save};
pub use write::{prompt_vars, write};
