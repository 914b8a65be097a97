//! The Slack adapter's inbound side against the fake Slack: Socket Mode round trips with the
//! people's identities, reconnects, the signed HTTP Events API, and tokens refused at start.

use std::sync::{Arc, Mutex};

use lookout::chat::slack::{SlackMode, SlackPlatform};
use lookout::chat::{ButtonStyle, ChatPlatform, Message, ThreadRef};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::slack::{APPROVE, SlackHarness, card, config_for, next_click, next_message, run};
use crate::fakes::slack::{
    ALERTS, BOT_USER, FakeSlack, Signature, SignedPoster, event_callback, wait_until,
};

#[tokio::test]
async fn socket_mode_mentions_replies_and_clicks_round_trip() {
    let h = SlackHarness::new().await;
    let mut bot = run(&h.platform);
    let ts = h
        .fake
        .mention(ALERTS, None, "UALICE", "why is checkout &crashing?")
        .await;
    let m = next_message(&mut bot.events).await;
    assert!(m.mentioned);
    assert_eq!(m.text, "why is checkout &crashing?");
    assert_eq!(m.user.identity(), "slack:UALICE");
    assert_eq!(
        (m.channel.as_str(), m.message.id.as_str(), m.thread),
        (ALERTS, ts.as_str(), None)
    );

    // The bot answers in the mention's thread (Slack echoes the bot's post as an event).
    let thread = ThreadRef {
        platform: "slack".into(),
        channel: ALERTS.into(),
        id: ts.clone(),
    };
    let ask =
        Message::text("Approve the rollback?").button("Approve", APPROVE, ButtonStyle::Primary);
    let answer = h
        .platform
        .send(ALERTS, Some(&thread), &ask, "approval:A-7")
        .await
        .unwrap();

    // Slack also sent the mention as a `message` event, and echoed the bot's own post: neither
    // becomes an event, so the next one is this reply.
    h.fake
        .reply(ALERTS, &ts, "UBOB", "it started at 09:12")
        .await;
    let r = next_message(&mut bot.events).await;
    assert!(!r.mentioned);
    assert_eq!(
        (r.text.as_str(), r.user.id.as_str()),
        ("it started at 09:12", "UBOB")
    );
    assert_eq!(r.thread, Some(thread.clone()));

    let envelope = h.fake.click(ALERTS, &answer.id, "UBOB", APPROVE).await;
    let c = next_click(&mut bot.events).await;
    assert_eq!(c.action, APPROVE);
    assert_eq!(c.user.identity(), "slack:UBOB");
    assert_eq!(c.user.name.as_deref(), Some("UBOB-name"));
    assert_eq!(c.message, answer);
    h.fake.wait_ack(&envelope).await;

    h.platform
        .acknowledge(&c, Some("You may not approve medium-risk actions."))
        .await
        .expect("ephemeral note");
    let notes = h.fake.ephemeral_for("UBOB");
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].text, "You may not approve medium-risk actions.");
    assert_eq!(notes[0].channel, ALERTS);
    assert_eq!(
        notes[0].thread_ts.as_deref(),
        Some(ts.as_str()),
        "shown in the thread"
    );
    assert!(h.fake.ephemeral_for("UALICE").is_empty());
    h.platform
        .acknowledge(&c, None)
        .await
        .expect("nothing to say");
    assert_eq!(h.fake.calls("chat.postEphemeral"), 1);
    let acks = h.fake.acks();
    assert!(
        acks.iter().all(|a| a["envelope_id"].is_string()),
        "{acks:?}"
    );
    assert!(acks.len() >= 4, "mention twice, reply, click: {acks:?}");
}

#[tokio::test]
async fn socket_mode_reconnects_after_a_drop_and_a_refresh() {
    let h = SlackHarness::new().await;
    let mut bot = run(&h.platform);
    h.fake.wait_connects(1).await;

    h.fake.drop_sockets();
    h.fake.wait_connects(2).await;
    h.fake.mention(ALERTS, None, "UALICE", "still there?").await;
    assert_eq!(next_message(&mut bot.events).await.text, "still there?");

    h.fake.request_refresh();
    h.fake.wait_connects(3).await;
    h.fake.mention(ALERTS, None, "UALICE", "and now?").await;
    assert_eq!(next_message(&mut bot.events).await.text, "and now?");
    wait_until("three hellos", || h.platform.connections() >= 3).await;
    assert!(!bot.task.is_finished());
}

