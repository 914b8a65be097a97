//! A successful agentic fix becomes a runbook: the executed-and-verified actions as steps, the
//! incident's heaviest signal and root kind as the trigger, the incident's own names replaced by
//! templates so it applies to the next workload with the same problem. Kept in the store and
//! shown as YAML, ready to be reviewed and put in the runbooks directory.

use serde_json::Value;
use tracing::{info, warn};

use super::engine::Deps;
use super::messages::note;
use super::state::Remediation;
use crate::chat::notifier::{ROUTES, card_key};
use crate::chat::outbound::{Post, Thread};
use crate::chat::routing::Target;
use crate::correlate;
use crate::incident::{Incident, TimelineEntry, TimelineKind};
use crate::runbook::{Runbook, StepTemplate, Trigger};
use crate::store::StoreExt;

/// Store collection of learned runbooks (YAML text, by name).
pub const LEARNED: &str = "learned-runbooks";

/// The runbook a fix teaches.
pub fn runbook_from(incident: &Incident, r: &Remediation) -> Option<Runbook> {
    let mut signals: Vec<_> = incident.signals.values().map(|e| e.signal.name).collect();
    signals.sort_by_key(|n| std::cmp::Reverse(correlate::default_weight(*n)));
    let signal = *signals.first()?;
    let owner = &incident.primary;
    let generalise = |v: &Value| -> Value {
        match v {
            Value::String(s) if Some(s.as_str()) == owner.namespace.as_deref() => {
                Value::String("{{owner.namespace}}".into())
            }
            Value::String(s) if *s == owner.name => Value::String("{{owner.name}}".into()),
            other => other.clone(),
        }
    };
    let steps = r
        .fixed
        .iter()
        .map(|f| StepTemplate {
            action: f.action.clone(),
            params: f
                .params
                .as_object()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), generalise(v))).collect())
                .unwrap_or_default(),
            why: format!("Learned from {}: {}", incident.id, f.summary),
        })
        .collect();
    Some(Runbook {
        name: format!(
            "learned-{}-{}-{}",
            signal.as_str().replace('_', "-"),
            owner.kind.to_lowercase(),
            incident.number
        ),
        description: format!(
            "Learned from {} ({}); review before relying on it.",
            incident.id, incident.title
        ),
        trigger: Trigger {
            signals: vec![signal],
            min_severity: None,
            kinds: vec![owner.kind.clone()],
            namespaces: Default::default(),
            conditions: Default::default(),
        },
        steps,
        explain: None,
    })
}

pub(super) async fn save(d: &Deps, incident: &Incident, r: &Remediation) {
    let Some(book) = runbook_from(incident, r) else {
        return;
    };
    let yaml = match serde_yaml_ng::to_string(&book) {
        Ok(y) => y,
        Err(e) => {
            warn!(error = %e, "cannot write a learned runbook");
            return;
        }
    };
    if let Err(e) = d.store.put(LEARNED, &book.name, &yaml, None).await {
        warn!(error = %e, "cannot store a learned runbook");
        return;
    }
    info!(incident = %incident.id, runbook = %book.name, "saved a learned runbook");
    let entry = TimelineEntry::new(
        d.clock.now(),
        TimelineKind::Note,
        format!("saved as runbook {}", book.name),
    )
    .with_data(serde_json::json!({"runbook": book.name}));
    let _ = d.store.append_timeline_json(&incident.id, &entry).await;
    let targets: Vec<Target> = d
        .store
        .get_json(ROUTES, &incident.id)
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    for t in targets {
        let text = format!(
            "This fix is saved as runbook `{}`; review it and add it to your runbooks directory:\n",
            book.name
        );
        let message = note(text).code(yaml.clone());
        d.outbound
            .post(
                Post::new(
                    format!("rem:{}:learned:{}", incident.id, t.key()),
                    &t.platform,
                    &t.channel,
                    message,
                )
                .in_thread(Thread::Of(card_key(&incident.id, &t))),
            )
            .await;
    }
}
