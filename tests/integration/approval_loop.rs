//! The approval loop end to end: a fault in the real cluster, its card in (fake) Slack, a
//! proposal with Approve / Reject buttons in the card's thread, people clicking, the action
//! executed and verified against the cluster, the incident resolved and its card edited.

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use lookout::chat::slack::SlackMode;
use lookout::config::Config;
use serde_json::json;

use crate::chat::slack::config_for;
use crate::fakes::slack::{ALERTS, FakeSlack, Stored};
use crate::pipeline::{Bot, bot_config};
use crate::sim::{SimTest, deployment};
use crate::support::{eventually, unique};

pub const WAIT: Duration = Duration::from_secs(90);
pub const ALICE: &str = "UALICE";
pub const BOB: &str = "UBOB";

/// The bot with Slack on the fake, approvers alice and bob, remediation for every severity.
pub fn loop_config(t: &SimTest, fake: &FakeSlack) -> Config {
    let mut config = bot_config(&t.ns.name, &unique("loop"));
    config.platforms.slack = config_for(fake, SlackMode::Socket);
    config.routing = serde_yaml_ng::from_str(&format!("- to: [ \"slack:{ALERTS}\" ]\n")).unwrap();
    config.approvals = serde_yaml_ng::from_str(&format!(
        "expires_after: 10m\nroles:\n  operator: {{ slack: [{ALICE}, {BOB}] }}\n  admin: {{ slack: [{ALICE}] }}\n"
    ))
    .unwrap();
    config.remediation.min_severity = lookout::correlate::Severity::Low;
    config.actions.verify_timeout = Duration::from_secs(60);
    config
}

/// An OOM-crash-looping Deployment that 128Mi heals (the OOM runbook doubles 64Mi).
pub async fn break_it(t: &SimTest, name: &str) {
    t.create::<Deployment>(deployment(
        name,
        1,
        json!({"resources": {"limits": {"memory": "64Mi"}, "requests": {"memory": "64Mi"}}}),
        json!({"sim.lookout.dev/memory-need": "100Mi"}),
    ))
    .await;
}

pub fn card_of(fake: &FakeSlack, name: &str) -> Option<Stored> {
    fake.bot_messages(ALERTS)
        .into_iter()
        .find(|m| m.thread().is_none() && m.readable().contains(name))
}

/// The approval message in the card's thread (with buttons), if posted.
pub fn approval_in(fake: &FakeSlack, card: &Stored) -> Option<Stored> {
    fake.bot_messages(ALERTS).into_iter().find(|m| {
        m.thread() == Some(card.ts.as_str()) && m.buttons().iter().any(|(l, _)| l == "Approve")
    })
}

/// The postmortem posted in the card's thread, if any.
pub fn postmortem_in(fake: &FakeSlack, card: &Stored) -> Option<Stored> {
    fake.bot_messages(ALERTS)
        .into_iter()
        .find(|m| m.thread() == Some(card.ts.as_str()) && m.readable().contains("Postmortem"))
}

pub fn button(m: &Stored, label: &str) -> String {
    m.buttons()
        .into_iter()
        .find(|(l, _)| l == label)
        .map(|(_, a)| a)
        .unwrap_or_else(|| panic!("no {label} button on {}", m.readable()))
}

pub async fn memory_limit(t: &SimTest, name: &str) -> String {
    let d: Deployment = t.api::<Deployment>().get(name).await.unwrap();
    d.spec.template.spec.unwrap().containers[0]
        .resources
        .as_ref()
        .unwrap()
        .limits
        .as_ref()
        .unwrap()["memory"]
        .0
        .clone()
}

#[tokio::test]
async fn oom_to_postmortem_through_a_runbook_approved_in_slack() {
    lookout::install_crypto_provider();
    let fake = FakeSlack::start().await;
    let t = SimTest::start(2).await;
    let bot = Bot::start(loop_config(&t, &fake)).await;
    let started = Instant::now();
    break_it(&t, "checkout").await;
    let name = format!("{}/checkout", t.ns.name);

    let card = eventually(WAIT, "the card", || async { card_of(&fake, &name) }).await;
    let approval = eventually(WAIT, "the approval request in the thread", || async {
        approval_in(&fake, &card)
    })
    .await;
    let text = approval.readable();
    assert!(text.contains("deployment.adjust_resources"), "{text}");
    assert!(
        text.contains("128Mi") && text.contains("64Mi"),
        "the dry-run diff is shown: {text}"
    );
    assert!(text.contains("Who may approve"), "{text}");
    assert_eq!(
        memory_limit(&t, "checkout").await,
        "64Mi",
        "nothing changes before approval"
    );

    fake.click(ALERTS, &approval.ts, ALICE, &button(&approval, "Approve"))
        .await;
    eventually(WAIT, "the memory limit raised", || async {
        (memory_limit(&t, "checkout").await == "128Mi").then_some(())
    })
    .await;
    let decided = eventually(
        WAIT,
        "the approval message showing who decided and the outcome",
        || async {
            let m = fake.message(ALERTS, &approval.ts)?;
            let r = m.readable();
            (r.contains(&format!("Approved by slack:{ALICE}")) && r.contains("verified"))
                .then_some(m)
        },
    )
    .await;
    assert!(
        decided.buttons().is_empty(),
        "buttons are gone once decided"
    );

    let resolved = eventually(WAIT, "the card edited to resolved", || async {
        let c = fake.message(ALERTS, &card.ts)?;
        c.readable().contains("RESOLVED").then_some(c)
    })
    .await;
    assert!(resolved.readable().contains("Resolved after"));

    let pm = eventually(WAIT, "the postmortem in the thread", || async {
        postmortem_in(&fake, &card)
    })
    .await;
    println!(
        "fault to postmortem: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!("{}", pm.readable());
    let text = pm.readable();
    for part in [
        "Summary",
        "Impact",
        "Timeline",
        "Root cause",
        "Actions executed",
        "Rejected",
    ] {
        assert!(
            text.contains(part),
            "postmortem section {part} missing: {text}"
        );
    }
    assert!(text.contains("deployment.adjust_resources"), "{text}");
    assert!(
        text.contains(&format!("slack:{ALICE}")),
        "who approved: {text}"
    );
    bot.stop().await;
    t.stop().await;
}