#[tokio::test]
async fn events_api_checks_signatures_and_delivers_events_and_clicks() {
    lookout::install_crypto_provider();
    let fake = FakeSlack::start().await;
    let config = config_for(&fake, SlackMode::Http);
    let platform = Arc::new(SlackPlatform::new(config.clone()).unwrap());
    let (tx, mut events) = mpsc::channel(16);
    let router = platform
        .clone()
        .routes(tx)
        .expect("http mode serves routes");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}{}",
        listener.local_addr().unwrap(),
        config.events_path
    );
    let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let poster = SignedPoster::new(url, "fake-signing-secret");

    let challenge = json!({"token": "t", "challenge": "c-123", "type": "url_verification"});
    let (status, body) = poster.post_json(&challenge, Signature::Valid).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["challenge"],
        "c-123"
    );

    let mention = |id: &str| {
        event_callback(
            json!({"type": "app_mention", "user": "UALICE", "channel": ALERTS, "ts": "1700000000.000100",
                   "event_ts": "1700000000.000100", "text": format!("<@{BOT_USER}> status")}),
            id,
        )
    };
    for bad in [Signature::WrongSecret, Signature::Stale, Signature::Missing] {
        assert_eq!(
            poster.post_json(&mention("EvBad"), bad).await.0,
            401,
            "{bad:?}"
        );
        assert_eq!(poster.post_json(&challenge, bad).await.0, 401, "{bad:?}");
    }
    assert_eq!(
        poster.post_json(&mention("Ev1"), Signature::Valid).await.0,
        200
    );
    let m = next_message(&mut events).await;
    assert!(m.mentioned);
    assert_eq!(m.text, "status");
    // Slack's retry of the same event, and events Lookout does not use: 200, nothing delivered.
    assert_eq!(
        poster.post_json(&mention("Ev1"), Signature::Valid).await.0,
        200
    );
    let odd = event_callback(json!({"type": "brand_new_thing", "x": 1}), "Ev2");
    assert_eq!(poster.post_json(&odd, Signature::Valid).await.0, 200);
    assert_eq!(
        poster
            .post_json(&json!({"not": "slack"}), Signature::Valid)
            .await
            .0,
        200
    );

    // The fake now delivers its events and clicks to this endpoint, signed.
    fake.deliver_over_http(poster.clone());
    let sent = platform
        .send(ALERTS, None, &card("x"), "card:H")
        .await
        .unwrap();
    fake.mention(ALERTS, None, "UBOB", "help").await;
    let m = next_message(&mut events).await;
    assert_eq!((m.text.as_str(), m.user.id.as_str()), ("help", "UBOB"));
    fake.click(ALERTS, &sent.id, "UBOB", APPROVE).await;
    let c = next_click(&mut events).await;
    assert_eq!((c.action.as_str(), c.user.id.as_str()), (APPROVE, "UBOB"));
    assert_eq!(c.message, sent);
    let forged = json!({"type": "block_actions"});
    assert_eq!(
        poster
            .post_interactive(&forged, Signature::WrongSecret)
            .await
            .0,
        401
    );
    server.abort();
}

/// Log lines, captured for the current (single-threaded) test runtime.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn refused_tokens_at_start_are_logged_and_retried_until_fixed() {
    let logs = Logs::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .with_env_filter("lookout=info")
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // While only one dispatcher is registered, tracing-core computes a new callsite's interest
    // and the global max level from the default of whichever thread hits it first: in this
    // binary, another test's thread without a subscriber, which would switch our logs off. A
    // second registered dispatcher makes it consult every registered one.
    let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    tracing::callsite::rebuild_interest_cache();

    let h = SlackHarness::new().await;
    h.fake.set_tokens("xoxb-not-ours", "xapp-not-ours");
    let mut bot = run(&h.platform);
    wait_until("retries of both tokens", || {
        h.fake.calls("apps.connections.open") >= 3 && h.fake.calls("auth.test") >= 3
    })
    .await;
    let text = logs.text();
    assert!(text.contains("app-level token was refused"), "{text}");
    assert!(text.contains("bot token was refused"), "{text}");
    assert!(text.contains("invalid_auth"), "{text}");
    assert!(!bot.task.is_finished(), "still running");
    assert_eq!(h.fake.connects(), 0);

    // The tokens are fixed in Slack: the bot recovers without a restart.
    h.fake
        .set_tokens(FakeSlack::BOT_TOKEN, FakeSlack::APP_TOKEN);
    h.fake.wait_connects(1).await;
    wait_until("the bot's identity", || {
        h.platform.bot_user_id().as_deref() == Some(BOT_USER)
    })
    .await;
    h.fake.mention(ALERTS, None, "UALICE", "back?").await;
    assert_eq!(next_message(&mut bot.events).await.text, "back?");
    let text = logs.text();
    assert!(text.contains("slack socket mode: connected"), "{text}");
}
