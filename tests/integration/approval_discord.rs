//! The approval loop end to end on Discord: a fault in the real cluster, its card as an embed
//! in (fake) Discord, a proposal with Approve / Reject buttons in the card's thread, a click
//! by someone without the role refused privately, the approver's click (allowed through a
//! Discord role), the action executed and verified, the card edited to resolved and the
//! postmortem in the thread.

use std::time::Instant;

use lookout::config::Config;

use crate::approval_loop::{WAIT, break_it, memory_limit};
use crate::chat::discord::{config_for, discord_user};
use crate::chat::slack::config_for as slack_config_for;
use crate::fakes::discord::{ALERTS, FakeDiscord, Stored};
use crate::fakes::slack::{ALERTS as SLACK_ALERTS, FakeSlack};
use crate::pipeline::{Bot, bot_config};
use crate::sim::SimTest;
use crate::support::{eventually, unique};

/// The Discord role whose members may approve.
const ONCALL_ROLE: u64 = 1_500_000_000_000_000_001;

/// The bot with Discord on the fake, approvers by role, remediation for every severity.
fn discord_config(t: &SimTest, fake: &FakeDiscord) -> Config {
    let mut config = bot_config(&t.ns.name, &unique("dloop"));
    config.platforms.discord = config_for(fake);
    config.routing = serde_yaml_ng::from_str(&format!("- to: [ \"discord:{ALERTS}\" ]\n")).unwrap();
    config.approvals = serde_yaml_ng::from_str(&format!(
        "expires_after: 10m\nroles:\n  operator: {{ discord: [\"role:{ONCALL_ROLE}\"] }}\n  admin: {{ discord: [\"role:{ONCALL_ROLE}\"] }}\n"
    ))
    .unwrap();
    config.remediation.min_severity = lookout::correlate::Severity::Low;
    config.actions.verify_timeout = std::time::Duration::from_secs(60);
    config
}

/// The incident's card: in the channel itself (not a thread), naming the workload.
fn card_of(fake: &FakeDiscord, name: &str) -> Option<Stored> {
    fake.bot_messages(ALERTS)
        .into_iter()
        .find(|m| m.channel == ALERTS && m.readable().contains(name))
}

/// Messages in the card's thread (a thread started from a message has its id).
fn in_thread(fake: &FakeDiscord, card: &Stored) -> Vec<Stored> {
    fake.bot_messages(ALERTS)
        .into_iter()
        .filter(|m| m.channel == card.id)
        .collect()
}

fn button(m: &Stored, label: &str) -> String {
    m.buttons()
        .into_iter()
        .find(|(l, _)| l == label)
        .map(|(_, a)| a)
        .unwrap_or_else(|| panic!("no {label} button on {}", m.readable()))
}

