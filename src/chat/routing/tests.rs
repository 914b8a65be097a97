use std::collections::BTreeMap;

use chrono::Utc;

use super::*;
use crate::detect::{Evidence, ObjectRef, Signal};
use crate::incident::{IncidentState, SignalEntry, signal_id};

fn incident(ns: &str, severity: Severity, signal: SignalName) -> Incident {
    let s = Signal {
        name: signal,
        object: ObjectRef::namespaced("Pod", ns, "p"),
        owner: ObjectRef::namespaced("Deployment", ns, "d"),
        node: None,
        cause: None,
        evidence: Evidence::default(),
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
        id: "prod/INC-1".into(),
        number: 1,
        cluster: "prod".into(),
        title: String::new(),
        primary: s.owner.clone(),
        state: IncidentState::Detected,
        severity,
        score: 0,
        signals,
        keys: Default::default(),
        causes: Default::default(),
        created_at: Utc::now(),
        updated_at: Utc::now(),
        announced_at: None,
        all_clear_since: None,
        resolved_at: None,
        ended_by: None,
        merged_into: None,
        merged_from: vec![],
        acked: None,
        silenced: None,
        diagnosis: None,
        revision: 0,
    }
}

fn rules() -> Vec<RouteRule> {
    serde_yaml_ng::from_str(
        r#"
- match: { namespaces: [payments, checkout], min_severity: high }
  to: [ "slack:#payments-oncall", "telegram:-1001234567890" ]
- match: { signals: [node_not_ready, node_pressure] }
  to: [ "discord:123456789012345678" ]
- match: { namespaces: ["team-*"] }
  to: [ "slack:#teams" ]
- to: [ "slack:#k8s-alerts", console ]
"#,
    )
    .expect("rules parse")
}

fn keys(t: Vec<Target>) -> Vec<String> {
    t.into_iter().map(|t| t.key()).collect()
}

#[test]
fn first_matching_rule_decides() {
    let r = rules();
    let high_payments = incident("payments", Severity::High, SignalName::CrashLoop);
    assert_eq!(
        keys(targets(&r, "prod", &high_payments)),
        ["slack:#payments-oncall", "telegram:-1001234567890"]
    );
    // Below the rule's severity: the default.
    let medium_payments = incident("payments", Severity::Medium, SignalName::CrashLoop);
    assert_eq!(
        keys(targets(&r, "prod", &medium_payments)),
        ["slack:#k8s-alerts", "console:console"]
    );
    let node = incident("shop", Severity::Critical, SignalName::NodeNotReady);
    assert_eq!(
        keys(targets(&r, "prod", &node)),
        ["discord:123456789012345678"]
    );
    let team = incident("team-blue", Severity::Low, SignalName::PvcPending);
    assert_eq!(keys(targets(&r, "prod", &team)), ["slack:#teams"]);
}

#[test]
fn clusters_condition() {
    let r: Vec<RouteRule> =
        serde_yaml_ng::from_str("- match: { clusters: [prod-eu-1] }\n  to: [ \"slack:#eu\" ]\n")
            .unwrap();
    let i = incident("shop", Severity::Low, SignalName::CrashLoop);
    assert_eq!(keys(targets(&r, "prod-eu-1", &i)), ["slack:#eu"]);
    assert!(targets(&r, "prod-us-1", &i).is_empty());
}

#[test]
fn bad_targets_and_keys_are_refused_with_a_reason() {
    let e = serde_yaml_ng::from_str::<Vec<RouteRule>>("- to: [ \"irc:#x\" ]\n").unwrap_err();
    assert!(e.to_string().contains("irc"), "{e}");
    let e = serde_yaml_ng::from_str::<Vec<RouteRule>>("- to: [ \"#x\" ]\n").unwrap_err();
    assert!(e.to_string().contains("platform:channel"), "{e}");
    let e =
        serde_yaml_ng::from_str::<Vec<RouteRule>>("- match: { namespace: [x] }\n  to: [console]\n")
            .unwrap_err();
    assert!(e.to_string().contains("unknown field `namespace`"), "{e}");
}
