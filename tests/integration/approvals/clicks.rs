//! Who may click, and clicks that race: an unauthorised click is refused privately and
//! audited; a double click and a second person's click are told who decided first; two
//! people clicking at the same instant, or the same click reaching two processes, decide once;
//! a two-approver policy needs two distinct people. Nothing is ever executed twice.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use k8s_openapi::api::apps::v1::Deployment;
use lookout::approval::{ApprovalEvent, ApprovalRequest, ApprovalsConfig, Desk};
use lookout::audit::Audit;
use lookout::chat::handler::{ClickHandler, ClickReply};
use lookout::chat::outbound::{ChatMetrics, Outbound};
use lookout::chat::redact::NoRedaction;
use lookout::chat::{Action, ActionCodec, ChatUser, Click, MessageRef};
use lookout::clock::SystemClock;
use lookout::store::{ApprovalRecord, RedisStore, RedisStoreOptions, Retention, SharedStore};
use serde_json::json;
use tokio::sync::{Barrier, mpsc};
use tokio_util::sync::CancellationToken;

use super::{ALICE, BOB, MALLORY, Rig, WAIT, audited, button, memory_limit};
use crate::fakes::slack::ALERTS;
use crate::pipeline::Bot;
use crate::support::{env, eventually, unique};

/// The Deployment's generation: 1 when created, +1 per spec change.
async fn generation(rig: &Rig) -> i64 {
    let d: Deployment = rig.t.api::<Deployment>().get("checkout").await.unwrap();
    d.metadata.generation.unwrap_or_default()
}

#[tokio::test]
async fn unauthorised_and_repeated_clicks_are_refused_privately_and_nothing_runs_twice() {
    let rig = Rig::start(|_, _| {}).await;
    let card = rig.card().await;
    let approval = rig.approval(&card).await;
    let approve = button(&approval, "Approve");

    rig.fake
        .click(ALERTS, &approval.ts, MALLORY, &approve)
        .await;
    let refusal = rig.private_notes(MALLORY, 1).await;
    assert!(
        refusal[0].contains("not") && refusal[0].contains("Ask operator or admin"),
        "a private refusal naming who may approve: {refusal:?}"
    );
    let refused = eventually(WAIT, "the refused click audited", || async {
        let r = audited(&rig.bot.store, "refused_click").await;
        (!r.is_empty()).then_some(r)
    })
    .await;
    assert_eq!(refused[0]["actor"], format!("slack:{MALLORY}"));
    assert_eq!(memory_limit(&rig.t, "checkout").await, "64Mi");
    assert!(
        rig.text(&approval.ts).contains("Approve"),
        "still undecided"
    );

    // A double click, then someone else, while the first is being applied.
    rig.fake.click(ALERTS, &approval.ts, ALICE, &approve).await;
    rig.fake.click(ALERTS, &approval.ts, ALICE, &approve).await;
    rig.fake
        .click(ALERTS, &approval.ts, BOB, &button(&approval, "Reject"))
        .await;
    let alice = rig.private_notes(ALICE, 1).await;
    assert!(
        alice[0].contains(&format!("approved by slack:{ALICE}")),
        "{alice:?}"
    );
    let bob = rig.private_notes(BOB, 1).await;
    assert!(
        bob[0].contains(&format!("approved by slack:{ALICE}")),
        "{bob:?}"
    );

    rig.until_reads(&approval.ts, "verified").await;
    assert_eq!(memory_limit(&rig.t, "checkout").await, "128Mi");
    assert_eq!(
        generation(&rig).await,
        2,
        "the Deployment was changed exactly once"
    );
    let decisions = audited(&rig.bot.store, "decision").await;
    assert_eq!(decisions.len(), 1, "one decision: {decisions:?}");
    let actions = audited(&rig.bot.store, "action").await;
    assert_eq!(actions.len(), 1, "one execution: {actions:?}");
    rig.stop().await;
}

