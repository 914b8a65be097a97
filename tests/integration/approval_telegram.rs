//! The approval loop end to end on Telegram: a fault in the real cluster, its card in the
//! (fake) Telegram group, a proposal with an inline keyboard in the card's reply chain, an
//! approver clicking Approve, the action executed and verified against the cluster, the card
//! edited to resolved and the postmortem posted in the thread. Also: webhook mode through the
//! bot's own HTTP server.

use std::time::Instant;

use lookout::chat::telegram::TelegramMode;
use lookout::config::Config;

use crate::approval_loop::{WAIT, break_it, memory_limit};
use crate::chat::telegram::config_for;
use crate::fakes::telegram::{ALERTS, FakeTelegram, Stored};
use crate::pipeline::{Bot, bot_config};
use crate::sim::SimTest;
use crate::support::{eventually, unique};

/// The approver's Telegram user id.
const APPROVER: &str = "12345";

/// The bot with Telegram on the fake, one approver, remediation for every severity.
fn telegram_config(t: &SimTest, fake: &FakeTelegram) -> Config {
    let mut config = bot_config(&t.ns.name, &unique("tgloop"));
    config.platforms.telegram = config_for(fake, TelegramMode::Polling);
    config.routing =
        serde_yaml_ng::from_str(&format!("- to: [ \"telegram:{ALERTS}\" ]\n")).unwrap();
    config.approvals = serde_yaml_ng::from_str(&format!(
        "expires_after: 10m\nroles:\n  operator: {{ telegram: [{APPROVER}] }}\n  admin: {{ telegram: [{APPROVER}] }}\n"
    ))
    .unwrap();
    config.remediation.min_severity = lookout::correlate::Severity::Low;
    config.actions.verify_timeout = std::time::Duration::from_secs(60);
    config
}

fn card_of(fake: &FakeTelegram, name: &str) -> Option<Stored> {
    fake.bot_messages(ALERTS)
        .into_iter()
        .find(|m| m.thread.is_none() && m.text.contains(name))
}

fn in_thread(fake: &FakeTelegram, card: &Stored, pick: impl Fn(&Stored) -> bool) -> Option<Stored> {
    let root = card.id.to_string();
    fake.bot_messages(ALERTS)
        .into_iter()
        .find(|m| m.thread.as_deref() == Some(root.as_str()) && pick(m))
}

fn button(m: &Stored, label: &str) -> String {
    m.buttons
        .iter()
        .find(|(l, _)| l == label)
        .map(|(_, d)| d.clone())
        .unwrap_or_else(|| panic!("no {label} button on {}", m.text))
}

