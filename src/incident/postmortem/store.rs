//! Keeping postmortems: one record per incident in the `postmortems` collection (the store's
//! retention applies), and a lenient read of the timeline they are built from.

use chrono::{DateTime, Utc};
use serde_json::Value;
use tracing::warn;

use super::model::Postmortem;
use crate::incident::{TimelineEntry, TimelineKind};
use crate::store::{StateStore, StoreExt, StoreResult};

/// The store collection postmortems live in, keyed by incident id.
pub const COLLECTION: &str = "postmortems";

/// Stores (or replaces) the postmortem of its incident.
pub async fn save(store: &dyn StateStore, pm: &Postmortem) -> StoreResult<()> {
    store.put_json(COLLECTION, &pm.incident_id, pm, None).await
}

/// The stored postmortem of `incident_id`, if there is one (and it is within retention).
pub async fn load(store: &dyn StateStore, incident_id: &str) -> StoreResult<Option<Postmortem>> {
    store.get_json(COLLECTION, incident_id).await
}

/// The incident's timeline, every readable entry of it: a postmortem is worth more with one
/// odd entry left out than not at all. Entries of a kind this version does not know become
/// notes; entries without a time are skipped (and logged).
pub async fn load_timeline(
    store: &dyn StateStore,
    incident_id: &str,
) -> StoreResult<Vec<TimelineEntry>> {
    let raw = store.timeline(incident_id).await?;
    let mut entries = Vec::with_capacity(raw.len());
    for (index, json) in raw.iter().enumerate() {
        match parse_entry(json) {
            Some(e) => entries.push(e),
            None => warn!(
                incident = incident_id,
                index, "unreadable timeline entry skipped"
            ),
        }
    }
    Ok(entries)
}

/// One stored timeline entry, leniently: as written when it parses, else what can be read
/// of it (`at` is required), an unknown kind turned into a note.
pub fn parse_entry(json: &str) -> Option<TimelineEntry> {
    if let Ok(entry) = serde_json::from_str::<TimelineEntry>(json) {
        return Some(entry);
    }
    let v: Value = serde_json::from_str(json).ok()?;
    let at: DateTime<Utc> = serde_json::from_value(v.get("at")?.clone()).ok()?;
    let kind = v
        .get("kind")
        .and_then(|k| serde_json::from_value::<TimelineKind>(k.clone()).ok());
    let text = v.get("text").and_then(Value::as_str).unwrap_or_default();
    let text = match (kind, v.get("kind").and_then(Value::as_str)) {
        (None, Some(unknown)) if !text.is_empty() => format!("{unknown}: {text}"),
        (None, Some(unknown)) => unknown.to_string(),
        _ => text.to_string(),
    };
    Some(TimelineEntry {
        at,
        kind: kind.unwrap_or(TimelineKind::Note),
        actor: v.get("actor").and_then(Value::as_str).map(String::from),
        text,
        data: v.get("data").cloned().unwrap_or(Value::Null),
    })
}
