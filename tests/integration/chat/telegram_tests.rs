//! What is particular to Telegram, against the strict fake Bot API: HTML escaping, callback
//! data size, 429 `retry_after`, webhook mode and its secret token, a bad token or an outage
//! leaving the bot running, forum topics, privacy mode, and group pacing.

use std::sync::Arc;
use std::time::Duration;

use lookout::chat::outbound::Post;
use lookout::chat::platform::{MessageRef, SendError};
use lookout::chat::telegram::{SECRET_HEADER, TelegramMode, TelegramPlatform};
use lookout::chat::{ActionCodec, ButtonStyle, ChatEvent, ChatPlatform, Message, Text, Tone};
use lookout::config::Secret;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::conformance::{Rig, memory_store};
use super::telegram::{TelegramHarness, config_for};
use crate::fakes::telegram::{ALERTS, FORUM, FakeTelegram, Fault, user_id};
use crate::support::eventually;

const WAIT: Duration = Duration::from_secs(20);

/// The platform's listener, running until dropped.
struct Listening {
    events: mpsc::Receiver<ChatEvent>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn listen(platform: &Arc<TelegramPlatform>) -> Listening {
    let (tx, events) = mpsc::channel(64);
    let stop = CancellationToken::new();
    let task = tokio::spawn(platform.clone().run(tx, stop.clone()));
    Listening { events, stop, task }
}

async fn next(rx: &mut mpsc::Receiver<ChatEvent>) -> ChatEvent {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("an event in time")
        .expect("listener running")
}

fn card() -> Message {
    Message::text(
        Text::plain("Pod ")
            .bold("checkout-7f9")
            .and(" & co <crash> looping"),
    )
    .with_header("checkout <web> is crash-looping", "HIGH", Tone::Danger)
}

#[tokio::test]
async fn html_is_escaped_so_markup_characters_arrive_as_written() {
    let h = TelegramHarness::new().await;
    let sent = h
        .platform
        .send(&ALERTS.to_string(), None, &card(), "k1")
        .await
        .expect("the fake's HTML parser accepts it");
    let m = h.fake.message(ALERTS, sent.id.parse().unwrap()).unwrap();
    assert!(
        m.text.contains("Pod checkout-7f9 & co <crash> looping"),
        "{}",
        m.text
    );
    assert!(
        m.text.contains("checkout <web> is crash-looping"),
        "{}",
        m.text
    );
    assert!(
        m.html
            .contains("<b>checkout-7f9</b> &amp; co &lt;crash&gt;"),
        "{}",
        m.html
    );
}

#[tokio::test]
async fn callback_data_stays_within_64_bytes() {
    let h = TelegramHarness::new().await;
    assert_eq!(h.platform.limits().max_action_bytes, 64);
    // A real action id of a long cluster name and approval id fits with room to spare.
    let approve = ActionCodec::new("a-rather-long-production-cluster-name-eu-west-1")
        .encode("approve", "prod-eu-west-1/INC-20261122-0042/A-3");
    assert!(approve.len() <= 64, "{} bytes: {approve}", approve.len());
    let too_long = format!("abcd0123:approve:{}", "x".repeat(50));
    let message = card()
        .button("Approve", approve.clone(), ButtonStyle::Primary)
        .button("Too long", too_long, ButtonStyle::Default);
    let sent = h
        .platform
        .send(&ALERTS.to_string(), None, &message, "k2")
        .await
        .expect("sent without the button Telegram would refuse");
    let m = h.fake.message(ALERTS, sent.id.parse().unwrap()).unwrap();
    assert_eq!(m.buttons, vec![("Approve".to_string(), approve)]);
    // The left-out button is named in the message's thread, not silently lost.
    eventually(WAIT, "the note about the left-out button", || async {
        h.fake
            .bot_messages(ALERTS)
            .into_iter()
            .find(|r| r.reply_to == Some(m.id) && r.text.contains("Too long"))
    })
    .await;
    // The fake is as strict as Telegram about it.
    let raw = reqwest::Client::new()
        .post(format!(
            "{}/bot{}/sendMessage",
            h.fake.api_url,
            FakeTelegram::TOKEN
        ))
        .json(&serde_json::json!({
            "chat_id": ALERTS, "text": "x",
            "reply_markup": {"inline_keyboard": [[{"text": "b", "callback_data": "y".repeat(65)}]]}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    let body: serde_json::Value = raw.json().await.unwrap();
    assert_eq!(body["description"], "Bad Request: BUTTON_DATA_INVALID");
}

#[tokio::test]
async fn retry_after_becomes_a_rate_limit_and_unchanged_edits_are_fine() {
    let h = TelegramHarness::new().await;
    h.fake.fail_next(1, Fault::RateLimited(7));
    let refused = h
        .platform
        .send(&ALERTS.to_string(), None, &card(), "k3")
        .await;
    assert_eq!(
        refused.unwrap_err(),
        SendError::RateLimited(Duration::from_secs(7))
    );
    h.fake.fail_next(1, Fault::Error(502, "Bad Gateway"));
    let refused = h
        .platform
        .send(&ALERTS.to_string(), None, &card(), "k3")
        .await;
    assert!(
        matches!(refused, Err(SendError::Transient(_))),
        "{refused:?}"
    );
    let sent = h
        .platform
        .send(&ALERTS.to_string(), None, &card(), "k3")
        .await
        .unwrap();
    // Telegram refuses an edit that changes nothing ("message is not modified"): not an error.
    h.platform
        .edit(&sent, &card())
        .await
        .expect("unchanged edit");
    let gone = MessageRef {
        id: "999999".into(),
        ..sent.clone()
    };
    let e = h
        .platform
        .edit(&gone, &card().context("x"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, SendError::Permanent(m) if m.contains("not found")),
        "{e:?}"
    );
    assert_eq!(
        h.fake
            .message(ALERTS, sent.id.parse().unwrap())
            .unwrap()
            .edits,
        0
    );
}

#[tokio::test]
async fn webhook_mode_takes_updates_with_the_secret_and_refuses_others() {
    let fake = FakeTelegram::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/telegram/webhook", listener.local_addr().unwrap());
    let mut config = config_for(&fake, TelegramMode::Webhook);
    config.webhook_url = url.clone();
    config.webhook_secret = Secret::new("s3cret_token-1");
    let platform = Arc::new(TelegramPlatform::new(config).unwrap());
    let (tx, mut events) = mpsc::channel(64);
    let router = platform.clone().routes(tx.clone()).expect("webhook routes");
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let stop = CancellationToken::new();
    let _guard = stop.clone().drop_guard();
    tokio::spawn(platform.clone().run(tx, stop.clone()));

    tokio::time::sleep(Duration::from_secs(3)).await;
    println!(
        "calls getMe {} setWebhook {}",
        fake.calls("getMe"),
        fake.calls("setWebhook")
    );
    eventually(WAIT, "the webhook registered", || async { fake.webhook() }).await;
    assert_eq!(fake.webhook(), Some((url.clone(), "s3cret_token-1".into())));
    assert_eq!(fake.calls("getUpdates"), 0, "no polling in webhook mode");
    fake.mention(ALERTS, None, "alice", "status");
    let ChatEvent::Message(m) = next(&mut events).await else {
        panic!("expected a message")
    };
    assert!(m.mentioned);
    assert_eq!(m.text, "status");
    assert_eq!(m.user.id, user_id("alice").to_string());
    eventually(WAIT, "the delivery acknowledged", || async {
        fake.deliveries().contains(&200).then_some(())
    })
    .await;

    let update = serde_json::json!({"update_id": 1, "message": {"message_id": 1, "date": 0,
        "chat": {"id": ALERTS, "type": "supergroup", "title": "x"},
        "from": {"id": 1, "is_bot": false, "first_name": "Mallory"}, "text": "/incidents"}});
    let client = reqwest::Client::new();
    for secret in [Some("wrong"), None] {
        let mut req = client.post(&url).json(&update);
        if let Some(s) = secret {
            req = req.header(SECRET_HEADER, s);
        }
        assert_eq!(req.send().await.unwrap().status(), 401, "secret {secret:?}");
    }
    assert!(
        tokio::time::timeout(Duration::from_millis(300), events.recv())
            .await
            .is_err(),
        "nothing from a request without the secret"
    );
}

#[tokio::test]
async fn a_bad_token_or_an_outage_leaves_the_bot_running_and_retrying() {
    let h = TelegramHarness::with(|c| c.bot_token = Secret::new("123456:revoked")).await;
    h.fake.set_down(true);
    let mut l = listen(&h.platform);
    eventually(WAIT, "getMe retried during the outage", || async {
        (h.fake.calls("getMe") >= 2).then_some(())
    })
    .await;
    h.fake.set_down(false);
    let before = h.fake.calls("getMe");
    eventually(WAIT, "getMe retried with the refused token", || async {
        (h.fake.calls("getMe") >= before + 2).then_some(())
    })
    .await;
    assert!(!l.task.is_finished(), "the listener keeps trying");
    let refused = h
        .platform
        .send(&ALERTS.to_string(), None, &card(), "k4")
        .await;
    assert!(
        matches!(&refused, Err(SendError::Permanent(m)) if m.contains("token")),
        "{refused:?}"
    );
    // The token is fixed on Telegram's side (re-issued): the bot signs in and listens.
    h.fake.set_token("123456:revoked");
    h.fake.mention(ALERTS, None, "alice", "help");
    let ChatEvent::Message(m) = next(&mut l.events).await else {
        panic!("expected a message")
    };
    assert_eq!(m.text, "help");
}

#[tokio::test]
async fn incidents_get_a_forum_topic_where_the_chat_is_a_forum() {
    let h = TelegramHarness::new().await;
    let mut l = listen(&h.platform);
    let forum = FORUM.to_string();
    let card_ref = h.platform.send(&forum, None, &card(), "k5").await.unwrap();
    let thread = h
        .platform
        .open_thread(&card_ref, "INC-7 checkout is crash-looping")
        .await
        .unwrap();
    let topics = h.fake.topics(FORUM);
    assert_eq!(topics.len(), 1, "{topics:?}");
    assert_eq!(topics[0].1, "INC-7 checkout is crash-looping");
    assert_eq!(thread.id, format!("topic:{}", topics[0].0));
    h.platform
        .send(&forum, Some(&thread), &Message::text("details"), "k6")
        .await
        .unwrap();
    let details = h
        .fake
        .bot_messages(FORUM)
        .into_iter()
        .find(|m| m.text == "details")
        .unwrap();
    assert_eq!(details.topic, Some(topics[0].0));
    // A person writing in the topic, mentioning the bot, is in the incident's thread.
    h.fake.mention(FORUM, Some(&thread.id), "carol", "why?");
    let ChatEvent::Message(m) = next(&mut l.events).await else {
        panic!("expected a message")
    };
    assert_eq!(m.thread.map(|t| t.id), Some(thread.id.clone()));
    // In a chat that is no forum, the thread is a reply chain on the card.
    let plain = h
        .platform
        .send(&ALERTS.to_string(), None, &card(), "k7")
        .await
        .unwrap();
    let chain = h.platform.open_thread(&plain, "INC-8").await.unwrap();
    assert_eq!(chain.id, plain.id);
    assert_eq!(h.fake.calls("createForumTopic"), 1);
}

#[tokio::test]
async fn with_privacy_mode_replies_to_the_bot_are_thread_replies() {
    let h = TelegramHarness::new().await;
    let mut l = listen(&h.platform);
    let sent = h
        .platform
        .send(&ALERTS.to_string(), None, &card(), "k8")
        .await
        .unwrap();
    let card_id: i32 = sent.id.parse().unwrap();
    // Chatter in the group never reaches a bot in privacy mode; a reply to its card does.
    h.fake.say(ALERTS, "dave", "lunch?");
    h.fake
        .reply_to(ALERTS, card_id, "dave", "the canary failed, rejecting");
    let ChatEvent::Message(m) = next(&mut l.events).await else {
        panic!("expected a message")
    };
    assert!(!m.mentioned);
    assert_eq!(m.text, "the canary failed, rejecting");
    assert_eq!(m.thread.map(|t| t.id), Some(sent.id));
    eventually(
        WAIT,
        "the updates confirmed by the next poll's offset",
        || async { (h.fake.pending_updates() == 0).then_some(()) },
    )
    .await;
}

#[tokio::test]
async fn group_pacing_keeps_under_telegrams_limits() {
    // Telegram's 20 a minute, scaled down: 5 every 3 s, and one message per 300 ms per chat.
    let h = TelegramHarness::with(|c| {
        c.group_limit = 5;
        c.group_window = Duration::from_secs(3);
        c.chat_interval = Duration::from_millis(300);
    })
    .await;
    h.fake.set_group_limit(5, Duration::from_secs(3));
    let h = Arc::new(h);
    let rig = Rig::start(h.clone(), memory_store());
    let ch = ALERTS.to_string();
    for i in 0..12 {
        rig.outbound
            .post(Post::new(
                format!("paced:{i}"),
                "telegram",
                &ch,
                Message::text(format!("message {i}")),
            ))
            .await;
    }
    let got = eventually(Duration::from_secs(40), "all twelve", || async {
        let m = h.fake.bot_messages(ALERTS);
        (m.len() == 12).then_some(m)
    })
    .await;
    assert_eq!(
        h.fake.group_refusals(),
        0,
        "Telegram never had to refuse one"
    );
    let at: Vec<_> = got.iter().map(|m| m.received).collect();
    for w in at.windows(2) {
        assert!(
            w[1] - w[0] >= Duration::from_millis(280),
            "{:?}",
            w[1] - w[0]
        );
    }
    for w in at.windows(6) {
        assert!(
            w[5] - w[0] >= Duration::from_millis(2950),
            "{:?}",
            w[5] - w[0]
        );
    }
    println!(
        "12 messages to one group under 5 per 3 s: {:.1} s",
        (at[11] - at[0]).as_secs_f64()
    );
}

#[tokio::test]
async fn a_private_refusal_is_an_alert_only_the_clicker_sees() {
    let h = TelegramHarness::new().await;
    let mut l = listen(&h.platform);
    let action = ActionCodec::new("tg").encode("approve", "A-1");
    let sent = h
        .platform
        .send(
            &ALERTS.to_string(),
            None,
            &card().button("Approve", action.clone(), ButtonStyle::Primary),
            "k9",
        )
        .await
        .unwrap();
    for (who, note) in [("erin", Some("you may not approve this")), ("frank", None)] {
        h.fake.click(ALERTS, sent.id.parse().unwrap(), who, &action);
        let ChatEvent::Click(click) = next(&mut l.events).await else {
            panic!("expected a click")
        };
        assert_eq!(click.user.name.as_deref(), Some(format!("@{who}").as_str()));
        h.platform.acknowledge(&click, note).await.unwrap();
    }
    let erin = h.fake.answers_for(user_id("erin"));
    assert_eq!(erin.len(), 1);
    assert!(erin[0].show_alert, "a refusal is an alert, not a toast");
    assert_eq!(erin[0].text.as_deref(), Some("you may not approve this"));
    let frank = h.fake.answers_for(user_id("frank"));
    assert_eq!(
        (frank[0].text.as_deref(), frank[0].show_alert),
        (None, false)
    );
    assert_ne!(erin[0].query, frank[0].query);
}
