//! What a digest says, computed from data (pure, deterministic): open incidents, incidents
//! resolved in the period with their time to resolve, the noisiest workloads, actions executed
//! and who approved them, pending approvals, and cluster health.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::health::ClusterHealth;
use crate::correlate::Severity;
use crate::incident::{Incident, IncidentState, TimelineEntry, TimelineKind};

/// Workloads listed as the noisiest.
const NOISIEST: usize = 5;

/// Everything a digest shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Digest {
    pub cluster: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Open incidents, most severe first.
    pub open: Vec<OpenIncident>,
    /// Incidents opened in the period.
    pub opened: usize,
    /// Incidents resolved or dismissed in the period, in order.
    pub ended: Vec<EndedIncident>,
    /// Median time to resolve of `ended` (resolved ones only).
    pub median_time_to_resolve: Option<Duration>,
    pub noisiest: Vec<NoisyWorkload>,
    pub actions: Vec<ExecutedAction>,
    pub pending: Vec<PendingApproval>,
    pub health: Option<ClusterHealth>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenIncident {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub state: IncidentState,
    pub age: Duration,
    pub acked_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndedIncident {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    /// Resolved or Dismissed.
    pub state: IncidentState,
    pub time_to_resolve: Duration,
    /// The person who ended it, if one did.
    pub by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoisyWorkload {
    /// `Deployment shop/web`, `Node n1`.
    pub workload: String,
    /// Incidents in the period that involved it.
    pub incidents: usize,
    /// Signal occurrences seen in the period.
    pub signals: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExecutedAction {
    pub at: DateTime<Utc>,
    pub incident: String,
    pub action: String,
    pub summary: String,
    /// `ok`, `failed`, `stale`.
    pub result: String,
    /// Who approved it.
    pub approved_by: Vec<String>,
}

/// A proposal still waiting for a decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PendingApproval {
    pub id: String,
    pub incident: String,
    pub summary: String,
    pub expires_at: DateTime<Utc>,
}

/// The inputs of one digest.
pub struct Inputs<'a> {
    pub cluster: &'a str,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Incident records (any state); merged ones are skipped.
    pub incidents: &'a [Incident],
    /// Timelines of the incidents active in the period, by incident id.
    pub timelines: &'a HashMap<String, Vec<TimelineEntry>>,
    pub pending: Vec<PendingApproval>,
    pub health: Option<ClusterHealth>,
}

/// Whether an incident was open at some point of `[from, to)`.
pub fn active_in(i: &Incident, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
    i.state != IncidentState::Merged && i.created_at < to && i.resolved_at.is_none_or(|r| r >= from)
}

pub fn assemble(inp: Inputs<'_>) -> Digest {
    let (from, to) = (inp.from, inp.to);
    let counted: Vec<&Incident> = inp
        .incidents
        .iter()
        .filter(|i| i.state != IncidentState::Merged)
        .collect();

    let mut open: Vec<OpenIncident> = counted
        .iter()
        .filter(|i| i.is_open() && i.is_announced() && i.created_at < to)
        .map(|i| OpenIncident {
            id: i.id.clone(),
            title: i.title.clone(),
            severity: i.severity,
            state: i.state,
            age: to - i.created_at,
            acked_by: i
                .acked
                .as_ref()
                .map(|a| a.name.clone().unwrap_or(a.by.clone())),
        })
        .collect();
    open.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.id.cmp(&b.id)));

    let opened = counted
        .iter()
        .filter(|i| i.created_at >= from && i.created_at < to)
        .count();

    let mut ended: Vec<(DateTime<Utc>, EndedIncident)> = counted
        .iter()
        .filter(|i| matches!(i.state, IncidentState::Resolved | IncidentState::Dismissed))
        .filter_map(|i| {
            let at = i.resolved_at.filter(|r| *r >= from && *r < to)?;
            Some((
                at,
                EndedIncident {
                    id: i.id.clone(),
                    title: i.title.clone(),
                    severity: i.severity,
                    state: i.state,
                    time_to_resolve: at - i.created_at,
                    by: i.ended_by.clone(),
                },
            ))
        })
        .collect();
    ended.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.id.cmp(&b.1.id)));
    let ended: Vec<EndedIncident> = ended.into_iter().map(|(_, e)| e).collect();
    let mut ttr: Vec<Duration> = ended
        .iter()
        .filter(|e| e.state == IncidentState::Resolved)
        .map(|e| e.time_to_resolve)
        .collect();
    ttr.sort();
    let median_time_to_resolve = match ttr.len() {
        0 => None,
        n if n % 2 == 1 => Some(ttr[n / 2]),
        n => Some((ttr[n / 2 - 1] + ttr[n / 2]) / 2),
    };

    let active: Vec<&&Incident> = counted.iter().filter(|i| active_in(i, from, to)).collect();
    let mut noise: BTreeMap<String, (usize, u32)> = BTreeMap::new();
    for i in &active {
        let mut names: Vec<String> = i.workloads().iter().map(|w| w.to_string()).collect();
        if i.primary.kind == "Node" {
            names.push(i.primary.to_string());
        }
        names.sort();
        names.dedup();
        for name in names {
            let signals: u32 = i
                .signals
                .values()
                .filter(|e| e.last_seen >= from && e.first_seen < to)
                .filter(|e| {
                    e.signal.owner.to_string() == name || e.signal.object.to_string() == name
                })
                .map(|e| e.occurrences)
                .sum();
            let entry = noise.entry(name).or_default();
            entry.0 += 1;
            entry.1 += signals;
        }
    }
    let mut noisiest: Vec<NoisyWorkload> = noise
        .into_iter()
        .map(|(workload, (incidents, signals))| NoisyWorkload {
            workload,
            incidents,
            signals,
        })
        .collect();
    noisiest.sort_by(|a, b| {
        b.incidents
            .cmp(&a.incidents)
            .then(b.signals.cmp(&a.signals))
            .then(a.workload.cmp(&b.workload))
    });
    noisiest.truncate(NOISIEST);

    let mut actions = Vec::new();
    for i in &active {
        let Some(entries) = inp.timelines.get(&i.id) else {
            continue;
        };
        for e in entries
            .iter()
            .filter(|e| e.kind == TimelineKind::Action && e.at >= from && e.at < to)
        {
            let approval = text(e, "approval");
            let approved_by: Vec<String> = entries
                .iter()
                .filter(|d| d.kind == TimelineKind::Decision)
                .filter(|d| approval.is_some() && text(d, "approval") == approval)
                .filter(|d| text(d, "verdict") == Some("approved"))
                .filter_map(|d| text(d, "by").map(str::to_string).or(d.actor.clone()))
                .collect();
            actions.push(ExecutedAction {
                at: e.at,
                incident: i.id.clone(),
                action: text(e, "action").unwrap_or("action").to_string(),
                summary: text(e, "summary").unwrap_or(&e.text).to_string(),
                result: text(e, "result").unwrap_or("unknown").to_string(),
                approved_by,
            });
        }
    }
    actions.sort_by(|a, b| a.at.cmp(&b.at).then(a.incident.cmp(&b.incident)));

    let mut pending = inp.pending;
    pending.sort_by_key(|a| a.expires_at);
    Digest {
        cluster: inp.cluster.to_string(),
        from,
        to,
        open,
        opened,
        ended,
        median_time_to_resolve,
        noisiest,
        actions,
        pending,
        health: inp.health,
    }
}

/// Proposals in these timelines that no decision answered (candidates for pending approvals).
pub fn undecided_proposals(
    timelines: &HashMap<String, Vec<TimelineEntry>>,
) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for (incident, entries) in timelines {
        for p in entries.iter().filter(|e| e.kind == TimelineKind::Proposal) {
            let Some(id) = text(p, "approval") else {
                continue;
            };
            let decided = entries
                .iter()
                .any(|d| d.kind == TimelineKind::Decision && text(d, "approval") == Some(id));
            if !decided {
                let summary = text(p, "summary").unwrap_or(&p.text).to_string();
                out.push((id.to_string(), incident.clone(), summary));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn text<'a>(e: &'a TimelineEntry, key: &str) -> Option<&'a str> {
    e.data.get(key).and_then(|v| v.as_str())
}
