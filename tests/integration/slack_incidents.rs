//! From a fault injected in the real test cluster to the incident's card in (fake) Slack, its
//! details in the card's thread, and the card edited when the incident resolves — the whole
//! bot in-process, Slack through the real adapter on Socket Mode.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use lookout::chat::slack::SlackMode;
use serde_json::json;

use crate::chat::slack::config_for;
use crate::fakes::slack::{ALERTS, FakeSlack, Stored};
use crate::pipeline::{Bot, bot_config};
use crate::sim::{SimTest, deployment};
use crate::support::{eventually, unique};

const WAIT: Duration = Duration::from_secs(60);

fn card_of(fake: &FakeSlack, name: &str) -> Option<Stored> {
    fake.bot_messages(ALERTS)
        .into_iter()
        .find(|m| m.thread().is_none() && m.readable().contains(name))
}

#[tokio::test]
async fn a_fault_in_the_cluster_becomes_a_card_in_slack_edited_when_resolved() {
    lookout::install_crypto_provider();
    let fake = FakeSlack::start().await;
    let t = SimTest::start(2).await;
    let mut config = bot_config(&t.ns.name, &unique("slack"));
    config.platforms.slack = config_for(&fake, SlackMode::Socket);
    config.routing = serde_yaml_ng::from_str(&format!("- to: [ \"slack:{ALERTS}\" ]\n")).unwrap();
    let bot = Bot::start(config).await;

    t.create::<Deployment>(deployment(
        "checkout",
        2,
        json!({"resources": {"limits": {"memory": "64Mi"}, "requests": {"memory": "64Mi"}}}),
        json!({"sim.lookout.dev/memory-need": "300Mi", "sim.lookout.dev/logs": "starting checkout\nloading catalog"}),
    ))
    .await;

    let name = format!("{}/checkout", t.ns.name);
    let card = eventually(WAIT, "the incident's card in Slack", || async {
        card_of(&fake, &name)
    })
    .await;
    let text = card.readable();
    assert!(
        text.contains("OOMKilled") || text.contains("crash loop"),
        "{text}"
    );
    assert!(text.contains("INC-"), "{text}");
    // Its details are in its thread.
    eventually(WAIT, "the details in the card's thread", || async {
        fake.bot_messages(ALERTS).into_iter().find(|m| {
            m.thread() == Some(card.ts.as_str()) && m.readable().contains("What Lookout sees")
        })
    })
    .await;

    // The fix: enough memory. The card is edited in place to show the incident resolved.
    t.patch::<Deployment>(
        "checkout",
        json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "resources": {"limits": {"memory": "512Mi"}, "requests": {"memory": "64Mi"}}}
        ]}}}}),
    )
    .await;
    let resolved = eventually(WAIT, "the card edited to resolved", || async {
        let c = fake.message(ALERTS, &card.ts)?;
        c.readable().contains("RESOLVED").then_some(c)
    })
    .await;
    assert!(resolved.edits >= 1);
    assert!(
        resolved.readable().contains("Resolved after"),
        "{}",
        resolved.readable()
    );
    let cards = fake
        .bot_messages(ALERTS)
        .into_iter()
        .filter(|m| m.thread().is_none() && m.readable().contains(&name))
        .count();
    assert_eq!(cards, 1, "one card, edited in place");
    bot.stop().await;
    t.stop().await;
}
