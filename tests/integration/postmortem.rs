//! The postmortem's narrative from the model (the fake OpenAI server): used when the reply
//! is valid JSON that passes the checks, the narrative assembled from the facts when the
//! model answers prose or an empty narrative; what the model is sent is the facts, redacted.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use lookout::clock::SystemClock;
use lookout::config::Secret;
use lookout::correlate::Severity;
use lookout::detect::{Evidence, ObjectRef, Signal, SignalName};
use lookout::incident::postmortem::{self, NarrativeSource, Outcome, Postmortem};
use lookout::incident::{
    Incident, IncidentState, SignalEntry, TimelineEntry, TimelineKind, signal_id,
};
use lookout::llm::{LlmClient, LlmConfig, Prompts};
use lookout::redact::{RedactionConfig, Redactor};
use lookout::store::{MemoryStore, Retention};
use prometheus_client::registry::Registry;
use serde_json::json;

use crate::fakes::openai::{API_KEY, FakeOpenAi, Step};

/// A GitHub token that leaked into a verification's details.
const LEAKED: &str = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789";

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 4, 9, 0, 0).unwrap() + chrono::Duration::minutes(minutes)
}

fn client(fake: &FakeOpenAi) -> LlmClient {
    lookout::install_crypto_provider();
    let config = LlmConfig {
        base_url: fake.base_url.clone(),
        model: "gpt-fake".into(),
        api_key: Secret::new(API_KEY),
        timeout: Duration::from_secs(5),
        max_retries: 0,
        ..LlmConfig::default()
    };
    let store = Arc::new(MemoryStore::new(
        SystemClock::shared(),
        Retention {
            records: Duration::from_secs(3600),
            conversation_ttl: Duration::from_secs(3600),
            conversation_max_turns: 10,
            audit_max_len: 100,
        },
    ));
    LlmClient::new(
        &config,
        store,
        SystemClock::shared(),
        &mut Registry::default(),
    )
    .expect("llm client")
}

/// `Deployment shop/web` OOMKilled, resolved after 8 minutes by a memory raise slack:U1
/// approved, after slack:U2 rejected a restart.
fn resolved_oom() -> (Incident, Vec<TimelineEntry>) {
    let signal = Signal {
        name: SignalName::OomKilled,
        object: ObjectRef::namespaced("Pod", "shop", "web-1"),
        owner: ObjectRef::namespaced("Deployment", "shop", "web"),
        node: Some("n1".into()),
        cause: None,
        evidence: Evidence::new("OOMKilled", "OOM-killed at 64Mi").with_container("app"),
    };
    let incident = Incident {
        id: "prod/INC-7".into(),
        number: 7,
        cluster: "prod".into(),
        title: "Deployment shop/web: OOMKilled".into(),
        primary: signal.owner.clone(),
        state: IncidentState::Resolved,
        severity: Severity::High,
        score: 65,
        signals: [(
            signal_id(&signal.key()),
            SignalEntry {
                signal: signal.clone(),
                active: false,
                first_seen: at(0),
                last_seen: at(6),
                cleared_at: Some(at(7)),
                occurrences: 3,
            },
        )]
        .into(),
        keys: Default::default(),
        causes: Default::default(),
        created_at: at(0),
        updated_at: at(8),
        announced_at: Some(at(1)),
        all_clear_since: Some(at(7)),
        resolved_at: Some(at(8)),
        ended_by: None,
        merged_into: None,
        merged_from: vec![],
        acked: None,
        silenced: None,
        diagnosis: Some("OOM-killed at its 64Mi limit".into()),
        revision: 5,
    };
    let e = |m, kind, data| TimelineEntry::new(at(m), kind, "").with_data(data);
    let timeline = vec![
        TimelineEntry::new(
            at(0),
            TimelineKind::Detected,
            "Deployment shop/web: OOMKilled",
        ),
        e(
            2,
            TimelineKind::Analysis,
            json!({"root_cause": "The 64Mi memory limit is below the heap.",
            "confidence": 0.8, "evidence": [], "recommendations": [], "suggested_actions": [],
            "source": {"kind": "rules"}}),
        ),
        e(
            3,
            TimelineKind::Proposal,
            json!({"approval": "A-1", "action": "deployment.rollout_restart",
            "params": {"namespace": "shop", "name": "web"}, "summary": "restart web", "risk": "low"}),
        ),
        e(
            4,
            TimelineKind::Decision,
            json!({"approval": "A-1", "verdict": "rejected", "by": "slack:U2",
            "platform": "slack", "reason": "a restart will not give it more memory"}),
        )
        .by("slack:U2"),
        e(
            4,
            TimelineKind::Proposal,
            json!({"approval": "A-2", "action": "deployment.adjust_resources",
            "params": {"namespace": "shop", "name": "web", "memory_limit": "128Mi"},
            "summary": "raise the memory limit to 128Mi", "risk": "medium"}),
        ),
        e(
            5,
            TimelineKind::Decision,
            json!({"approval": "A-2", "verdict": "approved", "by": "slack:U1",
            "platform": "slack"}),
        )
        .by("slack:U1"),
        e(
            5,
            TimelineKind::Action,
            json!({"approval": "A-2", "action": "deployment.adjust_resources",
            "result": "ok"}),
        ),
        e(
            7,
            TimelineKind::Outcome,
            json!({"approval": "A-2", "what": "verified", "details": format!("1/1 pods ready; annotation token={LEAKED}")}),
        ),
        TimelineEntry::new(
            at(8),
            TimelineKind::Transition,
            "verifying -> resolved: signals cleared",
        ),
    ];
    (incident, timeline)
}

