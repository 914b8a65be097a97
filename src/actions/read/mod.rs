//! Read-only tools for the agent and for people: `get`, `describe`, `logs`, `events`, `list`.
//! They run at once (no approval), return text bounded by `actions.read`, in a deterministic
//! order, and never read Secrets. Redaction is the caller's job: everything they return goes
//! through it before it reaches the model or a chat.

mod describe;
mod events;
mod format;
mod get;
mod list;
mod logs;

use schemars::{Schema, SchemaGenerator, json_schema};

use super::context::ActionContext;
use super::error::{ActionError, Result};
use super::guards;
use super::kinds::{self, KINDS, Kind};
use super::registry::Registry;

pub use describe::Describe;
pub use events::Events;
pub use get::Get;
pub use list::List;
pub use logs::{Logs, trim_log};

/// Registers the read-only tools.
pub fn register(registry: &mut Registry) {
    registry.register_tool(Get);
    registry.register_tool(Describe);
    registry.register_tool(Logs);
    registry.register_tool(Events);
    registry.register_tool(List);
}

/// The schema of a `kind` parameter: one of the kinds Lookout can read.
pub(crate) fn kind_schema(_: &mut SchemaGenerator) -> Schema {
    let names: Vec<&str> = KINDS.iter().map(|k| k.kind).collect();
    json_schema!({
        "type": "string",
        "enum": names,
        "description": "Kind of object (Secrets are never readable).",
    })
}

/// The kind a tool was asked for; Secrets are refused, unknown kinds are invalid.
pub(crate) fn read_kind(tool: &str, kind: &str) -> Result<&'static Kind> {
    if kinds::is_secret(kind) {
        return Err(ActionError::refused(
            guards::SECRETS,
            "Lookout never reads Secrets; a missing Secret or key shows in pod status and events",
        ));
    }
    kinds::lookup(kind).ok_or_else(|| {
        let known: Vec<&str> = KINDS.iter().map(|k| k.kind).collect();
        ActionError::invalid(
            tool,
            format!("kind `{kind}` is not one of {}", known.join(", ")),
        )
    })
}

/// The namespace to read in: required for namespaced kinds, ignored for cluster-scoped ones.
pub(crate) fn namespace_for<'a>(
    tool: &str,
    kind: &Kind,
    namespace: Option<&'a str>,
) -> Result<Option<&'a str>> {
    match (kind.namespaced, namespace) {
        (true, Some(ns)) => Ok(Some(ns)),
        (true, None) => Err(ActionError::invalid(
            tool,
            format!("namespace is required for {}", kind.kind),
        )),
        (false, _) => Ok(None),
    }
}

/// Bounds a tool's output by the configured budget.
pub(crate) fn bounded(ctx: &ActionContext, text: &str) -> String {
    format::bounded(text, ctx.config.read.max_output_chars)
}
