//! Incidents in chat through the console adapter: the card is posted where routing says, with
//! its details in the thread; it is edited in place on updates; it follows the incident into
//! channels whose rules its severity rises into; an absorbed card points to the survivor; a
//! resolved card says so and for how long.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use lookout::chat::console::ConsolePlatform;
use lookout::chat::notifier::Notifier;
use lookout::chat::outbound::{ChatMetrics, Outbound};
use lookout::chat::redact::Redact;
use lookout::chat::routing::RouteRule;
use lookout::clock::SystemClock;
use lookout::correlate::Severity;
use lookout::detect::{Evidence, ObjectRef, Signal, SignalName};
use lookout::incident::{
    Incident, IncidentBus, IncidentEventKind, IncidentState, SignalEntry, signal_id,
};
use tokio_util::sync::CancellationToken;

use super::conformance::memory_store;
use crate::support::eventually;

/// Hides anything that looks like a password, to show the hook is applied.
struct Mask;
impl Redact for Mask {
    fn redact(&self, text: &str) -> String {
        text.replace("hunter2", "[REDACTED]")
    }
}

fn incident(id: &str, severity: Severity) -> Incident {
    let s = Signal {
        name: SignalName::OomKilled,
        object: ObjectRef::namespaced("Pod", "shop", "web-5d8f-x1"),
        owner: ObjectRef::namespaced("Deployment", "shop", "web"),
        node: Some("node-1".into()),
        cause: None,
        evidence: Evidence {
            reason: "OOMKilled".into(),
            message: "Container app exceeded its memory limit; DB_PASSWORD=hunter2".into(),
            container: Some("app".into()),
            ..Default::default()
        },
    };
    let mut signals = BTreeMap::new();
    signals.insert(
        signal_id(&s.key()),
        SignalEntry {
            signal: s.clone(),
            active: true,
            first_seen: Utc::now(),
            last_seen: Utc::now(),
            cleared_at: None,
            occurrences: 1,
        },
    );
    Incident {
        id: id.into(),
        number: 1,
        cluster: "prod".into(),
        title: "Deployment shop/web: OOMKilled".into(),
        primary: s.owner.clone(),
        state: IncidentState::Detected,
        severity,
        score: 50,
        signals,
        keys: Default::default(),
        causes: Default::default(),
        created_at: Utc::now() - chrono::Duration::minutes(12),
        updated_at: Utc::now(),
        announced_at: Some(Utc::now()),
        all_clear_since: None,
        resolved_at: None,
        ended_by: None,
        merged_into: None,
        merged_from: vec![],
        acked: None,
        silenced: None,
        diagnosis: None,
        revision: 1,
    }
}

