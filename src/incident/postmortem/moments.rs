//! The compact timeline: one line per entry worth telling (detection, analysis, proposals,
//! decisions, actions, checks, state changes, notes), each readable without its data, and
//! the middle of a long timeline left out.

use serde_json::Value;

use super::assemble::{analysis_source, text};
use super::model::{Moment, MomentKind};
use crate::incident::{TimelineEntry, TimelineKind};

/// The timeline keeps its first `HEAD` and last `MAX_MOMENTS - HEAD - 1` moments.
const MAX_MOMENTS: usize = 40;
const HEAD: usize = 12;
/// Longest text of one timeline moment, in characters.
const MAX_MOMENT_TEXT: usize = 300;

/// The moments of `entries` (sorted by time), compacted.
pub(super) fn moments<'a>(entries: impl IntoIterator<Item = &'a TimelineEntry>) -> Vec<Moment> {
    compact(dedup_endings(entries.into_iter().filter_map(moment)))
}

/// One timeline entry as a line of the postmortem; None for kinds it does not tell.
fn moment(e: &TimelineEntry) -> Option<Moment> {
    let d = &e.data;
    let or_text = |s: Option<String>| s.unwrap_or_else(|| e.text.clone());
    let (kind, text) = match e.kind {
        TimelineKind::Detected => (MomentKind::Detected, e.text.clone()),
        TimelineKind::Severity => (MomentKind::Severity, e.text.clone()),
        TimelineKind::Transition => {
            let kind = match transition_target(&e.text) {
                Some("resolved") => MomentKind::Resolution,
                Some("escalated") => MomentKind::Escalation,
                _ => MomentKind::State,
            };
            (kind, e.text.clone())
        }
        TimelineKind::Analysis => {
            let line = text(d, "root_cause").map(|root| {
                let confidence = d
                    .get("confidence")
                    .and_then(Value::as_f64)
                    .map(|c| format!(", {:.0}%", c * 100.0))
                    .unwrap_or_default();
                let first = root.lines().next().unwrap_or_default().trim();
                format!("{first} ({}{confidence})", analysis_source(d))
            });
            (MomentKind::Analysis, or_text(line))
        }
        TimelineKind::Proposal => {
            let line = text(d, "action").map(|action| {
                let mut s = action.to_string();
                let tags: Vec<String> = [("", "approval"), ("risk ", "risk"), ("from ", "source")]
                    .iter()
                    .filter_map(|(p, k)| text(d, k).map(|v| format!("{p}{v}")))
                    .collect();
                if !tags.is_empty() {
                    s.push_str(&format!(" ({})", tags.join(", ")));
                }
                if let Some(summary) = text(d, "summary") {
                    s.push_str(&format!(": {summary}"));
                }
                s
            });
            (MomentKind::Proposal, or_text(line))
        }
        TimelineKind::Decision => {
            let line = text(d, "verdict").map(|verdict| {
                let mut s = format!("{} {verdict}", text(d, "approval").unwrap_or("proposal"));
                // The actor is shown beside the line; name a different decider only.
                if let Some(by) = text(d, "by").filter(|by| e.actor.as_deref() != Some(*by)) {
                    s.push_str(&format!(" by {by}"));
                }
                if let Some(platform) = text(d, "platform") {
                    s.push_str(&format!(" on {platform}"));
                }
                if let Some(reason) = text(d, "reason") {
                    s.push_str(&format!(": {reason}"));
                }
                s
            });
            (MomentKind::Decision, or_text(line))
        }
        TimelineKind::Action => {
            let line = text(d, "action").map(|action| {
                let approval = text(d, "approval")
                    .map(|a| format!(" ({a})"))
                    .unwrap_or_default();
                let result = text(d, "result").unwrap_or("unknown");
                let error = text(d, "error")
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default();
                format!("{action}{approval}: {result}{error}")
            });
            (MomentKind::Action, or_text(line))
        }
        TimelineKind::Outcome => {
            let what = text(d, "what");
            let kind = match what {
                Some("resolved") => MomentKind::Resolution,
                Some("escalated") => MomentKind::Escalation,
                _ => MomentKind::Verification,
            };
            let line = what.map(|w| match text(d, "details") {
                Some(details) => format!("{}: {details}", w.replace('_', " ")),
                None => w.replace('_', " "),
            });
            (kind, or_text(line))
        }
        TimelineKind::Absorbed | TimelineKind::Merged => (MomentKind::Merge, e.text.clone()),
        TimelineKind::Note => (MomentKind::Note, e.text.clone()),
        TimelineKind::Signal
        | TimelineKind::SignalCleared
        | TimelineKind::Announced
        | TimelineKind::Chat => return None,
    };
    Some(Moment {
        at: e.at,
        kind,
        actor: e.actor.clone(),
        text: cut(&text, MAX_MOMENT_TEXT),
    })
}

/// The loop records an outcome (`resolved`) and the tracker the transition to it: one line.
fn dedup_endings(moments: impl Iterator<Item = Moment>) -> Vec<Moment> {
    let mut out: Vec<Moment> = Vec::new();
    for m in moments {
        let ending = matches!(m.kind, MomentKind::Resolution | MomentKind::Escalation);
        if ending && out.last().is_some_and(|last| last.kind == m.kind) {
            continue;
        }
        out.push(m);
    }
    out
}

/// Keeps the beginning and the end of a long timeline, saying how much was left out.
fn compact(mut moments: Vec<Moment>) -> Vec<Moment> {
    if moments.len() <= MAX_MOMENTS {
        return moments;
    }
    let tail = MAX_MOMENTS - HEAD - 1;
    let left_out = moments.len() - HEAD - tail;
    let gap_at = moments[HEAD].at;
    let rest = moments.split_off(moments.len() - tail);
    moments.truncate(HEAD);
    moments.push(Moment {
        at: gap_at,
        kind: MomentKind::Omitted,
        actor: None,
        text: format!("{left_out} more entries"),
    });
    moments.extend(rest);
    moments
}

/// `analyzing -> resolved: note` -> `resolved`.
pub(super) fn transition_target(text: &str) -> Option<&str> {
    let (_, to) = text.split_once("->")?;
    let to = to.split(':').next()?.trim();
    (!to.is_empty()).then_some(to)
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}
