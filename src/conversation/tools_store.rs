//! Conversation tools over Lookout's own records: open and past incidents, and one incident's
//! timeline (with its postmortem's summary once there is one). Read from the store, bounded;
//! the caller redacts.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::incident::Incident;
use crate::incident::postmortem;
use crate::incident::tracker::{INCIDENTS, OPEN_INCIDENTS};
use crate::llm::ToolSpec;
use crate::store::{SharedStore, StoreExt};

pub const INCIDENTS_TOOL: &str = "incidents";
pub const TIMELINE_TOOL: &str = "incident_timeline";

/// Past incidents listed at most.
const MAX_PAST: usize = 10;
/// Incident records read to find them (newest first).
const MAX_PAST_READS: usize = 200;
/// Timeline entries shown (the latest).
const MAX_TIMELINE: usize = 40;

pub fn specs() -> Vec<ToolSpec> {
    vec![
        ToolSpec::new(
            INCIDENTS_TOOL,
            "Lookout's incidents: `open` ones (severity, state, resource, diagnosis) or `past` \
             ones (resolved or dismissed, newest first, with how long they lasted). Read-only.",
            json!({"type": "object", "properties": {
                "which": {"type": "string", "enum": ["open", "past"]},
                "namespace": {"type": "string", "description": "Only incidents touching this namespace."}},
              "required": ["which"]}),
        ),
        ToolSpec::new(
            TIMELINE_TOOL,
            "One incident's timeline (signals, diagnosis, proposals, decisions, actions, \
             outcomes) and its postmortem summary if written. Read-only.",
            json!({"type": "object", "properties": {
                "id": {"type": "string", "description": "Incident id, e.g. prod/INC-12 or INC-12."}},
              "required": ["id"]}),
        ),
    ]
}

/// `INC-12` or `12` as this cluster's full id; a full id is kept as given.
pub fn full_id(cluster: &str, id: &str) -> String {
    let id = id.trim();
    if id.contains('/') {
        return id.to_string();
    }
    let number = id.trim_start_matches("INC-").trim_start_matches("inc-");
    format!("{cluster}/INC-{number}")
}

fn ago(now: DateTime<Utc>, then: DateTime<Utc>) -> String {
    let secs = (now - then).num_seconds().max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

fn line(i: &Incident, now: DateTime<Utc>) -> String {
    let mut signals: Vec<&str> = i.signal_counts().keys().map(|s| s.as_str()).collect();
    if signals.is_empty() {
        let all: std::collections::BTreeSet<&str> =
            i.signals.values().map(|e| e.signal.name.as_str()).collect();
        signals = all.into_iter().collect();
    }
    let mut out = format!(
        "{} [{}] {} · {} · {} · opened {} ago",
        i.id,
        i.severity.as_str().to_uppercase(),
        i.state.as_str(),
        i.title,
        i.primary,
        ago(now, i.created_at),
    );
    if let Some(end) = i.resolved_at {
        out += &format!(", lasted {}", ago(end, i.created_at));
    }
    out += &format!(" · signals: {}", signals.join(", "));
    if let Some(d) = &i.diagnosis {
        out += &format!(" · diagnosis: {d}");
    }
    out
}

fn touches(i: &Incident, namespace: Option<&str>) -> bool {
    namespace
        .is_none_or(|ns| i.namespaces().contains(ns) || i.primary.namespace.as_deref() == Some(ns))
}

/// The `incidents` tool.
pub async fn incidents(
    store: &SharedStore,
    now: DateTime<Utc>,
    args: &Map<String, Value>,
) -> Result<String, String> {
    let namespace = args.get("namespace").and_then(Value::as_str);
    let past = args.get("which").and_then(Value::as_str) == Some("past");
    let err = |e: crate::store::StoreError| format!("the incidents cannot be read now: {e}");
    let mut found: Vec<Incident> = Vec::new();
    if past {
        let mut ids = store.list(INCIDENTS).await.map_err(err)?;
        // Ids end in their number; newest first.
        ids.sort_by_key(|id| std::cmp::Reverse(number(id)));
        for id in ids.iter().take(MAX_PAST_READS) {
            if let Ok(Some(i)) = store.get_json::<Incident>(INCIDENTS, id).await
                && !i.is_open()
                && i.merged_into.is_none()
                && touches(&i, namespace)
            {
                found.push(i);
                if found.len() == MAX_PAST {
                    break;
                }
            }
        }
    } else {
        for id in store.list(OPEN_INCIDENTS).await.map_err(err)? {
            if let Ok(Some(i)) = store.get_json::<Incident>(INCIDENTS, &id).await
                && i.is_announced()
                && touches(&i, namespace)
            {
                found.push(i);
            }
        }
        found.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.number.cmp(&b.number)));
    }
    let which = if past { "past" } else { "open" };
    if found.is_empty() {
        return Ok(format!("no {which} incidents"));
    }
    let mut out = format!("{} {which} incidents:\n", found.len());
    for i in &found {
        out += &line(i, now);
        out.push('\n');
    }
    Ok(out)
}

fn number(id: &str) -> u64 {
    id.rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The `incident_timeline` tool.
pub async fn timeline(
    store: &SharedStore,
    cluster: &str,
    now: DateTime<Utc>,
    args: &Map<String, Value>,
) -> Result<String, String> {
    let id = full_id(
        cluster,
        args.get("id").and_then(Value::as_str).unwrap_or_default(),
    );
    let incident: Incident = store
        .get_json(INCIDENTS, &id)
        .await
        .map_err(|e| format!("the incident cannot be read now: {e}"))?
        .ok_or_else(|| format!("no incident {id} (past the retention period, or a typo?)"))?;
    let entries = postmortem::load_timeline(store.as_ref(), &id)
        .await
        .map_err(|e| format!("the timeline cannot be read now: {e}"))?;
    let mut out = line(&incident, now) + "\n";
    let skipped = entries.len().saturating_sub(MAX_TIMELINE);
    out += &format!("timeline ({} entries", entries.len());
    if skipped > 0 {
        out += &format!(", the first {skipped} left out");
    }
    out += "):\n";
    for e in entries.iter().skip(skipped) {
        out += &format!(
            "{} {:?}{}: {}\n",
            e.at.format("%Y-%m-%d %H:%M:%S"),
            e.kind,
            e.actor
                .as_deref()
                .map(|a| format!(" by {a}"))
                .unwrap_or_default(),
            e.text
        );
    }
    if let Ok(Some(pm)) = postmortem::load(store.as_ref(), &id).await {
        out += &format!(
            "postmortem: {}\nroot cause: {}\n",
            pm.narrative.summary, pm.narrative.root_cause
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids_become_this_clusters() {
        assert_eq!(full_id("prod", "INC-12"), "prod/INC-12");
        assert_eq!(full_id("prod", "12"), "prod/INC-12");
        assert_eq!(full_id("prod", " other/INC-3 "), "other/INC-3");
        assert_eq!(number("prod/INC-12"), 12);
    }
}
