//! Facts from the incident and its timeline.

use serde_json::json;

use super::*;
use crate::incident::postmortem::*;

#[test]
fn a_resolved_oom_incident_has_every_fact() {
    let pm = assemble(&resolved_oom(), &oom_timeline(), at(60));

    assert_eq!(pm.incident_id, "prod/INC-1");
    assert_eq!(pm.outcome, Outcome::Resolved);
    assert_eq!((pm.opened_at, pm.ended_at), (at(0), at(8)));
    assert_eq!(pm.impact.duration_secs, 8 * 60);
    assert_eq!(pm.impact.severity, crate::correlate::Severity::High);
    assert_eq!(pm.impact.workloads, ["Deployment shop/web"]);
    assert_eq!(pm.impact.pods, ["shop/web-1", "shop/web-2"]);
    assert_eq!(pm.impact.pod_count, 2);
    assert_eq!(pm.impact.namespaces, ["shop"]);
    assert_eq!(pm.impact.nodes, ["n1"]);
    assert_eq!(pm.impact.signals[0].name, SignalName::OomKilled);
    assert_eq!(pm.impact.signals[0].count, 2);

    let d = pm.diagnosis.as_ref().expect("diagnosis");
    assert!(
        d.root_cause.contains("memory limit of 64Mi"),
        "{}",
        d.root_cause
    );
    assert_eq!(d.source, "model gpt-fake");
    assert_eq!(d.confidence, Some(0.9));
    assert_eq!(d.evidence.len(), 2);

    let [a] = pm.actions.as_slice() else {
        panic!("one action: {:?}", pm.actions)
    };
    assert_eq!(a.action, "deployment.adjust_resources");
    assert_eq!(a.approval.as_deref(), Some("A-7"));
    assert_eq!(a.approved_by, ["slack:U1"]);
    assert_eq!(a.approved_at, Some(at(5)));
    assert_eq!(a.platform.as_deref(), Some("slack"));
    assert_eq!(a.params["memory_limit"], "128Mi");
    assert_eq!(a.risk.as_deref(), Some("medium"));
    assert_eq!(a.source.as_deref(), Some("diagnosis"));
    assert_eq!(a.result, "ok");
    assert!(a.succeeded());
    assert_eq!(
        a.result_line(),
        "succeeded; verified: 3/3 pods ready, no restarts for 60s"
    );
    assert!(pm.rejected.is_empty());

    // Signals and their clearing are not told; everything else is, in order.
    let kinds: Vec<MomentKind> = pm.timeline.iter().map(|m| m.kind).collect();
    use MomentKind::*;
    assert_eq!(
        kinds,
        [
            Detected,
            State,
            Analysis,
            Proposal,
            Decision,
            Action,
            Verification,
            Resolution
        ]
    );
    let decision = &pm.timeline[4];
    assert_eq!(decision.at, at(5));
    assert_eq!(decision.actor.as_deref(), Some("slack:U1"));
    assert_eq!(decision.text, "A-7 approved on slack");
    assert_eq!(
        pm.timeline[3].text,
        "deployment.adjust_resources (A-7, risk medium, from diagnosis): \
         deployment.adjust_resources on Deployment shop/web"
    );
    assert_eq!(pm.timeline[5].text, "deployment.adjust_resources (A-7): ok");
    assert!(
        pm.timeline[2].text.ends_with("(model gpt-fake, 90%)"),
        "{}",
        pm.timeline[2].text
    );

    let n = &pm.narrative;
    assert_eq!(n.source, NarrativeSource::Facts { fallback: None });
    assert!(n.summary.contains("resolved after 8m"), "{}", n.summary);
    assert!(n.summary.contains("approved by slack:U1"), "{}", n.summary);
    assert!(
        n.impact
            .contains("Deployment shop/web (2 pods) in namespace shop affected for 8m"),
        "{}",
        n.impact
    );
    assert_eq!(n.root_cause, d.root_cause);
    assert!(
        n.lessons_learned
            .iter()
            .any(|l| l.contains("memory limit was below"))
    );
    assert!(
        n.lessons_learned
            .iter()
            .any(|l| l.contains("adjust_resources fixed it"))
    );
    assert!(
        n.prevention
            .iter()
            .any(|p| p.contains("Alert before memory usage reaches the limit"))
    );
    assert!(
        n.prevention
            .iter()
            .any(|p| p.contains("observed peak usage"))
    );
}

