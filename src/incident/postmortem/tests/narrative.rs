//! The model's narrative: used when it passes, refused otherwise; facts never change.

use super::*;
use crate::incident::postmortem::*;
use crate::llm::PostmortemOutput;

fn output() -> PostmortemOutput {
    PostmortemOutput {
        summary: "  web ran out of memory; raising the limit fixed it.  ".into(),
        impact: "Checkout was degraded for 8 minutes.".into(),
        root_cause: "A 64Mi limit under a 100Mi heap.".into(),
        lessons_learned: vec!["Limits were guessed.".into()],
        prevention: vec![
            "Alert at 90% of the limit.".into(),
            "Load-test limits.".into(),
        ],
    }
}

#[test]
fn a_valid_narrative_replaces_the_assembled_one_and_nothing_else() {
    let facts = assemble(&resolved_oom(), &oom_timeline(), at(60));
    let pm = facts
        .clone()
        .with_narrative(output(), "gpt-fake")
        .expect("valid");
    assert_eq!(
        pm.narrative.summary,
        "web ran out of memory; raising the limit fixed it."
    );
    assert_eq!(pm.narrative.prevention.len(), 2);
    assert_eq!(
        pm.narrative.source,
        NarrativeSource::Model {
            model: "gpt-fake".into()
        }
    );
    assert_eq!(
        Postmortem {
            narrative: facts.narrative.clone(),
            ..pm
        },
        facts,
        "timeline, actions, impact are the facts' own"
    );
}

#[test]
fn an_empty_missing_or_oversized_narrative_is_refused() {
    let facts = assemble(&resolved_oom(), &oom_timeline(), at(60));
    let refuse = |change: &dyn Fn(&mut PostmortemOutput)| {
        let mut out = output();
        change(&mut out);
        facts.clone().with_narrative(out, "m").expect_err("refused")
    };
    assert_eq!(
        refuse(&|o| o.summary = " \n ".into()),
        NarrativeError::Empty("summary".into())
    );
    assert_eq!(
        refuse(&|o| o.root_cause.clear()),
        NarrativeError::Empty("root_cause".into())
    );
    assert_eq!(
        refuse(&|o| o.impact = "x".repeat(1_501)),
        NarrativeError::TooLong {
            field: "impact".into(),
            len: 1_501,
            max: 1_500
        }
    );
    assert_eq!(
        refuse(&|o| o.lessons_learned.clear()),
        NarrativeError::Empty("lessons_learned".into())
    );
    assert_eq!(
        refuse(&|o| o.prevention = vec!["p".into(); 9]),
        NarrativeError::TooMany {
            field: "prevention",
            len: 9,
            max: 8
        }
    );
    assert_eq!(
        refuse(&|o| o.prevention[1] = "  ".into()),
        NarrativeError::Empty("prevention[1]".into())
    );
    assert_eq!(
        refuse(&|o| o.lessons_learned[0] = "y".repeat(401)),
        NarrativeError::TooLong {
            field: "lessons_learned[0]".into(),
            len: 401,
            max: 400
        }
    );
}

/// Replaces a known secret the way the real redactor would.
struct Hunter2;

impl crate::chat::redact::Redact for Hunter2 {
    fn redact(&self, text: &str) -> String {
        text.replace("hunter2", "[REDACTED]")
    }
}

#[tokio::test]
async fn without_a_model_write_gives_the_redacted_facts() {
    let mut timeline = oom_timeline();
    timeline.push(proposal(
        3,
        "A-5",
        "configmap.patch_key",
        json!({"key": "DB_PASSWORD", "value": "hunter2"}),
    ));
    timeline.push(decision(
        4,
        "A-5",
        "rejected",
        "slack:U2",
        Some("never paste hunter2 here"),
    ));
    timeline.push(action(
        6,
        "A-9",
        "deployment.scale",
        "failed",
        Some("denied: token hunter2"),
    ));
    timeline.push(entry(
        6,
        TimelineKind::Note,
        "log said password=hunter2",
        Value::Null,
    ));
    let mut incident = resolved_oom();
    incident.title = "web: hunter2 leaked into the title".into();
    let prompts = crate::llm::Prompts::from_dir(None).expect("prompts");

    let pm = write(None, &prompts, &incident, &timeline, &Hunter2, at(60)).await;

    assert_eq!(
        pm.narrative.source,
        NarrativeSource::Facts { fallback: None }
    );
    let stored = serde_json::to_string(&pm).unwrap();
    assert!(!stored.contains("hunter2"), "{stored}");
    assert!(stored.contains("[REDACTED]"));
    assert!(!pm.to_message().to_plain().contains("hunter2"));
    assert_eq!(pm.rejected[0].params["value"], "[REDACTED]");
}
