//! The redaction hook: everything from the cluster that is posted to chat (evidence
//! messages, logs, describe output) passes through a [`Redact`] first. The real redactor
//! (secrets, tokens, keys) plugs in here; until configured, text passes unchanged.

use std::sync::Arc;

pub trait Redact: Send + Sync + 'static {
    fn redact(&self, text: &str) -> String;
}

/// Passes text through unchanged.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoRedaction;

impl Redact for NoRedaction {
    fn redact(&self, text: &str) -> String {
        text.to_string()
    }
}

pub type SharedRedact = Arc<dyn Redact>;