#[test]
fn a_rejected_proposal_is_listed_with_its_reason_and_an_expired_one_too() {
    let mut timeline = oom_timeline();
    timeline.splice(
        4..4,
        [
            proposal(
                3,
                "A-5",
                "deployment.rollout_restart",
                json!({"namespace": "shop", "name": "web"}),
            ),
            decision(
                4,
                "A-5",
                "rejected",
                "slack:U2",
                Some("a restart will not give it more memory"),
            ),
            proposal(4, "A-6", "deployment.scale", json!({"replicas": 4})),
            decision(4, "A-6", "expired", "", None),
            decision(4, "A-9", "void", "slack:U1", None),
        ],
    );
    let pm = assemble(&resolved_oom(), &timeline, at(60));

    let [restart, scale] = pm.rejected.as_slice() else {
        panic!("two not gone ahead: {:?}", pm.rejected)
    };
    assert_eq!(restart.action, "deployment.rollout_restart");
    assert_eq!(restart.verdict, "rejected");
    assert_eq!(restart.by.as_deref(), Some("slack:U2"));
    assert_eq!(
        restart.reason.as_deref(),
        Some("a restart will not give it more memory")
    );
    assert_eq!(restart.at, at(4));
    assert_eq!(restart.params["name"], "web");
    assert_eq!(
        (scale.verdict.as_str(), scale.by.as_deref()),
        ("expired", None)
    );
    // The approved one still ran, approved by its own approver only.
    assert_eq!(pm.actions.len(), 1);
    assert_eq!(pm.actions[0].approved_by, ["slack:U1"]);
    assert!(
        pm.timeline
            .iter()
            .any(|m| m.text == "A-5 rejected on slack: a restart will not give it more memory")
    );
    assert!(
        pm.narrative
            .summary
            .contains("2 proposals did not go ahead"),
        "{}",
        pm.narrative.summary
    );
    assert!(
        pm.narrative
            .lessons_learned
            .iter()
            .any(|l| l.contains("turned down"))
    );

    let vars = prompt_vars(&pm);
    assert_eq!(vars.rejected[0].by, "slack:U2");
    assert_eq!(
        vars.rejected[0].reason,
        "a restart will not give it more memory"
    );
    assert_eq!(vars.rejected[1].by, "nobody");
    assert_eq!(vars.rejected[1].reason, "expired unanswered");
}

#[test]
fn an_escalated_incident_ends_at_its_escalation_with_the_failed_fix_told() {
    let incident = incident(IncidentState::Escalated, vec![oom("web-1")]);
    let timeline = vec![
        entry(
            0,
            TimelineKind::Detected,
            "Deployment shop/web: OOMKilled",
            Value::Null,
        ),
        analysis(2),
        proposal(3, "A-7", "deployment.adjust_resources", raise_memory()),
        decision(4, "A-7", "approved", "slack:U1", None),
        decision(4, "A-7", "approved", "slack:U3", None),
        decision(4, "A-7", "approved", "slack:U1", None),
        action(5, "A-7", "deployment.adjust_resources", "ok", None),
        outcome(
            9,
            Some("A-7"),
            "verification_failed",
            "pods still OOMKilled",
        ),
        outcome(10, None, "rolled_back", "restored revision 3"),
        action(
            12,
            "A-8",
            "deployment.rollback",
            "failed",
            Some("no previous revision"),
        ),
        outcome(20, None, "escalated", "no fix after 2 attempts; @oncall"),
        entry(
            20,
            TimelineKind::Transition,
            "remediating -> escalated: no fix after 2 attempts",
            Value::Null,
        ),
    ];
    let pm = assemble(&incident, &timeline, at(90));

    assert_eq!(pm.outcome, Outcome::Escalated);
    assert_eq!(pm.ended_at, at(20));
    assert_eq!(pm.impact.duration_secs, 20 * 60);
    let [fix, rollback] = pm.actions.as_slice() else {
        panic!("two actions: {:?}", pm.actions)
    };
    assert_eq!(fix.approved_by, ["slack:U1", "slack:U3"]);
    assert!(!fix.succeeded());
    assert_eq!(
        fix.result_line(),
        "succeeded; verification failed: pods still OOMKilled; rolled back: restored revision 3"
    );
    assert_eq!(rollback.result_line(), "failed: no previous revision");
    assert!(rollback.approved_by.is_empty());
    assert_eq!(
        pm.timeline.last().map(|m| m.kind),
        Some(MomentKind::Escalation)
    );
    let n = &pm.narrative;
    assert!(
        n.summary.contains("escalated to people after 20m"),
        "{}",
        n.summary
    );
    assert!(
        n.lessons_learned
            .iter()
            .any(|l| l.contains("people took it over"))
    );
    assert!(n.lessons_learned.iter().any(|l| l.contains("did not hold")));
    assert!(!n.lessons_learned.iter().any(|l| l.contains("fixed it")));
}

