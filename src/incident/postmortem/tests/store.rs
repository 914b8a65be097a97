//! Keeping postmortems, and reading the timeline leniently.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use super::*;
use crate::incident::postmortem::*;
use crate::store::{MemoryStore, Retention, StateStore};

#[test]
fn stored_timeline_entries_are_read_leniently() {
    let good = serde_json::to_string(&decision(5, "A-7", "approved", "slack:U1", None)).unwrap();
    assert_eq!(
        parse_entry(&good),
        Some(decision(5, "A-7", "approved", "slack:U1", None))
    );

    let unknown =
        r#"{"at":"2025-03-04T09:05:00Z","kind":"teleported","text":"to mars","data":{"x":1}}"#;
    let e = parse_entry(unknown).expect("kept");
    assert_eq!(
        (e.kind, e.text.as_str()),
        (TimelineKind::Note, "teleported: to mars")
    );
    assert_eq!(e.data["x"], 1);

    let no_text = r#"{"at":"2025-03-04T09:05:00Z","kind":"decision","actor":"slack:U1"}"#;
    let e = parse_entry(no_text).expect("kept");
    assert_eq!(
        (e.kind, e.text.as_str(), e.actor.as_deref()),
        (TimelineKind::Decision, "", Some("slack:U1"))
    );

    assert_eq!(parse_entry(r#"{"kind":"note","text":"when?"}"#), None);
    assert_eq!(parse_entry("not json"), None);
}

#[tokio::test]
async fn postmortems_are_stored_under_their_incident() {
    let store = MemoryStore::new(
        Arc::new(crate::clock::ManualClock::new(at(0))),
        Retention {
            records: StdDuration::from_secs(3600),
            conversation_ttl: StdDuration::from_secs(3600),
            conversation_max_turns: 10,
            audit_max_len: 10,
        },
    );
    let pm = assemble(&resolved_oom(), &oom_timeline(), at(60));
    assert_eq!(load(&store, "prod/INC-1").await.unwrap(), None);
    save(&store, &pm).await.unwrap();
    assert_eq!(load(&store, "prod/INC-1").await.unwrap(), Some(pm));
    assert!(store.get(COLLECTION, "prod/INC-1").await.unwrap().is_some());

    for e in oom_timeline() {
        store
            .append_timeline("prod/INC-1", &serde_json::to_string(&e).unwrap())
            .await
            .unwrap();
    }
    store
        .append_timeline("prod/INC-1", "{broken")
        .await
        .unwrap();
    store
        .append_timeline(
            "prod/INC-1",
            r#"{"at":"2025-03-04T09:09:00Z","kind":"new_kind"}"#,
        )
        .await
        .unwrap();
    let timeline = load_timeline(&store, "prod/INC-1").await.unwrap();
    assert_eq!(timeline.len(), oom_timeline().len() + 1);
    assert_eq!(timeline.last().map(|e| e.text.as_str()), Some("new_kind"));
}