#[tokio::test]
async fn oom_to_postmortem_through_a_runbook_approved_in_discord() {
    lookout::install_crypto_provider();
    let fake = FakeDiscord::start().await;
    let (alice, mallory) = (discord_user("alice"), discord_user("mallory"));
    fake.set_roles(alice, &[ONCALL_ROLE]);
    let t = SimTest::start(2).await;
    let bot = Bot::start(discord_config(&t, &fake)).await;
    let started = Instant::now();
    break_it(&t, "checkout").await;
    let name = format!("{}/checkout", t.ns.name);

    let card = eventually(WAIT, "the card", || async { card_of(&fake, &name) }).await;
    assert!(
        card.embeds[0]["title"].is_string(),
        "the card is an embed: {:?}",
        card.embeds
    );
    // The thread is opened right after the card is posted.
    let parent = eventually(WAIT, "the card's thread", || async {
        fake.thread_parent(card.id)
    })
    .await;
    assert_eq!(parent, ALERTS, "the card has its thread");
    let approval = eventually(WAIT, "the approval request in the thread", || async {
        in_thread(&fake, &card)
            .into_iter()
            .find(|m| m.buttons().iter().any(|(l, _)| l == "Approve"))
    })
    .await;
    let text = approval.readable();
    assert!(text.contains("deployment.adjust_resources"), "{text}");
    assert!(text.contains("128Mi") && text.contains("64Mi"), "{text}");
    assert_eq!(memory_limit(&t, "checkout").await, "64Mi");

    // Someone without the role: refused, privately, and nothing changes.
    let approve = button(&approval, "Approve");
    fake.click(approval.id, mallory, &approve).await;
    eventually(WAIT, "the private refusal", || async {
        let notes = fake.private_notes(mallory);
        notes
            .iter()
            .any(|n| n.text.contains("not in a role"))
            .then_some(())
    })
    .await;
    assert_eq!(memory_limit(&t, "checkout").await, "64Mi");

    fake.click(approval.id, alice, &approve).await;
    eventually(WAIT, "the memory limit raised", || async {
        (memory_limit(&t, "checkout").await == "128Mi").then_some(())
    })
    .await;
    let decided = eventually(WAIT, "the approval message showing who decided", || async {
        let m = fake.message(approval.id)?;
        let r = m.readable();
        (r.contains(&format!("discord:{alice}")) && r.contains("verified")).then_some(m)
    })
    .await;
    assert!(
        decided.buttons().is_empty(),
        "buttons are gone once decided"
    );
    let answered = fake.callbacks();
    assert!(
        answered
            .iter()
            .all(|c| c.kind.is_some() && c.after.unwrap() < std::time::Duration::from_secs(3)),
        "every click answered within 3 s: {answered:?}"
    );

    let resolved = eventually(WAIT, "the card edited to resolved", || async {
        let c = fake.message(card.id)?;
        c.readable().contains("RESOLVED").then_some(c)
    })
    .await;
    assert!(resolved.readable().contains("Resolved after"));

    let pm = eventually(WAIT, "the postmortem in the thread", || async {
        let thread = in_thread(&fake, &card);
        let at = thread
            .iter()
            .position(|m| m.readable().contains("Postmortem"))?;
        let text: Vec<String> = thread[at..].iter().map(Stored::readable).collect();
        let text = text.join("\n");
        text.contains("Rejected").then_some(text)
    })
    .await;
    println!(
        "discord: fault to postmortem: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    for part in [
        "Summary",
        "Impact",
        "Timeline",
        "Root cause",
        "Actions executed",
    ] {
        assert!(pm.contains(part), "postmortem section {part} missing: {pm}");
    }
    assert!(
        pm.contains(&format!("discord:{alice}")),
        "who approved: {pm}"
    );
    bot.stop().await;
    t.stop().await;
}

#[tokio::test]
async fn a_refused_discord_token_leaves_the_bot_and_slack_running() {
    lookout::install_crypto_provider();
    let slack = FakeSlack::start().await;
    let discord = FakeDiscord::start().await;
    discord.set_token("a-rotated-token");
    let t = SimTest::start(2).await;
    let mut config = bot_config(&t.ns.name, &unique("dtoken"));
    config.platforms.slack = slack_config_for(&slack, lookout::chat::slack::SlackMode::Socket);
    config.platforms.discord = config_for(&discord);
    config.routing = serde_yaml_ng::from_str(&format!(
        "- to: [ \"slack:{SLACK_ALERTS}\", \"discord:{ALERTS}\" ]\n"
    ))
    .unwrap();
    let bot = Bot::start(config).await;
    break_it(&t, "payments").await;
    let name = format!("{}/payments", t.ns.name);
    eventually(WAIT, "the card in Slack", || async {
        slack
            .bot_messages(SLACK_ALERTS)
            .into_iter()
            .find(|m| m.thread().is_none() && m.readable().contains(&name))
    })
    .await;
    eventually(WAIT, "Discord sign-in retried", || async {
        (discord.calls("users/@me") >= 3).then_some(())
    })
    .await;
    assert_eq!(discord.identifies(), 0);
    assert!(discord.bot_messages(ALERTS).is_empty());

    // The right token again: Discord connects without a restart and answers.
    discord.set_token(FakeDiscord::TOKEN);
    discord
        .mention(ALERTS, None, discord_user("erin"), "help")
        .await;
    eventually(WAIT, "the help answer on Discord", || async {
        discord
            .bot_messages(ALERTS)
            .into_iter()
            .find(|m| m.channel != ALERTS && m.readable().contains("incidents"))
    })
    .await;
    bot.stop().await;
    t.stop().await;
}
