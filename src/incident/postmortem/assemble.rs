//! From the incident record and its timeline to the postmortem's facts. Pure and
//! deterministic: the same incident, timeline and `now` give the same postmortem.
//!
//! The remediation loop writes the timeline; this reads it leniently. A missing or mistyped
//! data field falls back to the entry's text, an entry that refers to an unknown approval is
//! still listed, and kinds the postmortem does not tell (signals, chat messages) are skipped.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::model::*;
use super::moments::{moments, transition_target};
use super::narrative;
use crate::correlate::default_weight;
use crate::detect::SignalName;
use crate::incident::{Incident, IncidentState, TimelineEntry, TimelineKind};

/// Pods named in the impact; the rest are counted.
const MAX_PODS: usize = 10;
const MAX_EVIDENCE: usize = 5;

/// The postmortem of `incident` as of `now`, with the deterministic narrative.
pub fn assemble(incident: &Incident, timeline: &[TimelineEntry], now: DateTime<Utc>) -> Postmortem {
    let mut entries: Vec<&TimelineEntry> = timeline.iter().collect();
    // Stable: entries with the same time keep the order they were appended in.
    entries.sort_by_key(|e| e.at);
    let outcome = outcome(incident, &entries);
    let ended_at = ended_at(incident, outcome, &entries, now).max(incident.created_at);
    let (actions, rejected) = remediation(&entries);
    let mut pm = Postmortem {
        incident_id: incident.id.clone(),
        cluster: incident.cluster.clone(),
        title: incident.title.clone(),
        resource: incident.primary.to_string(),
        outcome,
        opened_at: incident.created_at,
        ended_at,
        impact: impact(incident, (ended_at - incident.created_at).num_seconds()),
        diagnosis: diagnosis(&entries),
        timeline: moments(entries.iter().copied()),
        actions,
        rejected,
        narrative: narrative::placeholder(),
    };
    let names: BTreeSet<SignalName> = incident.signals.values().map(|e| e.signal.name).collect();
    pm.narrative = narrative::deterministic(&pm, incident.diagnosis.as_deref(), &names);
    pm
}

fn outcome(incident: &Incident, entries: &[&TimelineEntry]) -> Outcome {
    match incident.state {
        IncidentState::Resolved => Outcome::Resolved,
        IncidentState::Escalated => Outcome::Escalated,
        IncidentState::Dismissed => Outcome::Dismissed,
        IncidentState::Merged => Outcome::Merged,
        // The loop may ask for the postmortem just before the record's transition lands.
        _ => match entries
            .iter()
            .rev()
            .filter(|e| e.kind == TimelineKind::Outcome)
            .find_map(|e| text(&e.data, "what"))
        {
            Some("resolved") => Outcome::Resolved,
            Some("escalated") => Outcome::Escalated,
            _ => Outcome::Ongoing,
        },
    }
}

/// When the outcome happened: the record's resolution time, else the last entry saying so.
fn ended_at(
    incident: &Incident,
    outcome: Outcome,
    entries: &[&TimelineEntry],
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    if outcome == Outcome::Ongoing {
        return now;
    }
    if let Some(at) = incident
        .resolved_at
        .filter(|_| outcome != Outcome::Escalated)
    {
        return at;
    }
    let word = outcome.as_str();
    entries
        .iter()
        .rev()
        .find(|e| match e.kind {
            TimelineKind::Outcome => text(&e.data, "what") == Some(word),
            TimelineKind::Transition => transition_target(&e.text) == Some(word),
            _ => false,
        })
        .map(|e| e.at)
        .unwrap_or(incident.updated_at)
}

