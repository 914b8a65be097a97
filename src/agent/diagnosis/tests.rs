use std::collections::BTreeMap;

use chrono::Utc;

use super::*;
use crate::detect::{Evidence, ObjectRef};
use crate::incident::{IncidentState, SignalEntry, signal_id};

fn incident_with(signals: Vec<Signal>) -> Incident {
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
        id: "prod/INC-1".into(),
        number: 1,
        cluster: "prod".into(),
        title: String::new(),
        primary: signals[0].owner.clone(),
        state: IncidentState::Detected,
        severity: crate::correlate::Severity::High,
        score: 60,
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

fn oom() -> Signal {
    let mut evidence = Evidence {
        reason: "OOMKilled".into(),
        message: "container app was OOM-killed (exit code 137) at its memory limit of 64Mi".into(),
        container: Some("app".into()),
        count: Some(7),
        ..Default::default()
    };
    evidence
        .details
        .insert("memory_limit".into(), "64Mi".into());
    Signal {
        name: SignalName::OomKilled,
        object: ObjectRef::namespaced("Pod", "shop", "web-5d8f-x1"),
        owner: ObjectRef::namespaced("Deployment", "shop", "web"),
        node: Some("n1".into()),
        cause: None,
        evidence,
    }
}

fn crash() -> Signal {
    Signal {
        name: SignalName::CrashLoop,
        evidence: Evidence {
            reason: "CrashLoopBackOff".into(),
            message: "back-off 40s restarting failed container".into(),
            container: Some("app".into()),
            ..Default::default()
        },
        ..oom()
    }
}

#[test]
fn an_oom_crash_loop_is_explained_by_the_oom_with_a_bounded_memory_proposal() {
    let d = deterministic(&incident_with(vec![crash(), oom()]));
    assert_eq!(d.source, Source::Rules);
    let a = &d.analysis;
    assert!(
        a.root_cause
            .contains("OOM-killed at its memory limit of 64Mi"),
        "{}",
        a.root_cause
    );
    assert!(a.evidence.iter().any(|e| e.contains("count: 7")));
    assert!(a.evidence.iter().any(|e| e.contains("crash_loop")));
    assert_eq!(a.suggested_actions.len(), 1);
    let s = &a.suggested_actions[0];
    assert_eq!(s.action, "deployment.adjust_resources");
    assert_eq!(s.params["memory_limit"], "128Mi");
    assert_eq!(s.params["container"], "app");
    assert_eq!(s.params["name"], "web");
    assert!(
        d.one_line()
            .starts_with("Container app of Pod shop/web-5d8f-x1 was OOM-killed")
    );
    assert!(a.validate(|_| Ok(())).is_ok());
}

#[test]
fn every_signal_gets_an_explanation() {
    for name in SignalName::ALL {
        let s = Signal { name, ..crash() };
        let d = deterministic(&incident_with(vec![s]));
        assert!(!d.analysis.root_cause.is_empty(), "{name}");
        assert!(d.analysis.validate(|_| Ok(())).is_ok(), "{name}");
    }
}

#[test]
fn model_analyses_are_validated() {
    let good = Analysis {
        root_cause: "The heap is larger than the limit.".into(),
        confidence: 0.8,
        evidence: vec!["OOMKilled, exit code 137".into()],
        recommendations: vec!["raise the limit".into()],
        suggested_actions: vec![SuggestedAction {
            action: "deployment.adjust_resources".into(),
            params: serde_json::json!({"memory_limit": "128Mi"}),
            reason: "more memory".into(),
        }],
    };
    assert!(good.validate(|_| Ok(())).is_ok());
    let refuse = |a: &SuggestedAction| {
        if a.action == "deployment.adjust_resources" {
            Err("unknown field `memory`".to_string())
        } else {
            Ok(())
        }
    };
    assert!(matches!(
        good.validate(refuse),
        Err(DiagnosisError::Action { index: 0, .. })
    ));
    let mut bad = good.clone();
    bad.confidence = 1.5;
    assert!(matches!(
        bad.validate(|_| Ok(())),
        Err(DiagnosisError::Confidence(_))
    ));
    let mut bad = good.clone();
    bad.root_cause = "  ".into();
    assert_eq!(bad.validate(|_| Ok(())), Err(DiagnosisError::NoRootCause));
    let mut bad = good;
    bad.evidence = vec!["x".repeat(5000)];
    assert!(matches!(
        bad.validate(|_| Ok(())),
        Err(DiagnosisError::TooLong { .. })
    ));
    // Unknown fields in a model's JSON are refused by the type itself.
    let json = r#"{"root_cause":"x","confidence":0.5,"run_this":"kubectl delete ns"}"#;
    assert!(serde_json::from_str::<Analysis>(json).is_err());
}

#[test]
fn quantities_double() {
    assert_eq!(doubled("64Mi"), "128Mi");
    assert_eq!(doubled("1.5Gi"), "3Gi");
    assert_eq!(doubled("100"), "200");
    assert_eq!(doubled("weird"), "weird");
}
