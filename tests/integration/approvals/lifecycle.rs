//! What happens to a proposal over time: it expires (the message says so, the loop moves on
//! and in the end escalates to the on-call), the target changes before the click (the
//! approval is void and a fresh one is asked for), automation is paused (an approved action is
//! held until resume; with pause in config nothing is proposed at all).

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Patch, PatchParams};
use lookout::remediation::{AUTOMATION, PAUSED};
use serde_json::json;

use super::{ALICE, Rig, WAIT, button, memory_limit};
use crate::approval_loop::postmortem_in;
use crate::fakes::slack::ALERTS;
use crate::support::eventually;

#[tokio::test]
async fn unanswered_proposals_expire_and_the_incident_is_escalated_to_the_on_call() {
    let rig = Rig::start(|c, _| {
        c.approvals.expires_after = Duration::from_secs(4);
        c.escalation.on_call.slack = vec!["<@UONCALL>".into()];
    })
    .await;
    let card = rig.card().await;
    let first = rig.nth_approval(&card, 1).await;
    let expired = rig.until_reads(&first.ts, "Expired at").await;
    assert!(!expired.contains("Approve\n"), "{expired}");
    assert!(
        rig.fake
            .message(ALERTS, &first.ts)
            .unwrap()
            .buttons()
            .is_empty(),
        "no buttons on an expired proposal"
    );
    let escalation = eventually(WAIT, "the escalation in the thread", || async {
        rig.fake.bot_messages(ALERTS).into_iter().find(|m| {
            m.thread() == Some(card.ts.as_str())
                && m.readable().contains("Escalating to the on-call")
        })
    })
    .await;
    assert!(
        escalation.blocks.to_string().contains("<@UONCALL>"),
        "the on-call is mentioned: {}",
        escalation.readable()
    );
    let pm = eventually(WAIT, "the postmortem of the escalation", || async {
        postmortem_in(&rig.fake, &card)
    })
    .await;
    let text = pm.readable();
    assert!(text.contains("ESCALATED"), "{text}");
    assert!(
        text.contains("expired"),
        "the expired proposals are told: {text}"
    );
    assert_eq!(
        memory_limit(&rig.t, "checkout").await,
        "64Mi",
        "nothing ran"
    );
    rig.stop().await;
}

#[tokio::test]
async fn a_target_changed_after_the_proposal_voids_the_approval_and_a_fresh_one_is_asked() {
    let rig = Rig::start(|_, _| {}).await;
    let card = rig.card().await;
    let first = rig.nth_approval(&card, 1).await;

    // Someone else edits the Deployment while the proposal waits.
    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "app", "resources": {"limits": {"memory": "80Mi"}, "requests": {"memory": "64Mi"}}}
    ]}}}});
    rig.t
        .api::<Deployment>()
        .patch(
            "checkout",
            &PatchParams::default(),
            &Patch::Strategic(&patch),
        )
        .await
        .expect("someone else's change");
    rig.fake
        .click(ALERTS, &first.ts, ALICE, &button(&first, "Approve"))
        .await;
    rig.until_reads(&first.ts, "void").await;
    assert_eq!(
        memory_limit(&rig.t, "checkout").await,
        "80Mi",
        "the void approval ran nothing"
    );

    let second = rig.nth_approval(&card, 2).await;
    let text = second.readable();
    assert!(
        text.contains("80Mi") && text.contains("128Mi"),
        "the fresh diff: {text}"
    );
    rig.fake
        .click(ALERTS, &second.ts, ALICE, &button(&second, "Approve"))
        .await;
    rig.until_reads(&second.ts, "verified").await;
    assert_eq!(memory_limit(&rig.t, "checkout").await, "128Mi");
    rig.stop().await;
}

#[tokio::test]
async fn pausing_holds_an_approved_action_until_automation_resumes() {
    let rig = Rig::start(|c, _| c.remediation.observe_wait = Duration::from_secs(2)).await;
    let card = rig.card().await;
    let approval = rig.nth_approval(&card, 1).await;
    rig.bot
        .store
        .put(AUTOMATION, PAUSED, "true", None)
        .await
        .unwrap();

    rig.fake
        .click(ALERTS, &approval.ts, ALICE, &button(&approval, "Approve"))
        .await;
    rig.until_reads(&approval.ts, "held while automation is paused")
        .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        memory_limit(&rig.t, "checkout").await,
        "64Mi",
        "held while paused"
    );

    rig.bot.store.delete(AUTOMATION, PAUSED).await.unwrap();
    rig.until_reads(&approval.ts, "verified").await;
    assert_eq!(memory_limit(&rig.t, "checkout").await, "128Mi");
    rig.stop().await;
}

#[tokio::test]
async fn paused_in_config_nothing_is_proposed() {
    let rig = Rig::start(|c, _| c.remediation.paused = true).await;
    let card = rig.card().await;
    eventually(WAIT, "the paused note in the thread", || async {
        rig.fake.bot_messages(ALERTS).into_iter().find(|m| {
            m.thread() == Some(card.ts.as_str()) && m.readable().contains("Automation is paused")
        })
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(rig.approvals(&card).is_empty(), "no proposal while paused");
    rig.stop().await;
}
