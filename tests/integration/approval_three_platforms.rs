//! One bot, three platforms: the same incident routed to Slack, Discord and Telegram at once;
//! the approval clicked on Telegram decides it everywhere, and the approval messages on Slack
//! and Discord are edited to show who decided where. Also: a refused Telegram token leaves the
//! bot and the other platforms running.

use lookout::chat::slack::SlackMode;
use lookout::chat::telegram::TelegramMode;

use crate::approval_loop::{WAIT, break_it, memory_limit};
use crate::chat::telegram::config_for as telegram_config_for;
use crate::fakes::discord::{ALERTS as DISCORD_ALERTS, FakeDiscord};
use crate::fakes::slack::{ALERTS as SLACK_ALERTS, FakeSlack};
use crate::fakes::telegram::{ALERTS as TELEGRAM_ALERTS, FakeTelegram};
use crate::pipeline::{Bot, bot_config};
use crate::sim::SimTest;
use crate::support::{eventually, unique};

const APPROVER: &str = "12345";

struct Fakes {
    slack: FakeSlack,
    discord: FakeDiscord,
    telegram: FakeTelegram,
}

impl Fakes {
    async fn start() -> Self {
        Self {
            slack: FakeSlack::start().await,
            discord: FakeDiscord::start().await,
            telegram: FakeTelegram::start().await,
        }
    }

    /// The bot on all three, every incident routed to each, one Telegram approver.
    fn config(&self, t: &SimTest, cluster: &str) -> lookout::config::Config {
        let mut config = bot_config(&t.ns.name, &unique(cluster));
        config.platforms.slack = crate::chat::slack::config_for(&self.slack, SlackMode::Socket);
        config.platforms.discord = crate::chat::discord::config_for(&self.discord);
        config.platforms.telegram = telegram_config_for(&self.telegram, TelegramMode::Polling);
        config.routing = serde_yaml_ng::from_str(&format!(
            "- to: [ \"slack:{SLACK_ALERTS}\", \"discord:{DISCORD_ALERTS}\", \"telegram:{TELEGRAM_ALERTS}\" ]\n"
        ))
        .unwrap();
        config.approvals = serde_yaml_ng::from_str(&format!(
            "expires_after: 10m\nroles:\n  operator: {{ telegram: [{APPROVER}] }}\n  admin: {{ telegram: [{APPROVER}] }}\n"
        ))
        .unwrap();
        config.remediation.min_severity = lookout::correlate::Severity::Low;
        config.actions.verify_timeout = std::time::Duration::from_secs(60);
        config
    }
}

#[tokio::test]
async fn an_approval_on_telegram_decides_it_on_slack_and_discord_too() {
    lookout::install_crypto_provider();
    let f = Fakes::start().await;
    let t = SimTest::start(2).await;
    let bot = Bot::start(f.config(&t, "three")).await;
    break_it(&t, "checkout").await;
    let name = format!("{}/checkout", t.ns.name);

    // The proposal is posted on all three, each with its buttons.
    let tg = eventually(WAIT, "the approval request on Telegram", || async {
        f.telegram
            .bot_messages(TELEGRAM_ALERTS)
            .into_iter()
            .find(|m| {
                m.thread.is_some()
                    && m.text.contains(&name)
                    && m.buttons.iter().any(|(l, _)| l == "Approve")
            })
    })
    .await;
    let slack = eventually(WAIT, "the approval request on Slack", || async {
        f.slack.bot_messages(SLACK_ALERTS).into_iter().find(|m| {
            m.thread().is_some()
                && m.readable().contains(&name)
                && m.buttons().iter().any(|(l, _)| l == "Approve")
        })
    })
    .await;
    let discord = eventually(WAIT, "the approval request on Discord", || async {
        f.discord
            .bot_messages(DISCORD_ALERTS)
            .into_iter()
            .find(|m| {
                m.channel != DISCORD_ALERTS
                    && m.readable().contains(&name)
                    && m.buttons().iter().any(|(l, _)| l == "Approve")
            })
    })
    .await;

    let approve = tg
        .buttons
        .iter()
        .find(|(l, _)| l == "Approve")
        .map(|(_, d)| d.clone())
        .unwrap();
    f.telegram.click(TELEGRAM_ALERTS, tg.id, APPROVER, &approve);
    eventually(WAIT, "the memory limit raised", || async {
        (memory_limit(&t, "checkout").await == "128Mi").then_some(())
    })
    .await;
    let who = format!("telegram:{APPROVER}");
    eventually(WAIT, "decided on Telegram", || async {
        let m = f.telegram.message(TELEGRAM_ALERTS, tg.id)?;
        (m.text.contains(&who) && m.buttons.is_empty()).then_some(())
    })
    .await;
    let on_slack = eventually(WAIT, "decided on Slack", || async {
        let m = f.slack.message(SLACK_ALERTS, &slack.ts)?;
        (m.readable().contains(&who) && m.buttons().is_empty()).then_some(m)
    })
    .await;
    assert!(
        on_slack.readable().contains("telegram"),
        "{}",
        on_slack.readable()
    );
    eventually(WAIT, "decided on Discord", || async {
        let m = f.discord.message(discord.id)?;
        (m.readable().contains(&who) && m.buttons().is_empty()).then_some(())
    })
    .await;
    bot.stop().await;
    t.stop().await;
}

#[tokio::test]
async fn a_refused_telegram_token_leaves_the_bot_and_slack_running() {
    lookout::install_crypto_provider();
    let slack = FakeSlack::start().await;
    let telegram = FakeTelegram::start().await;
    telegram.set_token("123456:rotated");
    let t = SimTest::start(2).await;
    let mut config = bot_config(&t.ns.name, &unique("tgtoken"));
    config.platforms.slack = crate::chat::slack::config_for(&slack, SlackMode::Socket);
    config.platforms.telegram = telegram_config_for(&telegram, TelegramMode::Polling);
    config.routing = serde_yaml_ng::from_str(&format!(
        "- to: [ \"slack:{SLACK_ALERTS}\", \"telegram:{TELEGRAM_ALERTS}\" ]\n"
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
    eventually(WAIT, "Telegram sign-in retried", || async {
        (telegram.calls("getMe") >= 3).then_some(())
    })
    .await;
    assert_eq!(
        telegram.calls("getUpdates"),
        0,
        "no polling with a refused token"
    );

    // The right token again: Telegram signs in without a restart and answers. (What was
    // refused meanwhile was dead-lettered, as on Slack and Discord.)
    telegram.set_token(FakeTelegram::TOKEN);
    eventually(WAIT, "Telegram polling", || async {
        (telegram.calls("getUpdates") > 0).then_some(())
    })
    .await;
    telegram.mention(TELEGRAM_ALERTS, None, "erin", "help");
    eventually(WAIT, "the help answer on Telegram", || async {
        telegram
            .bot_messages(TELEGRAM_ALERTS)
            .into_iter()
            .find(|m| m.thread.is_some() && m.text.contains("incidents"))
    })
    .await;
    bot.stop().await;
    t.stop().await;
}
