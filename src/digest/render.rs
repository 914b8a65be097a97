//! A digest as a chat message (neutral model; every platform renders it). Everything from the
//! cluster in it (titles, summaries) passes the redaction hook.

use chrono::Duration;

use super::facts::Digest;
use crate::chat::cards::human_duration;
use crate::chat::message::{Block, Message, Text, Tone};
use crate::chat::redact::Redact;
use crate::incident::IncidentState;

/// Lines listed per section; the rest are counted.
const MAX_LINES: usize = 10;
/// Namespaces listed under cluster health.
const MAX_NAMESPACES: usize = 5;

pub fn message(d: &Digest, summary: Option<&str>, redact: &dyn Redact) -> Message {
    let period = format!(
        "{} – {}",
        d.from.format("%Y-%m-%d %H:%M"),
        d.to.format("%Y-%m-%d %H:%M UTC")
    );
    let tone = if d.open.is_empty() {
        Tone::Good
    } else {
        Tone::Info
    };
    let mut m = Message::default().with_header(format!("Digest for {}", d.cluster), "DIGEST", tone);
    m = m.context(period);
    if let Some(s) = summary {
        m = m.paragraph(redact.redact(s));
    }

    m = m.paragraph(Text::plain("").bold(format!("Open incidents: {}", d.open.len())));
    for o in d.open.iter().take(MAX_LINES) {
        let acked = o
            .acked_by
            .as_deref()
            .map(|a| format!(", acked by {a}"))
            .unwrap_or_default();
        m = m.paragraph(
            Text::plain("• ")
                .bold(format!("[{}]", o.severity.as_str().to_uppercase()))
                .and(" ")
                .code(&o.id)
                .and(format!(
                    " {} ({}, open {}{acked})",
                    redact.redact(&o.title),
                    o.state.as_str().replace('_', " "),
                    human_duration(o.age)
                )),
        );
    }
    more(&mut m, d.open.len());

    let resolved = d
        .ended
        .iter()
        .filter(|e| e.state == IncidentState::Resolved)
        .count();
    let dismissed = d.ended.len() - resolved;
    let mut head = format!("Opened {}, resolved {resolved}", d.opened);
    if dismissed > 0 {
        head.push_str(&format!(", dismissed {dismissed}"));
    }
    if let Some(median) = d.median_time_to_resolve {
        head.push_str(&format!(" (median time to resolve {})", human(median)));
    }
    m = m.paragraph(Text::plain("").bold(head));
    for e in d.ended.iter().take(MAX_LINES) {
        let by =
            e.by.as_deref()
                .map(|b| format!(" by {b}"))
                .unwrap_or_default();
        let what = if e.state == IncidentState::Dismissed {
            "dismissed"
        } else {
            "resolved"
        };
        m = m.paragraph(Text::plain("• ").code(&e.id).and(format!(
            " {} — {what}{by} in {}",
            redact.redact(&e.title),
            human(e.time_to_resolve)
        )));
    }
    more(&mut m, d.ended.len());

    if !d.noisiest.is_empty() {
        m = m.paragraph(Text::plain("").bold("Noisiest"));
        for n in &d.noisiest {
            m = m.paragraph(Text::plain("• ").code(&n.workload).and(format!(
                ": {} incident{}, {} signal{}",
                n.incidents,
                plural(n.incidents),
                n.signals,
                plural(n.signals as usize)
            )));
        }
    }

    m = m.paragraph(Text::plain("").bold(format!("Actions executed: {}", d.actions.len())));
    for a in d.actions.iter().take(MAX_LINES) {
        let by = if a.approved_by.is_empty() {
            String::new()
        } else {
            format!(", approved by {}", a.approved_by.join(" and "))
        };
        m = m.paragraph(Text::plain("• ").code(&a.action).and(format!(
            " on {} ({}{by}): {}",
            a.incident,
            a.result,
            redact.redact(&a.summary)
        )));
    }
    more(&mut m, d.actions.len());

    if !d.pending.is_empty() {
        m = m.paragraph(Text::plain("").bold(format!("Waiting for approval: {}", d.pending.len())));
        for p in d.pending.iter().take(MAX_LINES) {
            m = m.paragraph(Text::plain("• ").code(&p.incident).and(format!(
                " {} (expires {})",
                redact.redact(&p.summary),
                p.expires_at.format("%H:%M UTC")
            )));
        }
    }

    m = m.block(Block::Divider);
    match &d.health {
        Some(h) => {
            for line in h.lines(MAX_NAMESPACES) {
                m = m.paragraph(line);
            }
        }
        None => m = m.context("Cluster health: the API server could not be read."),
    }
    m
}

fn more(m: &mut Message, n: usize) {
    if n > MAX_LINES {
        *m = std::mem::take(m).context(format!("… and {} more", n - MAX_LINES));
    }
}

fn human(d: Duration) -> String {
    human_duration(d)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
