//! Runbooks: remediation written down by people (YAML in `runbooks/`), matched to incidents
//! before any model is asked. A runbook has a trigger (signals, minimum severity, root-owner
//! kinds, a namespace selector, conditions such as "rolled out within the last 30 minutes")
//! and ordered steps (an action and its parameters, each approved in chat), or only an
//! explanation when the right move is to observe. Matching is tiered: runbooks naming one of
//! the incident's signals first, then generic ones (severity and kind only).
//!
//! The shipped runbooks are compiled in; a configured directory overrides them by name and
//! adds its own. Parameters are handlebars templates over the incident (strict mode: a typo is
//! an error at `lookout check`, not at 3 a.m.).

mod matching;
mod model;
mod render;

pub use matching::{Facts, Match, select};
pub use model::*;
pub use render::{Step, explain, instantiate};

use std::path::Path;

/// The runbooks shipped with Lookout.
const SHIPPED: &[(&str, &str)] = &[
    (
        "oom-raise-memory.yaml",
        include_str!("../../runbooks/oom-raise-memory.yaml"),
    ),
    (
        "crashloop-after-rollout.yaml",
        include_str!("../../runbooks/crashloop-after-rollout.yaml"),
    ),
    (
        "image-pull-after-rollout.yaml",
        include_str!("../../runbooks/image-pull-after-rollout.yaml"),
    ),
    (
        "missing-config.yaml",
        include_str!("../../runbooks/missing-config.yaml"),
    ),
    (
        "node-not-ready.yaml",
        include_str!("../../runbooks/node-not-ready.yaml"),
    ),
    (
        "job-failed-retry.yaml",
        include_str!("../../runbooks/job-failed-retry.yaml"),
    ),
    (
        "hpa-at-max.yaml",
        include_str!("../../runbooks/hpa-at-max.yaml"),
    ),
];

/// Why runbooks cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("runbook {file}: {reason}")]
pub struct RunbookError {
    pub file: String,
    pub reason: String,
}

/// Loads the shipped runbooks, then those of `dir` (which replace shipped ones of the same
/// name). Every problem in every file is reported.
pub fn load(dir: Option<&Path>) -> Result<Vec<Runbook>, Vec<RunbookError>> {
    let mut errors = Vec::new();
    let mut books: Vec<Runbook> = Vec::new();
    for (file, text) in SHIPPED {
        match parse(file, text) {
            Ok(b) => books.push(b),
            Err(e) => errors.push(e),
        }
    }
    if let Some(dir) = dir {
        match std::fs::read_dir(dir) {
            Ok(entries) => {
                let mut paths: Vec<_> = entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| {
                        matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
                    })
                    .collect();
                paths.sort();
                for path in paths {
                    let file = path.display().to_string();
                    match std::fs::read_to_string(&path) {
                        Ok(text) => match parse(&file, &text) {
                            Ok(b) => {
                                books.retain(|old| old.name != b.name);
                                books.push(b);
                            }
                            Err(e) => errors.push(e),
                        },
                        Err(e) => errors.push(RunbookError {
                            file,
                            reason: format!("cannot read: {e}"),
                        }),
                    }
                }
            }
            Err(e) => errors.push(RunbookError {
                file: dir.display().to_string(),
                reason: format!("cannot read the runbooks directory: {e}"),
            }),
        }
    }
    let mut seen = std::collections::HashSet::new();
    for b in &books {
        if !seen.insert(&b.name) {
            errors.push(RunbookError {
                file: b.name.clone(),
                reason: "two runbooks have this name".into(),
            });
        }
    }
    if errors.is_empty() {
        Ok(books)
    } else {
        Err(errors)
    }
}

/// Parses and checks one runbook file (structure and templates; actions are checked against
/// the registry by [`check_actions`]).
pub fn parse(file: &str, text: &str) -> Result<Runbook, RunbookError> {
    let de = serde_yaml_ng::Deserializer::from_str(text);
    let book: Runbook = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string().trim_end_matches(".?").to_string();
        let reason = match path.as_str() {
            "." | "?" => e.into_inner().to_string(),
            _ => format!("{path}: {}", e.into_inner()),
        };
        RunbookError {
            file: file.to_string(),
            reason,
        }
    })?;
    book.validate().map_err(|reason| RunbookError {
        file: file.to_string(),
        reason,
    })?;
    render::check_templates(&book).map_err(|reason| RunbookError {
        file: file.to_string(),
        reason,
    })?;
    Ok(book)
}

/// Checks that every step names a known action; `known` answers for an action name.
pub fn check_actions(books: &[Runbook], known: impl Fn(&str) -> bool) -> Vec<RunbookError> {
    let mut errors = Vec::new();
    for b in books {
        for (i, step) in b.steps.iter().enumerate() {
            if !known(&step.action) {
                errors.push(RunbookError {
                    file: b.name.clone(),
                    reason: format!("steps[{i}].action: `{}` is not a known action", step.action),
                });
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests;