#[tokio::test]
async fn a_two_approver_policy_needs_two_distinct_people() {
    let rig = Rig::start(|c, _| {
        c.approvals.policy = serde_yaml_ng::from_str(
            "low: [operator]\nmedium: { any_of: [operator], approvers: 2 }\nhigh: { any_of: [admin], approvers: 2 }\n",
        )
        .expect("policy");
    })
    .await;
    let card = rig.card().await;
    let approval = rig.approval(&card).await;
    assert!(
        rig.text(&approval.ts).contains("2 distinct people"),
        "{}",
        rig.text(&approval.ts)
    );
    let approve = button(&approval, "Approve");

    rig.fake.click(ALERTS, &approval.ts, ALICE, &approve).await;
    let notes = rig.private_notes(ALICE, 1).await;
    assert!(notes[0].contains("1 of 2"), "{notes:?}");
    rig.until_reads(&approval.ts, &format!("slack:{ALICE}"))
        .await;
    // The same person again is still one approver.
    rig.fake.click(ALERTS, &approval.ts, ALICE, &approve).await;
    let notes = rig.private_notes(ALICE, 2).await;
    assert!(notes[1].contains("1 of 2"), "{notes:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        memory_limit(&rig.t, "checkout").await,
        "64Mi",
        "one approver is not enough"
    );

    rig.fake.click(ALERTS, &approval.ts, BOB, &approve).await;
    let decided = rig.until_reads(&approval.ts, "verified").await;
    assert!(
        decided.contains(&format!("slack:{ALICE}")) && decided.contains(&format!("slack:{BOB}")),
        "both approvers shown: {decided}"
    );
    assert_eq!(memory_limit(&rig.t, "checkout").await, "128Mi");
    rig.stop().await;
}

#[tokio::test]
async fn the_same_click_reaching_two_processes_decides_and_executes_once() {
    let rig = Rig::start(|_, _| {}).await;
    // A second process of the same bot: same cluster, same Redis, same Slack app.
    let other = Bot::start(rig.config.clone()).await;
    eventually(WAIT, "both processes connected", || async {
        (rig.fake.connections() >= 2).then_some(())
    })
    .await;
    let card = rig.card().await;
    let approval = rig.approval(&card).await;

    rig.fake
        .click_on_every_connection(ALERTS, &approval.ts, ALICE, &button(&approval, "Approve"))
        .await;
    rig.until_reads(&approval.ts, "verified").await;
    assert_eq!(generation(&rig).await, 2, "changed exactly once");
    assert_eq!(audited(&rig.bot.store, "decision").await.len(), 1);
    assert_eq!(audited(&rig.bot.store, "action").await.len(), 1);
    other.stop().await;
    rig.stop().await;
}