#[tokio::test]
async fn oom_to_postmortem_through_a_runbook_approved_in_telegram() {
    lookout::install_crypto_provider();
    let fake = FakeTelegram::start().await;
    let t = SimTest::start(2).await;
    let bot = Bot::start(telegram_config(&t, &fake)).await;
    let started = Instant::now();
    break_it(&t, "checkout").await;
    let name = format!("{}/checkout", t.ns.name);

    let card = eventually(WAIT, "the card", || async { card_of(&fake, &name) }).await;
    let approval = eventually(WAIT, "the approval request in the thread", || async {
        in_thread(&fake, &card, |m| {
            m.buttons.iter().any(|(l, _)| l == "Approve")
        })
    })
    .await;
    assert!(
        approval.text.contains("deployment.adjust_resources"),
        "{}",
        approval.text
    );
    assert!(
        approval.text.contains("128Mi") && approval.text.contains("64Mi"),
        "the dry-run diff is shown: {}",
        approval.text
    );
    assert!(
        approval.text.contains("Who may approve"),
        "{}",
        approval.text
    );
    for (_, data) in &approval.buttons {
        assert!(data.len() <= 64, "callback data fits Telegram: {data}");
    }
    assert_eq!(
        memory_limit(&t, "checkout").await,
        "64Mi",
        "nothing changes before approval"
    );

    // Someone without an approver role is refused privately; nothing happens.
    fake.click(
        ALERTS,
        approval.id,
        "mallory",
        &button(&approval, "Approve"),
    );
    let refusal = eventually(WAIT, "the private refusal", || async {
        let a = fake.answers_for(crate::fakes::telegram::user_id("mallory"));
        a.into_iter().find(|a| a.text.is_some())
    })
    .await;
    assert!(refusal.show_alert, "{refusal:?}");
    assert_eq!(memory_limit(&t, "checkout").await, "64Mi");

    fake.click(ALERTS, approval.id, APPROVER, &button(&approval, "Approve"));
    eventually(WAIT, "the memory limit raised", || async {
        (memory_limit(&t, "checkout").await == "128Mi").then_some(())
    })
    .await;
    let decided = eventually(
        WAIT,
        "the approval message showing who decided and the outcome",
        || async {
            let m = fake.message(ALERTS, approval.id)?;
            (m.text.contains(&format!("Approved by telegram:{APPROVER}"))
                && m.text.contains("verified"))
            .then_some(m)
        },
    )
    .await;
    assert!(decided.buttons.is_empty(), "buttons are gone once decided");
    // Every click was answered (Telegram shows a spinner on the button until it is).
    eventually(WAIT, "the approver's click answered", || async {
        let answers = fake.answers_for(crate::fakes::telegram::user_id(APPROVER));
        (!answers.is_empty()).then_some(())
    })
    .await;

    let resolved = eventually(WAIT, "the card edited to resolved", || async {
        let c = fake.message(ALERTS, card.id)?;
        c.text.contains("RESOLVED").then_some(c)
    })
    .await;
    assert!(
        resolved.text.contains("Resolved after"),
        "{}",
        resolved.text
    );

    let pm = eventually(WAIT, "the postmortem in the thread", || async {
        in_thread(&fake, &card, |m| m.text.contains("Postmortem"))
    })
    .await;
    println!(
        "fault to postmortem on Telegram: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!("{}", pm.text);
    for part in [
        "Summary",
        "Impact",
        "Timeline",
        "Root cause",
        "Actions executed",
    ] {
        assert!(
            pm.text.contains(part),
            "postmortem section {part} missing: {}",
            pm.text
        );
    }
    assert!(
        pm.text.contains(&format!("telegram:{APPROVER}")),
        "who approved: {}",
        pm.text
    );
    assert_eq!(
        fake.group_refusals(),
        0,
        "Telegram never had to refuse a message"
    );
    bot.stop().await;
    t.stop().await;
}

#[tokio::test]
async fn in_webhook_mode_updates_reach_the_bot_through_its_http_server() {
    lookout::install_crypto_provider();
    let fake = FakeTelegram::start().await;
    let t = SimTest::start(1).await;
    // The webhook URL names the bot's own HTTP address, so pick its port first.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = telegram_config(&t, &fake);
    config.http.listen = format!("127.0.0.1:{port}").parse().unwrap();
    config.platforms.telegram.mode = TelegramMode::Webhook;
    config.platforms.telegram.webhook_url = format!("http://127.0.0.1:{port}/telegram/webhook");
    config.platforms.telegram.webhook_secret = lookout::config::Secret::new("hook-secret_1");
    let bot = Bot::start(config).await;
    eventually(WAIT, "the webhook registered", || async { fake.webhook() }).await;
    fake.mention(ALERTS, None, "carol", "help");
    let answer = eventually(WAIT, "the help answer", || async {
        fake.bot_messages(ALERTS)
            .into_iter()
            .find(|m| m.thread.is_some() && m.text.contains("incidents"))
    })
    .await;
    assert!(
        answer.reply_to.is_some(),
        "answered in the mention's reply chain"
    );
    assert_eq!(fake.calls("getUpdates"), 0);
    eventually(WAIT, "the delivery acknowledged", || async {
        fake.deliveries().contains(&200).then_some(())
    })
    .await;
    let stray = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/telegram/webhook"))
        .json(&serde_json::json!({"update_id": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(stray.status(), 401, "no secret, no entry");
    bot.stop().await;
    t.stop().await;
}