fn narrative() -> serde_json::Value {
    json!({
        "summary": "web was OOM-killed until its memory limit was raised to 128Mi.",
        "impact": "Checkout ran on fewer pods for 8 minutes.",
        "root_cause": "A 64Mi limit below the JVM heap.",
        "lessons_learned": ["Limits were set without measuring."],
        "prevention": ["Alert at 90% of the memory limit."],
    })
}

async fn write(fake: &FakeOpenAi) -> Postmortem {
    let (incident, timeline) = resolved_oom();
    let redactor = Redactor::new(&RedactionConfig::default()).expect("redactor");
    let prompts = Prompts::from_dir(None).expect("prompts");
    let llm = client(fake);
    postmortem::write(
        Some(&llm),
        &prompts,
        &incident,
        &timeline,
        &redactor,
        at(60),
    )
    .await
}

#[tokio::test]
async fn the_models_narrative_is_used_when_valid_and_it_sees_only_redacted_facts() {
    let fake = FakeOpenAi::start().await;
    fake.script([Step::text(narrative().to_string())]);

    let pm = write(&fake).await;

    assert_eq!(
        pm.narrative.source,
        NarrativeSource::Model {
            model: "gpt-fake".into()
        }
    );
    assert_eq!(pm.narrative.summary, narrative()["summary"]);
    assert_eq!(
        pm.narrative.prevention,
        ["Alert at 90% of the memory limit."]
    );
    // The facts are Lookout's own whatever the model says.
    assert_eq!(pm.outcome, Outcome::Resolved);
    assert_eq!(pm.duration(), chrono::Duration::minutes(8));
    assert_eq!(pm.actions[0].approved_by, ["slack:U1"]);
    assert_eq!(
        pm.rejected[0].reason.as_deref(),
        Some("a restart will not give it more memory")
    );

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let prompt = requests[0].content(1);
    assert!(prompt.contains("prod/INC-7"), "{prompt}");
    assert!(
        prompt.contains("approved by slack:U1: succeeded; verified: 1/1 pods ready"),
        "{prompt}"
    );
    assert!(
        prompt.contains("by slack:U2: a restart will not give it more memory"),
        "{prompt}"
    );
    assert!(
        prompt.contains("The 64Mi memory limit is below the heap."),
        "{prompt}"
    );
    assert!(
        !requests[0].raw_body.contains(LEAKED),
        "the token reached the model"
    );
    assert!(!serde_json::to_string(&pm).unwrap().contains(LEAKED));

    let message = pm.to_message().to_plain();
    assert!(message.contains("Postmortem — prod/INC-7"), "{message}");
    assert!(
        message.contains("A 64Mi limit below the JVM heap."),
        "{message}"
    );
    assert!(
        message.contains("Narrative written by gpt-fake"),
        "{message}"
    );
}

#[tokio::test]
async fn prose_or_an_empty_narrative_falls_back_to_the_assembled_one() {
    let fake = FakeOpenAi::start().await;
    fake.script([Step::text(
        "The pod ran out of memory. We raised the limit and it recovered.",
    )]);
    let pm = write(&fake).await;
    let NarrativeSource::Facts {
        fallback: Some(reason),
    } = &pm.narrative.source
    else {
        panic!(
            "expected the assembled narrative: {:?}",
            pm.narrative.source
        )
    };
    assert!(reason.contains("not a JSON object"), "{reason}");
    assert!(
        pm.narrative.summary.contains("resolved after 8m"),
        "{}",
        pm.narrative.summary
    );
    assert_eq!(
        pm.narrative.root_cause,
        "The 64Mi memory limit is below the heap."
    );
    assert!(
        pm.narrative
            .prevention
            .iter()
            .any(|p| p.contains("Alert before memory usage reaches the limit"))
    );

    let mut empty = narrative();
    empty["summary"] = json!("   ");
    fake.script([Step::text(empty.to_string())]);
    let pm = write(&fake).await;
    let NarrativeSource::Facts {
        fallback: Some(reason),
    } = &pm.narrative.source
    else {
        panic!(
            "expected the assembled narrative: {:?}",
            pm.narrative.source
        )
    };
    assert!(reason.contains("summary is empty"), "{reason}");
    assert!(pm.narrative.summary.contains("resolved after 8m"));
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn a_failing_endpoint_still_gives_a_postmortem() {
    let fake = FakeOpenAi::start().await;
    fake.script([Step::server_error()]);
    let pm = write(&fake).await;
    assert!(
        matches!(&pm.narrative.source, NarrativeSource::Facts { fallback: Some(r) } if r.contains("HTTP 5")),
        "{:?}",
        pm.narrative.source
    );
    assert_eq!(pm.actions.len(), 1);
}