fn impact(incident: &Incident, duration_secs: i64) -> Impact {
    let pods: Vec<String> = incident
        .pods()
        .iter()
        .map(|p| match &p.namespace {
            Some(ns) => format!("{ns}/{}", p.name),
            None => p.name.clone(),
        })
        .collect();
    let mut nodes: BTreeSet<String> = BTreeSet::new();
    let mut counts: BTreeMap<SignalName, usize> = BTreeMap::new();
    for e in incident.signals.values() {
        *counts.entry(e.signal.name).or_insert(0) += 1;
        nodes.extend(e.signal.node.clone());
        if e.signal.object.kind == "Node" {
            nodes.insert(e.signal.object.name.clone());
        }
    }
    let mut signals: Vec<SignalSeen> = counts
        .into_iter()
        .map(|(name, count)| SignalSeen { name, count })
        .collect();
    signals.sort_by_key(|s| std::cmp::Reverse((default_weight(s.name), s.count)));
    Impact {
        severity: incident.severity,
        score: incident.score,
        duration_secs: duration_secs.max(0),
        workloads: incident.workloads().iter().map(|w| w.to_string()).collect(),
        pod_count: pods.len(),
        pods: pods.into_iter().take(MAX_PODS).collect(),
        namespaces: incident
            .namespaces()
            .iter()
            .map(|n| n.to_string())
            .collect(),
        nodes: nodes.into_iter().collect(),
        signals,
    }
}

/// The latest analysis: a re-analysis after a failed fix knows more than the first.
fn diagnosis(entries: &[&TimelineEntry]) -> Option<DiagnosisFacts> {
    let e = entries
        .iter()
        .rev()
        .find(|e| e.kind == TimelineKind::Analysis)?;
    let root_cause = text(&e.data, "root_cause")
        .or_else(|| non_empty(&e.text))?
        .to_string();
    Some(DiagnosisFacts {
        at: e.at,
        root_cause,
        confidence: e.data.get("confidence").and_then(Value::as_f64),
        source: analysis_source(&e.data),
        evidence: strings(&e.data, "evidence")
            .into_iter()
            .take(MAX_EVIDENCE)
            .collect(),
    })
}

/// `rules`, `model gpt-4o`, or `unknown`.
pub(super) fn analysis_source(data: &Value) -> String {
    let source = &data["source"];
    match (text(source, "kind"), source.as_str()) {
        (Some("model"), _) => match text(source, "model") {
            Some(m) => format!("model {m}"),
            None => "model".into(),
        },
        (Some(kind), _) | (None, Some(kind)) => kind.to_string(),
        (None, None) => "unknown".into(),
    }
}

/// A proposal as recorded, looked up when its decision and action come.
struct Proposed {
    action: String,
    summary: String,
    params: Value,
    risk: Option<String>,
    source: Option<String>,
}

/// One approval vote: two for high-risk actions where the policy asks for it.
struct Approved {
    by: String,
    at: DateTime<Utc>,
    platform: Option<String>,
}

