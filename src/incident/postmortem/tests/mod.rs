//! Fixtures: an OOM incident on `Deployment shop/web` and the timeline the remediation loop
//! writes for it, built up entry by entry so each test reads like its scenario.

mod assembly;
mod narrative;
mod rendering;
mod store;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};

use crate::correlate::Severity;
use crate::detect::{Evidence, ObjectRef, Signal, SignalName};
use crate::incident::{
    Incident, IncidentState, SignalEntry, TimelineEntry, TimelineKind, signal_id,
};

/// 2025-03-04 09:00:00 UTC plus `minutes`.
fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 4, 9, 0, 0).unwrap() + Duration::minutes(minutes)
}

fn oom(pod: &str) -> Signal {
    Signal {
        name: SignalName::OomKilled,
        object: ObjectRef::namespaced("Pod", "shop", pod),
        owner: ObjectRef::namespaced("Deployment", "shop", "web"),
        node: Some("n1".into()),
        cause: None,
        evidence: Evidence::new(
            "OOMKilled",
            "container app was OOM-killed at its limit of 64Mi",
        )
        .with_container("app")
        .with_detail("memory_limit", "64Mi"),
    }
}

fn incident(state: IncidentState, signals: Vec<Signal>) -> Incident {
    let signals: BTreeMap<String, SignalEntry> = signals
        .into_iter()
        .map(|s| {
            let entry = SignalEntry {
                signal: s.clone(),
                active: false,
                first_seen: at(0),
                last_seen: at(6),
                cleared_at: Some(at(7)),
                occurrences: 1,
            };
            (signal_id(&s.key()), entry)
        })
        .collect();
    let primary = signals
        .values()
        .next()
        .map(|e| e.signal.owner.clone())
        .unwrap_or_else(|| ObjectRef::namespaced("Deployment", "shop", "web"));
    Incident {
        id: "prod/INC-1".into(),
        number: 1,
        cluster: "prod".into(),
        title: "Deployment shop/web: OOMKilled".into(),
        primary,
        state,
        severity: Severity::High,
        score: 65,
        signals,
        keys: Default::default(),
        causes: Default::default(),
        created_at: at(0),
        updated_at: at(30),
        announced_at: Some(at(1)),
        all_clear_since: None,
        resolved_at: (state == IncidentState::Resolved).then(|| at(8)),
        ended_by: None,
        merged_into: None,
        merged_from: vec![],
        acked: None,
        silenced: None,
        diagnosis: Some("Container app was OOM-killed at 64Mi".into()),
        revision: 9,
    }
}

fn resolved_oom() -> Incident {
    incident(IncidentState::Resolved, vec![oom("web-1"), oom("web-2")])
}

fn entry(minutes: i64, kind: TimelineKind, text: &str, data: Value) -> TimelineEntry {
    TimelineEntry::new(at(minutes), kind, text).with_data(data)
}

fn analysis(minutes: i64) -> TimelineEntry {
    entry(
        minutes,
        TimelineKind::Analysis,
        "diagnosis",
        json!({
            "root_cause": "Container app was OOM-killed at its memory limit of 64Mi: it needs more.",
            "confidence": 0.9,
            "evidence": ["exit code 137", "limit 64Mi, heap 100Mi"],
            "recommendations": ["raise the limit"],
            "suggested_actions": [],
            "source": {"kind": "model", "model": "gpt-fake"},
        }),
    )
}

fn proposal(minutes: i64, approval: &str, action: &str, params: Value) -> TimelineEntry {
    entry(
        minutes,
        TimelineKind::Proposal,
        "proposed",
        json!({
            "approval": approval, "action": action, "params": params,
            "summary": format!("{action} on Deployment shop/web"),
            "risk": "medium", "why": "the limit is too low", "source": "diagnosis",
        }),
    )
}

fn raise_memory() -> Value {
    json!({"namespace": "shop", "name": "web", "container": "app", "memory_limit": "128Mi"})
}

fn decision(
    minutes: i64,
    approval: &str,
    verdict: &str,
    by: &str,
    reason: Option<&str>,
) -> TimelineEntry {
    let mut data = json!({"approval": approval, "verdict": verdict, "platform": "slack"});
    if verdict != "expired" {
        data["by"] = json!(by);
    }
    if let Some(r) = reason {
        data["reason"] = json!(r);
    }
    let e = entry(minutes, TimelineKind::Decision, verdict, data);
    if verdict == "expired" { e } else { e.by(by) }
}

fn action(
    minutes: i64,
    approval: &str,
    name: &str,
    result: &str,
    error: Option<&str>,
) -> TimelineEntry {
    let mut data = json!({"approval": approval, "action": name, "summary": "raised the memory limit of app to 128Mi", "result": result});
    if let Some(e) = error {
        data["error"] = json!(e);
    }
    entry(minutes, TimelineKind::Action, "executed", data)
}

fn outcome(minutes: i64, approval: Option<&str>, what: &str, details: &str) -> TimelineEntry {
    let mut data = json!({"what": what, "details": details});
    if let Some(a) = approval {
        data["approval"] = json!(a);
    }
    entry(minutes, TimelineKind::Outcome, what, data)
}

/// Detected, analysed, proposal approved by slack:U1 at minute 5, executed, verified,
/// resolved at minute 8.
fn oom_timeline() -> Vec<TimelineEntry> {
    vec![
        entry(
            0,
            TimelineKind::Detected,
            "Deployment shop/web: OOMKilled",
            Value::Null,
        ),
        entry(
            0,
            TimelineKind::Signal,
            "oom_killed on Pod shop/web-1",
            Value::Null,
        ),
        entry(
            1,
            TimelineKind::Transition,
            "detected -> analyzing",
            Value::Null,
        ),
        analysis(2),
        proposal(3, "A-7", "deployment.adjust_resources", raise_memory()),
        decision(5, "A-7", "approved", "slack:U1", None),
        action(5, "A-7", "deployment.adjust_resources", "ok", None),
        outcome(
            7,
            Some("A-7"),
            "verified",
            "3/3 pods ready, no restarts for 60s",
        ),
        entry(
            7,
            TimelineKind::SignalCleared,
            "oom_killed on Pod shop/web-1 cleared",
            Value::Null,
        ),
        outcome(8, None, "resolved", "all signals cleared"),
        entry(
            8,
            TimelineKind::Transition,
            "verifying -> resolved: all signals cleared",
            Value::Null,
        ),
    ]
}