/// Two desks (two processes) over one Redis; `rounds` times, two people click at the same
/// instant (one barrier): exactly one decision, the other told who decided.
#[tokio::test]
async fn two_people_clicking_at_the_same_instant_decide_once() {
    let cluster = unique("race");
    let store = |cluster: &str| -> SharedStore {
        let redis = lookout::config::RedisConfig {
            url: lookout::config::SecretUrl::new(env().redis_url()),
            ..Default::default()
        };
        Arc::new(
            RedisStore::new(
                RedisStoreOptions {
                    redis,
                    cluster: cluster.to_string(),
                    retention: Retention::from(&lookout::config::StoreConfig::default()),
                },
                &mut prometheus_client::registry::Registry::default(),
            )
            .expect("redis store"),
        )
    };
    let policy: ApprovalsConfig = serde_yaml_ng::from_str(&format!(
        "roles:\n  operator: {{ slack: [{ALICE}, {BOB}] }}\n"
    ))
    .unwrap();
    let desk = |store: SharedStore| {
        let (events, rx) = mpsc::unbounded_channel();
        let clock = SystemClock::shared();
        let cancel = CancellationToken::new();
        let desk = Desk {
            store: store.clone(),
            clock: clock.clone(),
            policy: policy.clone(),
            outbound: Outbound::new(
                store.clone(),
                clock.clone(),
                vec![],
                ChatMetrics::unregistered(),
                cancel,
            ),
            codec: ActionCodec::new(&cluster),
            redact: Arc::new(NoRedaction),
            audit: Audit::new(&Default::default(), store, clock).unwrap(),
            events,
        };
        (Arc::new(desk), rx)
    };
    let (one, mut one_events) = desk(store(&cluster));
    let (two, mut two_events) = desk(store(&cluster));
    let click = |user: &str, verb: &str, id: &str| {
        let c = Click {
            platform: "slack".into(),
            channel: ALERTS.into(),
            message: MessageRef {
                platform: "slack".into(),
                channel: ALERTS.into(),
                id: "1.0".into(),
            },
            user: ChatUser {
                platform: "slack".into(),
                id: user.into(),
                name: None,
                groups: Vec::new(),
            },
            action: String::new(),
            token: String::new(),
        };
        let a = Action {
            verb: verb.into(),
            arg: id.into(),
        };
        (c, a)
    };
    for round in 0..20 {
        let id = format!("A-{round}");
        let request = request(&id);
        let record = ApprovalRecord {
            id: id.clone(),
            incident_id: request.incident.clone(),
            request: json!(request),
            created_at: request.requested_at,
            expires_at: request.expires_at,
        };
        assert!(one.store.create_approval(&record).await.unwrap());
        let barrier = Arc::new(Barrier::new(2));
        let (a, b) = (barrier.clone(), barrier);
        let (c1, a1) = click(ALICE, "approve", &id);
        let (c2, a2) = click(BOB, "reject", &id);
        let (d1, d2) = (one.clone(), two.clone());
        let first = tokio::spawn(async move {
            a.wait().await;
            d1.click(&c1, &a1).await
        });
        let second = tokio::spawn(async move {
            b.wait().await;
            d2.click(&c2, &a2).await
        });
        let (r1, r2) = (first.await.unwrap(), second.await.unwrap());
        let mut decided = Vec::new();
        while let Ok(e) = one_events.try_recv() {
            decided.push(e);
        }
        while let Ok(e) = two_events.try_recv() {
            decided.push(e);
        }
        let decided: Vec<_> = decided
            .into_iter()
            .filter(|e| matches!(e, ApprovalEvent::Decided { request, .. } if request.id == id))
            .collect();
        assert_eq!(
            decided.len(),
            1,
            "round {round}: exactly one decision: {decided:?}"
        );
        let ApprovalEvent::Decided { decision, .. } = &decided[0] else {
            unreachable!()
        };
        let stored = one.store.approval(&id).await.unwrap().unwrap();
        assert_eq!(stored.decision.as_ref(), Some(decision), "round {round}");
        // The winner hears nothing (its click took effect) or the rejection prompt; the loser
        // is told who decided first.
        let loser = if decision.by == format!("slack:{ALICE}") {
            &r2
        } else {
            &r1
        };
        match loser {
            ClickReply::Private(text) => {
                assert!(text.contains(&decision.by), "round {round}: {text}")
            }
            other => panic!("round {round}: the loser got {other:?}"),
        }
    }
}

fn request(id: &str) -> ApprovalRequest {
    let now = Utc::now();
    let plan = serde_json::from_value(json!({
        "action": "deployment.scale",
        "params": {"namespace": "shop", "name": "checkout", "replicas": 3},
        "target": {"kind": "Deployment", "namespace": "shop", "name": "checkout"},
        "uid": "u1", "resource_version": "1",
        "snapshot": {"fields": [{"pointer": "/spec/replicas", "value": 2}]},
        "change": {"op": "patch", "patch_type": "merge", "patch": {"spec": {"replicas": 3}}},
        "diff": "-  replicas: 2\n+  replicas: 3\n",
        "summary": "scale from 2 to 3 replicas",
        "risk": "medium",
        "created_at": now,
    }))
    .expect("plan");
    ApprovalRequest {
        id: id.into(),
        incident: "race/INC-1".into(),
        plan,
        why: "more capacity".into(),
        source: "test".into(),
        approvers_needed: 1,
        who_may_approve: "operator".into(),
        requested_at: now,
        expires_at: now + chrono::Duration::minutes(15),
    }
}
