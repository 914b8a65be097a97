//! The shipped catalogue: one line per action family or tool. Adding an action is a file in its
//! family's module plus a `register` line there (or here for a new family).

use super::registry::Registry;

/// Registers every shipped action and read-only tool.
pub fn register_all(_registry: &mut Registry) {}
