//! Which runbook applies to an incident: pure, tiered, deterministic.

use chrono::{DateTime, Utc};

use super::model::Runbook;
use crate::correlate;
use crate::detect::Signal;
use crate::incident::Incident;

/// What the cluster says beyond the incident (looked up by the caller).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// When the root workload's newest revision was rolled out.
    pub rolled_out_at: Option<DateTime<Utc>>,
}

/// A runbook that applies, and the signal that made it apply.
#[derive(Debug, Clone, PartialEq)]
pub struct Match<'a> {
    pub runbook: &'a Runbook,
    pub signal: &'a Signal,
    /// 1: the runbook names the signal; 2: generic (severity and kind).
    pub tier: u8,
}

/// The runbook for an incident: first one that names one of its active signals (heaviest
/// signal first, most specific runbook first), else a generic one; `None` if none applies.
pub fn select<'a>(
    books: &'a [Runbook],
    incident: &'a Incident,
    facts: &Facts,
    now: DateTime<Utc>,
) -> Option<Match<'a>> {
    let mut signals: Vec<&Signal> = incident.active_signals().collect();
    signals.sort_by_key(|s| std::cmp::Reverse((correlate::default_weight(s.name), s.name)));
    let mut ordered: Vec<&Runbook> = books.iter().collect();
    ordered.sort_by(|a, b| {
        b.specificity()
            .cmp(&a.specificity())
            .then_with(|| a.name.cmp(&b.name))
    });
    for signal in &signals {
        for book in ordered.iter().filter(|b| !b.trigger.signals.is_empty()) {
            if book.trigger.signals.contains(&signal.name)
                && applies(book, incident, signal, facts, now)
            {
                return Some(Match {
                    runbook: book,
                    signal,
                    tier: 1,
                });
            }
        }
    }
    let signal = signals.first()?;
    ordered
        .iter()
        .filter(|b| b.trigger.signals.is_empty())
        .find(|b| applies(b, incident, signal, facts, now))
        .map(|book| Match {
            runbook: book,
            signal,
            tier: 2,
        })
}

fn applies(
    book: &Runbook,
    incident: &Incident,
    signal: &Signal,
    facts: &Facts,
    now: DateTime<Utc>,
) -> bool {
    let t = &book.trigger;
    if t.min_severity.is_some_and(|min| incident.severity < min) {
        return false;
    }
    if !t.kinds.iter().any(|k| k == &signal.owner.kind) {
        return false;
    }
    let ns = signal.owner.namespace.as_deref();
    let matches = |p: &String, ns: &str| match p.strip_suffix('*') {
        Some(prefix) => ns.starts_with(prefix),
        None => p == ns,
    };
    match ns {
        Some(ns) => {
            if t.namespaces.exclude.iter().any(|p| matches(p, ns)) {
                return false;
            }
            if !t.namespaces.include.is_empty()
                && !t.namespaces.include.iter().any(|p| matches(p, ns))
            {
                return false;
            }
        }
        None => {
            if !t.namespaces.include.is_empty() {
                return false;
            }
        }
    }
    let c = &t.conditions;
    let age = facts
        .rolled_out_at
        .map(|at| (now - at).to_std().unwrap_or_default());
    if let Some(within) = c.rolled_out_within
        && age.is_none_or(|a| a > within)
    {
        return false;
    }
    if let Some(not_within) = c.not_rolled_out_within
        && age.is_some_and(|a| a <= not_within)
    {
        return false;
    }
    if let Some(min) = c.min_count
        && signal.evidence.count.unwrap_or(0) < min
    {
        return false;
    }
    true
}
