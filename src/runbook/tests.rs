use std::collections::BTreeMap;

use chrono::{Duration as Chrono, Utc};

use super::*;
use crate::correlate::Severity;
use crate::detect::{Evidence, ObjectRef, Signal, SignalName};
use crate::incident::{Incident, IncidentState, SignalEntry, signal_id};

fn incident(severity: Severity, signals: Vec<Signal>) -> Incident {
    let mut map = BTreeMap::new();
    for s in &signals {
        map.insert(
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
    }
    Incident {
        id: "prod/INC-9".into(),
        number: 9,
        cluster: "prod".into(),
        title: "t".into(),
        primary: signals[0].owner.clone(),
        state: IncidentState::Detected,
        severity,
        score: 50,
        signals: map,
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

fn pod_signal(name: SignalName, details: &[(&str, &str)]) -> Signal {
    let mut evidence = Evidence {
        reason: "r".into(),
        message: "secret \"db\" not found".into(),
        container: Some("app".into()),
        count: Some(5),
        ..Default::default()
    };
    for (k, v) in details {
        evidence.details.insert(k.to_string(), v.to_string());
    }
    Signal {
        name,
        object: ObjectRef::namespaced("Pod", "shop", "web-1"),
        owner: ObjectRef::namespaced("Deployment", "shop", "web"),
        node: Some("n1".into()),
        cause: None,
        evidence,
    }
}

fn shipped() -> Vec<Runbook> {
    load(None).expect("shipped runbooks load")
}

#[test]
fn every_shipped_runbook_loads() {
    let names: Vec<String> = shipped().into_iter().map(|b| b.name).collect();
    for n in [
        "oom-raise-memory",
        "crashloop-after-rollout",
        "image-pull-after-rollout",
        "missing-config",
        "node-not-ready",
        "job-failed-retry",
        "hpa-at-max",
    ] {
        assert!(names.iter().any(|x| x == n), "{n} in {names:?}");
    }
}

#[test]
fn oom_raises_the_memory_limit_of_the_killed_container() {
    let books = shipped();
    let i = incident(
        Severity::Medium,
        vec![pod_signal(
            SignalName::OomKilled,
            &[("memory_limit", "64Mi")],
        )],
    );
    let m = select(&books, &i, &Facts::default(), Utc::now()).expect("a runbook");
    assert_eq!((m.runbook.name.as_str(), m.tier), ("oom-raise-memory", 1));
    let steps = instantiate(m.runbook, &i, m.signal).unwrap();
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].action, "deployment.adjust_resources");
    assert_eq!(
        steps[0].params,
        serde_json::json!({"namespace": "shop", "name": "web", "container": "app", "memory_limit": "128Mi"})
    );
    assert!(
        steps[0].why.contains("memory limit of 64Mi"),
        "{}",
        steps[0].why
    );
    // Below its minimum severity it does not apply.
    let low = incident(
        Severity::Low,
        vec![pod_signal(
            SignalName::OomKilled,
            &[("memory_limit", "64Mi")],
        )],
    );
    assert!(select(&books, &low, &Facts::default(), Utc::now()).is_none());
}

#[test]
fn a_crash_loop_is_rolled_back_only_right_after_a_rollout() {
    let books = shipped();
    let i = incident(
        Severity::Medium,
        vec![pod_signal(SignalName::CrashLoop, &[])],
    );
    let now = Utc::now();
    let fresh = Facts {
        rolled_out_at: Some(now - Chrono::minutes(10)),
    };
    let m = select(&books, &i, &fresh, now).expect("right after a rollout");
    assert_eq!(m.runbook.name, "crashloop-after-rollout");
    let steps = instantiate(m.runbook, &i, m.signal).unwrap();
    assert_eq!(steps[0].params["to"], "previous");
    let old = Facts {
        rolled_out_at: Some(now - Chrono::hours(3)),
    };
    assert!(select(&books, &i, &old, now).is_none());
    assert!(select(&books, &i, &Facts::default(), now).is_none());
}

#[test]
fn the_heaviest_signal_picks_first() {
    // An OOM crash loop right after a rollout: the OOM (heavier) picks its runbook.
    let books = shipped();
    let i = incident(
        Severity::High,
        vec![
            pod_signal(SignalName::CrashLoop, &[]),
            pod_signal(SignalName::OomKilled, &[("memory_limit", "64Mi")]),
        ],
    );
    let facts = Facts {
        rolled_out_at: Some(Utc::now()),
    };
    let m = select(&books, &i, &facts, Utc::now()).unwrap();
    assert_eq!(m.runbook.name, "oom-raise-memory");
}

#[test]
fn missing_config_only_explains() {
    let books = shipped();
    let i = incident(
        Severity::Medium,
        vec![pod_signal(SignalName::ContainerConfigError, &[])],
    );
    let m = select(&books, &i, &Facts::default(), Utc::now()).unwrap();
    assert_eq!(m.runbook.name, "missing-config");
    assert!(instantiate(m.runbook, &i, m.signal).unwrap().is_empty());
    let text = explain(m.runbook, &i, m.signal).unwrap().unwrap();
    assert!(text.contains("secret \"db\" not found"), "{text}");
}

#[test]
fn a_not_ready_node_is_cordoned_then_drained() {
    let books = shipped();
    let node = ObjectRef::cluster_scoped("Node", "n7");
    let mut s = pod_signal(SignalName::NodeNotReady, &[("pods", "12")]);
    s.object = node.clone();
    s.owner = node;
    let i = incident(Severity::Critical, vec![s]);
    let m = select(&books, &i, &Facts::default(), Utc::now()).unwrap();
    let steps = instantiate(m.runbook, &i, m.signal).unwrap();
    let actions: Vec<&str> = steps.iter().map(|s| s.action.as_str()).collect();
    assert_eq!(actions, ["node.cordon", "node.drain"]);
    assert_eq!(steps[1].params["name"], "n7");
}

#[test]
fn an_hpa_at_max_gets_two_more_as_a_number() {
    let books = shipped();
    let mut s = pod_signal(SignalName::HpaMaxed, &[("max", "10"), ("desired", "14")]);
    s.object = ObjectRef::namespaced("HorizontalPodAutoscaler", "shop", "web");
    let i = incident(Severity::Low, vec![s]);
    let m = select(&books, &i, &Facts::default(), Utc::now()).unwrap();
    let steps = instantiate(m.runbook, &i, m.signal).unwrap();
    assert_eq!(steps[0].params["max_replicas"], serde_json::json!(12));
}

#[test]
fn a_configured_directory_overrides_and_adds_and_errors_name_the_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mine.yaml"),
        "name: oom-raise-memory\ndescription: ours\ntrigger:\n  signals: [oom_killed]\n  kinds: [Deployment]\nexplain: we handle OOMs ourselves\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("generic.yaml"),
        "name: generic-high\ndescription: any high deployment incident\ntrigger:\n  min_severity: high\n  kinds: [Deployment]\nexplain: page the owners\n",
    )
    .unwrap();
    let books = load(Some(dir.path())).unwrap();
    let oom = books.iter().find(|b| b.name == "oom-raise-memory").unwrap();
    assert_eq!(oom.description, "ours");
    assert_eq!(
        books
            .iter()
            .filter(|b| b.name == "oom-raise-memory")
            .count(),
        1
    );
    // A generic runbook is the second tier.
    let i = incident(
        Severity::High,
        vec![pod_signal(SignalName::ProbeFailing, &[])],
    );
    let m = select(&books, &i, &Facts::default(), Utc::now()).unwrap();
    assert_eq!((m.runbook.name.as_str(), m.tier), ("generic-high", 2));

    std::fs::write(
        dir.path().join("bad.yaml"),
        "name: bad\ndescription: x\ntrigger:\n  signals: [oom_kill]\n  kinds: [Deployment]\nexplain: x\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("typo.yaml"),
        "name: typo\ndescription: x\ntrigger:\n  kinds: [Deployment]\nsteps:\n  - action: deployment.scale\n    params: { name: \"{{owner.nmae}}\" }\n    why: x\n",
    )
    .unwrap();
    let errors = load(Some(dir.path())).unwrap_err();
    let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert!(
        text.iter()
            .any(|t| t.contains("bad.yaml") && t.contains("trigger.signals")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.contains("typo.yaml") && t.contains("steps[0].params.name")),
        "{text:?}"
    );
}

#[test]
fn unknown_actions_are_reported() {
    let books = shipped();
    let known = ["deployment.adjust_resources", "deployment.rollback"];
    let errors = check_actions(&books, |a| known.contains(&a));
    assert!(errors.iter().any(|e| e.reason.contains("node.cordon")));
    assert!(
        errors
            .iter()
            .all(|e| !e.reason.contains("deployment.rollback"))
    );
}
