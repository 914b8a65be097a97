//! The whole bot in-process (as `app.rs` wires it) on fake Slack against the test cluster: a
//! fault becomes a card with Ack and Silence 1h; an operator's Ack click shows on the card;
//! `status` reads the cluster live; `pause` flips the switch the remediation engine reads; a
//! configured digest schedule posts to its channel.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use lookout::chat::slack::SlackMode;
use lookout::remediation::{AUTOMATION, PAUSED};
use serde_json::json;

use crate::chat::slack::{config_for, slack_user};
use crate::fakes::slack::{ALERTS, FakeSlack, Stored};
use crate::pipeline::{Bot, bot_config};
use crate::sim::{SimTest, deployment};
use crate::support::{eventually, unique};

const WAIT: Duration = Duration::from_secs(60);

fn bot_message(fake: &FakeSlack, f: impl Fn(&Stored) -> bool) -> Option<Stored> {
    fake.bot_messages(ALERTS).into_iter().find(|m| f(m))
}

#[tokio::test]
async fn the_bot_answers_commands_acks_from_its_card_and_sends_scheduled_digests() {
    lookout::install_crypto_provider();
    let fake = FakeSlack::start().await;
    let t = SimTest::start(2).await;
    let cluster = unique("cmd");
    let mut config = bot_config(&t.ns.name, &cluster);
    config.platforms.slack = config_for(&fake, SlackMode::Socket);
    config.routing = serde_yaml_ng::from_str(&format!("- to: [ \"slack:{ALERTS}\" ]\n")).unwrap();
    config.approvals = serde_yaml_ng::from_str(&format!(
        "roles: {{ operator: {{ slack: [{}] }} }}",
        slack_user("alice")
    ))
    .unwrap();
    // Every 5 seconds, so the test sees one fire on real time.
    config.digests = serde_yaml_ng::from_str(&format!(
        "- {{ name: {cluster}, schedule: '*/5 * * * * *', to: [ \"slack:{ALERTS}\" ], include_missed: false }}\n"
    ))
    .unwrap();
    let bot = Bot::start(config).await;

    let digest = eventually(WAIT, "a scheduled digest", || async {
        bot_message(&fake, |m| {
            m.readable().contains(&format!("Digest for {cluster}"))
        })
    })
    .await;
    assert!(
        digest.readable().contains("Nodes: "),
        "{}",
        digest.readable()
    );

    t.create::<Deployment>(deployment(
        "checkout",
        1,
        json!({"resources": {"limits": {"memory": "64Mi"}, "requests": {"memory": "64Mi"}}}),
        json!({"sim.lookout.dev/memory-need": "300Mi"}),
    ))
    .await;
    let name = format!("{}/checkout", t.ns.name);
    let card = eventually(WAIT, "the incident's card with its buttons", || async {
        bot_message(&fake, |m| {
            m.thread().is_none()
                && m.readable().contains(&name)
                && m.buttons().iter().any(|(label, _)| label == "Ack")
        })
    })
    .await;
    let ack = card
        .buttons()
        .into_iter()
        .find(|(label, _)| label == "Ack")
        .map(|(_, action)| action)
        .unwrap_or_else(|| panic!("an Ack button: {card:?}"));
    fake.click(ALERTS, &card.ts, &slack_user("alice"), &ack)
        .await;
    eventually(WAIT, "the card showing who acked", || async {
        bot_message(&fake, |m| {
            m.ts == card.ts && m.readable().contains("Acknowledged by")
        })
    })
    .await;

    fake.mention(ALERTS, None, &slack_user("bob"), "STATUS")
        .await;
    let status = eventually(WAIT, "the status answer", || async {
        bot_message(&fake, |m| {
            m.readable().contains(&format!("Status of {cluster}"))
        })
    })
    .await;
    assert!(
        status.readable().contains("Nodes: "),
        "{}",
        status.readable()
    );
    assert!(status.thread().is_some(), "answered in a thread");

    fake.mention(ALERTS, None, &slack_user("alice"), "pause")
        .await;
    eventually(WAIT, "automation paused", || async {
        let v = bot.store.get(AUTOMATION, PAUSED).await.ok().flatten();
        (v.as_deref() == Some("true")).then_some(())
    })
    .await;
    bot.stop().await;
}
