//! How an incident reads in chat: its card (edited in place as it evolves) and the details
//! posted in its thread. Neutral messages; every platform renders the same content.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::action::ActionCodec;
use super::commands;
use super::message::{Block, ButtonStyle, Field, Message, Text, Tone};
use super::redact::Redact;
use crate::correlate::Severity;
use crate::detect::{Signal, SignalName};
use crate::incident::{Incident, IncidentState};

/// Most signals listed in one details message; the rest are counted.
const MAX_DETAILS: usize = 12;

fn tone(severity: Severity) -> Tone {
    match severity {
        Severity::Low => Tone::Info,
        Severity::Medium => Tone::Warning,
        Severity::High => Tone::Danger,
        Severity::Critical => Tone::Critical,
    }
}

/// `12m`, `1h 5m`, `3d 4h`.
pub fn human_duration(d: chrono::Duration) -> String {
    let secs = d.num_seconds().max(0);
    let (days, hours, minutes) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, 0) => format!("{h}h"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, 0, _) => format!("{d}d"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

fn when(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!(
        "{} ({} ago)",
        t.format("%Y-%m-%d %H:%M UTC"),
        human_duration(now - t)
    )
}

/// `crash_loop ×3, oom_killed ×3`, heaviest first.
pub fn signal_summary(incident: &Incident) -> String {
    let mut counts: Vec<(SignalName, usize)> = incident.signal_counts().into_iter().collect();
    counts.sort_by_key(|(n, c)| {
        (
            std::cmp::Reverse(crate::correlate::default_weight(*n)),
            std::cmp::Reverse(*c),
        )
    });
    if counts.is_empty() {
        return "all clear".into();
    }
    counts
        .iter()
        .map(|(n, c)| {
            if *c > 1 {
                format!("{n} ×{c}")
            } else {
                n.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The incident card.
pub fn card(incident: &Incident, now: DateTime<Utc>, redact: &dyn Redact) -> Message {
    let (badge, tone) = match incident.state {
        IncidentState::Resolved => ("RESOLVED".to_string(), Tone::Good),
        IncidentState::Dismissed => ("DISMISSED".to_string(), Tone::Neutral),
        IncidentState::Merged => ("MERGED".to_string(), Tone::Neutral),
        _ => (
            incident.severity.as_str().to_uppercase(),
            tone(incident.severity),
        ),
    };
    let mut fields = vec![
        Field {
            label: "Incident".into(),
            value: Text::plain("").code(&incident.id),
        },
        Field {
            label: "Severity".into(),
            value: Text::plain(format!("{} (score {})", incident.severity, incident.score)),
        },
        Field {
            label: "State".into(),
            value: Text::plain(incident.state.as_str().replace('_', " ")),
        },
        Field {
            label: "Resource".into(),
            value: Text::plain(incident.primary.to_string()),
        },
        Field {
            label: "First seen".into(),
            value: Text::plain(when(incident.created_at, now)),
        },
        Field {
            label: "Signals".into(),
            value: Text::plain(signal_summary(incident)),
        },
    ];
    let pods = incident.pods().len();
    let workloads = incident.workloads().len();
    if pods > 0 || workloads > 1 {
        fields.push(Field {
            label: "Affected".into(),
            value: Text::plain(format!(
                "{pods} pod{}, {workloads} workload{}",
                if pods == 1 { "" } else { "s" },
                if workloads == 1 { "" } else { "s" }
            )),
        });
    }
    let mut m = Message::default()
        .with_header(redact.redact(&incident.title), badge, tone)
        .block(Block::Fields { fields });
    if let Some(d) = &incident.diagnosis {
        m = m.paragraph(Text::plain("").bold("Diagnosis: ").and(redact.redact(d)));
    }
    match incident.state {
        IncidentState::Resolved => {
            let by = incident
                .ended_by
                .as_deref()
                .map(|b| format!(" by {b}"))
                .unwrap_or_default();
            m = m.context(format!(
                "Resolved{by} after {}.",
                human_duration(incident.duration(now))
            ));
        }
        IncidentState::Dismissed => {
            m = m.context(format!(
                "Dismissed as a false alarm{}.",
                incident
                    .ended_by
                    .as_deref()
                    .map(|b| format!(" by {b}"))
                    .unwrap_or_default()
            ));
        }
        IncidentState::Merged => {
            if let Some(into) = &incident.merged_into {
                m = m.paragraph(
                    Text::plain("Merged into ")
                        .code(into)
                        .and(": updates continue there."),
                );
            }
        }
        _ => {
            if let Some(a) = &incident.acked {
                m = m.context(format!(
                    "Acknowledged by {} at {}.",
                    crate::incident::silence::who(&a.by, a.name.as_deref()),
                    a.at.format("%H:%M UTC")
                ));
            }
            if let Some(s) = incident.silenced.as_ref().filter(|s| s.until > now) {
                m = m.context(format!(
                    "Silenced until {} by {} ({}): no reminders, no new incidents for it.",
                    s.until.format("%H:%M UTC"),
                    s.by,
                    s.silence
                ));
            }
            m = m.context(format!("{} · details in the thread", incident.cluster));
            m = buttons(m, incident, now);
        }
    }
    m
}

/// Ack and Silence 1h, while there is something left to do with them.
fn buttons(mut m: Message, incident: &Incident, now: DateTime<Utc>) -> Message {
    let codec = ActionCodec::new(&incident.cluster);
    // The cluster is in the action id's tag; the short id keeps it within Telegram's 64 bytes.
    let short = incident.id.rsplit('/').next().unwrap_or(&incident.id);
    if incident.acked.is_none() {
        m = m.button(
            "Ack",
            codec.encode(commands::ACK, short),
            ButtonStyle::Primary,
        );
    }
    if incident.silenced.as_ref().is_none_or(|s| s.until <= now) {
        m = m.button(
            "Silence 1h",
            codec.encode(commands::SILENCE, short),
            ButtonStyle::Default,
        );
    }
    m
}

/// The details posted in the incident's thread: each signal with its evidence.
pub fn details(incident: &Incident, redact: &dyn Redact) -> Message {
    let mut m = Message::default().paragraph(Text::plain("").bold("What Lookout sees"));
    let active: Vec<&Signal> = incident.active_signals().collect();
    // One line per signal name and object kind; evidence from the first of each.
    let mut groups: BTreeMap<(SignalName, String), Vec<&Signal>> = BTreeMap::new();
    for s in &active {
        groups
            .entry((s.name, s.object.kind.clone()))
            .or_default()
            .push(s);
    }
    for ((name, _), signals) in groups.iter().take(MAX_DETAILS) {
        let first = signals[0];
        let mut line = Text::plain("• ")
            .bold(name.as_str())
            .and(" on ")
            .code(first.object.to_string());
        if signals.len() > 1 {
            line = line.and(format!(" and {} more", signals.len() - 1));
        }
        if let Some(c) = &first.evidence.container {
            line = line.and(format!(" (container {c})"));
        }
        if !first.evidence.reason.is_empty() {
            line = line.and(": ").and(redact.redact(&first.evidence.reason));
        }
        m = m.paragraph(line);
        if !first.evidence.message.is_empty() {
            m = m.code(redact.redact(&first.evidence.message));
        }
    }
    if groups.len() > MAX_DETAILS {
        m = m.context(format!(
            "… and {} more kinds of signal",
            groups.len() - MAX_DETAILS
        ));
    }
    if active.is_empty() {
        m = m.context("All signals have cleared.");
    }
    m
}