#[test]
fn an_empty_or_odd_timeline_does_not_break_assembly() {
    // Nothing recorded at all, and no signals either.
    let bare = incident(IncidentState::Analyzing, vec![]);
    let pm = assemble(&bare, &[], at(15));
    assert_eq!(pm.outcome, Outcome::Ongoing);
    assert_eq!(pm.ended_at, at(15));
    assert!(pm.timeline.is_empty() && pm.actions.is_empty() && pm.diagnosis.is_none());
    assert_eq!(
        pm.narrative.root_cause,
        "Container app was OOM-killed at 64Mi"
    );
    assert!(!pm.narrative.lessons_learned.is_empty() && !pm.narrative.prevention.is_empty());
    assert!(
        pm.narrative
            .impact
            .starts_with("Deployment shop/web affected for 15m"),
        "{}",
        pm.narrative.impact
    );
    let _ = pm.to_message();

    // Wrong types, missing fields, unknown references, entries out of order.
    let odd = vec![
        entry(
            9,
            TimelineKind::Outcome,
            "verified",
            json!({"what": "verified"}),
        ),
        entry(
            3,
            TimelineKind::Analysis,
            "rules say OOM",
            json!("not an object"),
        ),
        entry(
            4,
            TimelineKind::Proposal,
            "something",
            json!({"approval": 7, "params": "x"}),
        ),
        entry(
            5,
            TimelineKind::Decision,
            "approved",
            json!({"approval": 7, "verdict": "approved"}),
        ),
        entry(
            5,
            TimelineKind::Decision,
            "?",
            json!({"verdict": "rejected"}),
        ),
        entry(6, TimelineKind::Action, "ran", json!({"approval": 7})),
        entry(6, TimelineKind::Action, "ran something", Value::Null),
        entry(7, TimelineKind::Transition, "no arrow here", Value::Null),
        entry(
            8,
            TimelineKind::Outcome,
            "",
            json!({"what": 3, "details": ["x"]}),
        ),
        entry(8, TimelineKind::Chat, "someone said hi", Value::Null),
        entry(1, TimelineKind::Note, "", Value::Null),
    ];
    let pm = assemble(&bare, &odd, at(15));
    assert_eq!(
        pm.timeline.first().map(|m| m.at),
        Some(at(1)),
        "sorted by time"
    );
    assert_eq!(
        pm.diagnosis.as_ref().map(|d| d.root_cause.as_str()),
        Some("rules say OOM")
    );
    assert_eq!(
        pm.diagnosis.as_ref().map(|d| d.source.as_str()),
        Some("unknown")
    );
    assert_eq!(pm.actions.len(), 2);
    assert_eq!(pm.actions[0].action, "an action");
    assert_eq!(pm.actions[0].approval.as_deref(), Some("7"));
    assert_eq!(pm.actions[0].result, "unknown");
    assert_eq!(pm.actions[1].summary, "ran something");
    assert_eq!(pm.rejected.len(), 1);
    assert_eq!(
        pm.timeline
            .iter()
            .filter(|m| m.kind == MomentKind::State)
            .count(),
        1
    );
    let _ = pm.to_message();
    let _ = prompt_vars(&pm);
}

#[test]
fn a_long_timeline_keeps_its_beginning_and_end() {
    let mut timeline = oom_timeline();
    for i in 0..200 {
        timeline.push(entry(
            8,
            TimelineKind::Note,
            &format!("note {i}"),
            Value::Null,
        ));
    }
    timeline.push(entry(
        9,
        TimelineKind::Note,
        &"x".repeat(5_000),
        Value::Null,
    ));
    let pm = assemble(&resolved_oom(), &timeline, at(60));
    assert_eq!(pm.timeline.len(), 40);
    assert_eq!(pm.timeline[0].kind, MomentKind::Detected);
    let gap = &pm.timeline[12];
    assert_eq!(
        (gap.kind, gap.text.as_str()),
        (MomentKind::Omitted, "170 more entries")
    );
    let last = pm.timeline.last().map(|m| m.text.chars().count());
    assert_eq!(last, Some(300), "long texts are cut");
}

#[test]
fn assembly_is_deterministic_and_a_closed_incident_does_not_depend_on_now() {
    let a = assemble(&resolved_oom(), &oom_timeline(), at(60));
    let b = assemble(&resolved_oom(), &oom_timeline(), at(600));
    assert_eq!(a, b);
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    assert_eq!(a.to_message(), b.to_message());
    assert_eq!(
        serde_json::to_value(prompt_vars(&a)).unwrap(),
        serde_json::to_value(prompt_vars(&b)).unwrap()
    );
    let back: Postmortem = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
    assert_eq!(back, a, "round-trips through the store's JSON");
}
