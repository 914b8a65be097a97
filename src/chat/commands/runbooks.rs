//! `runbooks` (the list) and `runbooks <name>` (one in full: trigger, steps, explanation).

use super::Commands;
use crate::chat::message::{Message, Text};
use crate::runbook::Runbook;

impl Commands {
    pub(super) fn runbooks(&self) -> Message {
        if self.runbooks.is_empty() {
            return Message::text("No runbooks are loaded.");
        }
        let mut m =
            Message::text(Text::plain("").bold(format!("{} runbooks", self.runbooks.len())));
        for b in self.runbooks.iter() {
            m = m.paragraph(Text::plain("• ").code(&b.name).and(format!(
                " — {} ({})",
                first_line(&b.description),
                trigger(b)
            )));
        }
        m.context("`runbooks <name>` shows one in full.")
    }

    pub(super) fn runbook(&self, name: &str) -> Message {
        let Some(b) = self
            .runbooks
            .iter()
            .find(|b| b.name.eq_ignore_ascii_case(name))
        else {
            return Message::text(
                Text::plain("No runbook ")
                    .code(name)
                    .and(". ")
                    .code("runbooks")
                    .and(" lists them."),
            );
        };
        let mut m = Message::text(Text::plain("").bold(format!("Runbook {}", b.name)))
            .paragraph(b.description.trim().to_string())
            .paragraph(Text::plain("").bold("When: ").and(trigger(b)));
        if b.steps.is_empty() {
            m = m.paragraph("No steps: it explains and observes.");
        }
        for (i, step) in b.steps.iter().enumerate() {
            let params = serde_json::to_string(&step.params).unwrap_or_default();
            m = m
                .paragraph(
                    Text::plain(format!("{}. ", i + 1))
                        .code(&step.action)
                        .and(format!(" — {}", first_line(&step.why))),
                )
                .code(params);
        }
        if let Some(explain) = &b.explain {
            m = m.paragraph(
                Text::plain("")
                    .bold("Explains: ")
                    .and(explain.trim().to_string()),
            );
        }
        m.context("Every step is proposed for approval in the incident's thread.")
    }
}

fn first_line(text: &str) -> &str {
    text.trim().lines().next().unwrap_or_default()
}

/// `crash_loop, oom_killed on Deployment; at least high; rolled out within 30m`.
fn trigger(b: &Runbook) -> String {
    let t = &b.trigger;
    let mut parts = Vec::new();
    let signals: Vec<&str> = t.signals.iter().map(|s| s.as_str()).collect();
    parts.push(format!(
        "{} on {}",
        if signals.is_empty() {
            "any signal".to_string()
        } else {
            signals.join(", ")
        },
        t.kinds.join(", ")
    ));
    if let Some(s) = t.min_severity {
        parts.push(format!("at least {s}"));
    }
    if !t.namespaces.include.is_empty() {
        parts.push(format!("in {}", t.namespaces.include.join(", ")));
    }
    if !t.namespaces.exclude.is_empty() {
        parts.push(format!("not in {}", t.namespaces.exclude.join(", ")));
    }
    let c = &t.conditions;
    if let Some(d) = c.rolled_out_within {
        parts.push(format!(
            "rolled out within {}",
            humantime::format_duration(d)
        ));
    }
    if let Some(d) = c.not_rolled_out_within {
        parts.push(format!(
            "not rolled out within {}",
            humantime::format_duration(d)
        ));
    }
    if let Some(n) = c.min_count {
        parts.push(format!("count at least {n}"));
    }
    parts.join("; ")
}