/// Actions with their approvals and checks, and the proposals that did not go ahead.
fn remediation(entries: &[&TimelineEntry]) -> (Vec<ActionTaken>, Vec<Rejected>) {
    let mut proposals: BTreeMap<String, Proposed> = BTreeMap::new();
    let mut approvals: BTreeMap<String, Vec<Approved>> = BTreeMap::new();
    let mut actions: Vec<ActionTaken> = Vec::new();
    let mut rejected: Vec<Rejected> = Vec::new();
    for e in entries {
        let d = &e.data;
        let approval = owned(d, "approval");
        match e.kind {
            TimelineKind::Proposal => {
                let Some(id) = approval else { continue };
                proposals.entry(id).or_insert_with(|| Proposed {
                    action: owned(d, "action").unwrap_or_else(|| "an action".into()),
                    summary: owned(d, "summary").unwrap_or_else(|| e.text.clone()),
                    params: d.get("params").cloned().unwrap_or(Value::Null),
                    risk: owned(d, "risk"),
                    source: owned(d, "source"),
                });
            }
            TimelineKind::Decision => {
                let by = owned(d, "by").or_else(|| e.actor.clone());
                let platform = owned(d, "platform");
                match text(d, "verdict") {
                    Some("approved") => {
                        let (Some(id), Some(by)) = (approval, by) else {
                            continue;
                        };
                        let list = approvals.entry(id).or_default();
                        if !list.iter().any(|a| a.by == by) {
                            list.push(Approved {
                                by,
                                at: e.at,
                                platform,
                            });
                        }
                    }
                    Some(verdict @ ("rejected" | "expired")) => {
                        let p = approval.as_ref().and_then(|id| proposals.get(id));
                        rejected.push(Rejected {
                            at: e.at,
                            action: p
                                .map(|p| p.action.clone())
                                .or_else(|| owned(d, "action"))
                                .unwrap_or_else(|| "an action".into()),
                            summary: p.map(|p| p.summary.clone()).unwrap_or_default(),
                            params: p.map(|p| p.params.clone()).unwrap_or(Value::Null),
                            verdict: verdict.to_string(),
                            by: by.filter(|_| verdict == "rejected"),
                            platform,
                            reason: owned(d, "reason"),
                            approval,
                        });
                    }
                    _ => {}
                }
            }
            TimelineKind::Action => {
                let p = approval.as_ref().and_then(|id| proposals.get(id));
                let approved = approval.as_ref().and_then(|id| approvals.get(id));
                actions.push(ActionTaken {
                    at: e.at,
                    action: owned(d, "action")
                        .or_else(|| p.map(|p| p.action.clone()))
                        .unwrap_or_else(|| "an action".into()),
                    summary: owned(d, "summary")
                        .or_else(|| p.map(|p| p.summary.clone()))
                        .unwrap_or_else(|| e.text.clone()),
                    params: p.map(|p| p.params.clone()).unwrap_or(Value::Null),
                    risk: p.and_then(|p| p.risk.clone()),
                    source: p.and_then(|p| p.source.clone()),
                    approved_by: approved
                        .map(|a| a.iter().map(|a| a.by.clone()).collect())
                        .unwrap_or_default(),
                    approved_at: approved.and_then(|a| a.last().map(|a| a.at)),
                    platform: approved.and_then(|a| a.last().and_then(|a| a.platform.clone())),
                    result: owned(d, "result").unwrap_or_else(|| "unknown".into()),
                    error: owned(d, "error"),
                    checks: vec![],
                    approval,
                });
            }
            TimelineKind::Outcome => {
                let Some(what) = text(d, "what").filter(|w| is_check(w)) else {
                    continue;
                };
                // By approval when recorded; otherwise the check is about the latest action.
                let target = match &approval {
                    Some(id) => actions
                        .iter_mut()
                        .rev()
                        .find(|a| a.approval.as_ref() == Some(id)),
                    None => actions.last_mut(),
                };
                if let Some(a) = target {
                    a.checks.push(Check {
                        at: e.at,
                        what: what.to_string(),
                        details: owned(d, "details").unwrap_or_default(),
                    });
                }
            }
            _ => {}
        }
    }
    (actions, rejected)
}

fn is_check(what: &str) -> bool {
    matches!(
        what,
        "verified" | "verification_failed" | "rolled_back" | "rollback_failed"
    )
}

/// A non-empty string field.
pub(super) fn text<'a>(data: &'a Value, key: &str) -> Option<&'a str> {
    data.get(key).and_then(Value::as_str).and_then(non_empty)
}

/// A field as text: strings as they are, numbers and booleans written out.
fn owned(data: &Value, key: &str) -> Option<String> {
    match data.get(key)? {
        Value::String(s) => non_empty(s).map(String::from),
        v @ (Value::Number(_) | Value::Bool(_)) => Some(v.to_string()),
        _ => None,
    }
}

fn strings(data: &Value, key: &str) -> Vec<String> {
    data.get(key)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .filter_map(non_empty)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

fn non_empty(s: &str) -> Option<&str> {
    let s = s.trim();
    (!s.is_empty()).then_some(s)
}