#[tokio::test]
async fn cards_follow_the_incident_through_its_life() {
    let console = Arc::new(ConsolePlatform::with_io(
        "operator",
        Box::new(tokio::io::BufReader::new(tokio::io::empty())),
        Box::new(std::io::sink()),
        false,
    ));
    let store = memory_store();
    let cancel = CancellationToken::new();
    let outbound = Outbound::new(
        store.clone(),
        SystemClock::shared(),
        vec![console.clone()],
        ChatMetrics::unregistered(),
        cancel.child_token(),
    );
    // High incidents go to the console channel; everything else nowhere visible.
    let rules: Vec<RouteRule> =
        serde_yaml_ng::from_str("- match: { min_severity: high }\n  to: [ console ]\n").unwrap();
    let notifier = Notifier {
        outbound: outbound.clone(),
        store: store.clone(),
        clock: SystemClock::shared(),
        rules,
        cluster: "prod".into(),
        redact: Arc::new(Mask),
    };
    let bus = IncidentBus::default();
    tokio::spawn(notifier.run(bus.subscribe(), cancel.child_token()));
    let transcript = || console.transcript();

    // Medium: matches no rule, posted nowhere.
    let mut i = incident("prod/INC-1", Severity::Medium);
    bus.publish(IncidentEventKind::Created, i.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(transcript().is_empty());

    // It rises to high: the card appears in the channel of the rule it now matches.
    i.severity = Severity::High;
    i.score = 65;
    bus.publish(IncidentEventKind::Updated, i.clone());
    let card = eventually(Duration::from_secs(10), "the card", || async {
        transcript()
            .into_iter()
            .find(|m| m.message.header.is_some())
    })
    .await;
    let text = card.message.to_plain();
    assert!(
        text.contains("[HIGH] Deployment shop/web: OOMKilled"),
        "{text}"
    );
    assert!(text.contains("prod/INC-1"), "{text}");
    assert!(text.contains("oom_killed"), "{text}");
    let details = eventually(
        Duration::from_secs(10),
        "the details in the thread",
        || async {
            transcript().into_iter().find(|m| {
                m.thread == Some(card.id) && m.message.to_plain().contains("What Lookout sees")
            })
        },
    )
    .await;
    let details = details.message.to_plain();
    assert!(details.contains("exceeded its memory limit"), "{details}");
    assert!(
        !details.contains("hunter2"),
        "redaction applies to what is posted: {details}"
    );

    // Updates edit the card in place.
    i.state = IncidentState::Analyzing;
    i.diagnosis = Some("memory limit 64Mi is below what the app needs".into());
    bus.publish(IncidentEventKind::Updated, i.clone());
    eventually(Duration::from_secs(10), "the edited card", || async {
        let c = transcript().into_iter().find(|m| m.id == card.id)?;
        (c.message
            .to_plain()
            .contains("Diagnosis: memory limit 64Mi")
            && c.edits >= 1)
            .then_some(())
    })
    .await;

    // Resolved: the card says so and for how long.
    i.state = IncidentState::Resolved;
    i.resolved_at = Some(Utc::now());
    bus.publish(IncidentEventKind::Resolved, i.clone());
    eventually(Duration::from_secs(10), "the resolved card", || async {
        let c = transcript().into_iter().find(|m| m.id == card.id)?;
        let t = c.message.to_plain();
        (t.contains("[RESOLVED]") && t.contains("Resolved after 12m")).then_some(())
    })
    .await;
    eventually(
        Duration::from_secs(10),
        "the resolution in the thread",
        || async {
            transcript().into_iter().find(|m| {
                m.thread == Some(card.id) && m.message.to_plain().contains("Resolved after")
            })
        },
    )
    .await;
    let cards = transcript()
        .iter()
        .filter(|m| m.message.header.is_some())
        .count();
    assert_eq!(cards, 1, "one card, edited; never a second");
    cancel.cancel();
}

#[tokio::test]
async fn an_absorbed_card_points_to_the_surviving_incident() {
    let console = Arc::new(ConsolePlatform::with_io(
        "operator",
        Box::new(tokio::io::BufReader::new(tokio::io::empty())),
        Box::new(std::io::sink()),
        false,
    ));
    let store = memory_store();
    let cancel = CancellationToken::new();
    let outbound = Outbound::new(
        store.clone(),
        SystemClock::shared(),
        vec![console.clone()],
        ChatMetrics::unregistered(),
        cancel.child_token(),
    );
    let rules: Vec<RouteRule> = serde_yaml_ng::from_str("- to: [ console ]\n").unwrap();
    let notifier = Notifier {
        outbound,
        store,
        clock: SystemClock::shared(),
        rules,
        cluster: "prod".into(),
        redact: Arc::new(lookout::chat::redact::NoRedaction),
    };
    let bus = IncidentBus::default();
    tokio::spawn(notifier.run(bus.subscribe(), cancel.child_token()));
    let a = incident("prod/INC-1", Severity::Medium);
    let mut b = incident("prod/INC-2", Severity::Medium);
    bus.publish(IncidentEventKind::Created, a.clone());
    bus.publish(IncidentEventKind::Created, b.clone());
    eventually(Duration::from_secs(10), "both cards", || async {
        (console
            .transcript()
            .iter()
            .filter(|m| m.message.header.is_some())
            .count()
            == 2)
            .then_some(())
    })
    .await;
    b.state = IncidentState::Merged;
    b.merged_into = Some("prod/INC-1".into());
    bus.publish(
        IncidentEventKind::Merged {
            into: "prod/INC-1".into(),
        },
        b.clone(),
    );
    eventually(
        Duration::from_secs(10),
        "the absorbed card edited",
        || async {
            console.transcript().into_iter().find(|m| {
                let t = m.message.to_plain();
                t.contains("[MERGED]") && t.contains("Merged into prod/INC-1")
            })
        },
    )
    .await;
    cancel.cancel();
}
