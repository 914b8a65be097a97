//! Suggested changes kept for their "Propose" button: what the model suggested (checked
//! against the action's schema), who asked, and where, in the store for a day. The button
//! carries only the id, so it fits every platform's button data.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::tools::Suggestion;
use crate::actions::Risk;
use crate::chat::ThreadRef;
use crate::detect::ObjectRef;
use crate::incident::Incident;
use crate::store::{StateStore, StoreExt, StoreResult};

pub const SUGGESTIONS: &str = "suggestions";
const SEQUENCE: &str = "suggestion-seq";
/// How long a suggestion's button works.
pub const KEPT: Duration = Duration::from_secs(24 * 3600);

/// A suggestion as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stored {
    /// `SG-12` (silences are `S-`).
    pub id: String,
    pub action: String,
    pub params: Map<String, Value>,
    pub reason: String,
    pub risk: Risk,
    /// Who asked the question (`slack:U0123`).
    pub asked_by: String,
    pub platform: String,
    pub channel: String,
    /// The conversation's thread (an incident's, when asked there).
    pub thread: Option<ThreadRef>,
    pub at: DateTime<Utc>,
}

/// Stores `s` and gives its id.
pub async fn save(
    store: &dyn StateStore,
    s: &Suggestion,
    asked_by: &str,
    platform: &str,
    channel: &str,
    thread: Option<&ThreadRef>,
    at: DateTime<Utc>,
) -> StoreResult<String> {
    let n = store.incr(SEQUENCE, 1, None).await?;
    let id = format!("SG-{n}");
    let stored = Stored {
        id: id.clone(),
        action: s.action.clone(),
        params: s.params.clone(),
        reason: s.reason.clone(),
        risk: s.risk,
        asked_by: asked_by.to_string(),
        platform: platform.to_string(),
        channel: channel.to_string(),
        thread: thread.cloned(),
        at,
    };
    store
        .put_json(SUGGESTIONS, &id, &stored, Some(KEPT))
        .await?;
    Ok(id)
}

pub async fn load(store: &dyn StateStore, id: &str) -> StoreResult<Option<Stored>> {
    store.get_json(SUGGESTIONS, id).await
}

impl Stored {
    /// The object the change is about, as far as its parameters say: `namespace` and `name`
    /// (a node's actions have only `name`).
    pub fn target(&self) -> (Option<&str>, Option<&str>) {
        let text = |k: &str| self.params.get(k).and_then(Value::as_str);
        (text("namespace"), text("name").or_else(|| text("pod")))
    }

    /// How the target reads for people: `shop/web`, `node-3`.
    pub fn target_text(&self) -> String {
        match self.target() {
            (Some(ns), Some(name)) => format!("{ns}/{name}"),
            (None, Some(name)) => name.to_string(),
            (Some(ns), None) => format!("namespace {ns}"),
            (None, None) => "its target".into(),
        }
    }
}

/// The open incident a suggestion belongs to, among `open` (most severe first): one whose
/// workload, pod or node the change names; else the only open incident in its namespace.
pub fn incident_for<'a>(s: &Stored, open: &'a [Incident]) -> Option<&'a Incident> {
    let (namespace, name) = s.target();
    let named =
        |o: &ObjectRef| o.namespace.as_deref() == namespace && name.is_some_and(|n| o.name == n);
    let by_name = open.iter().find(|i| {
        named(&i.primary)
            || i.signals
                .values()
                .any(|e| named(&e.signal.object) || named(&e.signal.owner))
    });
    if by_name.is_some() {
        return by_name;
    }
    let namespace = namespace?;
    let mut in_namespace = open.iter().filter(|i| i.namespaces().contains(namespace));
    match (in_namespace.next(), in_namespace.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use serde_json::json;

    fn suggestion(params: Value) -> Suggestion {
        Suggestion {
            action: "deployment.scale".into(),
            params: params.as_object().unwrap().clone(),
            reason: "more capacity".into(),
            risk: Risk::Medium,
        }
    }

    #[tokio::test]
    async fn a_suggestion_is_stored_for_its_button() {
        let store = MemoryStore::new(
            crate::clock::SystemClock::shared(),
            crate::store::Retention::from(&crate::config::StoreConfig::default()),
        );
        let s = suggestion(json!({"namespace": "shop", "name": "web", "replicas": 3}));
        let thread = ThreadRef {
            platform: "slack".into(),
            channel: "C1".into(),
            id: "1.2".into(),
        };
        let id = save(
            &store,
            &s,
            "slack:U1",
            "slack",
            "C1",
            Some(&thread),
            Utc::now(),
        )
        .await
        .unwrap();
        let again = save(&store, &s, "slack:U1", "slack", "C1", None, Utc::now())
            .await
            .unwrap();
        assert_ne!(id, again, "every suggestion has its own id");
        let stored = load(&store, &id).await.unwrap().unwrap();
        assert_eq!(stored.params["replicas"], 3);
        assert_eq!(stored.thread, Some(thread));
        assert_eq!(stored.target_text(), "shop/web");
        assert!(load(&store, "SG-999").await.unwrap().is_none());
    }
}
