//! The Slack adapter's Web API side (slack-morphism, unmodified) against the strict fake
//! Slack: sending, editing and threading within Block Kit's limits, recovery by message
//! metadata, and how failures reach the outbound queue.

use std::time::Duration;

use chrono::Utc;
use lookout::chat::slack::render::CUT_MARK;
use lookout::chat::slack::{SlackMode, SlackPlatform};
use lookout::chat::{ChatPlatform, Message, MessageRef, SendError, Tone};
use serde_json::{Value, json};

use super::slack::{APPROVE, SlackHarness, card, config_for};
use crate::fakes::slack::{ALERTS, ALERTS_NAME, ARCHIVED, FakeSlack, Fault, NOT_IN};

#[tokio::test]
async fn posts_edits_and_replies_in_the_thread_with_metadata() {
    let h = SlackHarness::new().await;
    let p = h.platform.clone();
    let sent = p
        .send(
            &format!("#{ALERTS_NAME}"),
            None,
            &card("Analyzing"),
            "card:INC-7",
        )
        .await
        .expect("post");
    assert_eq!(
        sent.channel, ALERTS,
        "the channel's id, as chat.update needs"
    );
    let m = h.fake.message(ALERTS, &sent.id).expect("stored");
    assert_eq!(
        m.metadata,
        Some(json!({"event_type": "lookout_message", "event_payload": {"key": "card:INC-7"}}))
    );
    let text = m.readable();
    assert!(
        text.contains(":red_circle: HIGH · checkout is crash-looping"),
        "{text}"
    );
    assert!(
        text.contains("Pod checkout-7f9 & co <crash> looping"),
        "{text}"
    );
    assert_eq!(m.buttons(), [("Approve".to_string(), APPROVE.to_string())]);
    let since = Utc::now() - chrono::Duration::minutes(1);
    let by_name = p
        .find_sent(&format!("#{ALERTS_NAME}"), "card:INC-7", since)
        .await;
    assert_eq!(
        by_name,
        Ok(Some(sent.clone())),
        "the name's id was learnt from the post"
    );

    p.edit(&sent, &card("Remediating")).await.expect("edit");
    let m = h.fake.message(ALERTS, &sent.id).unwrap();
    assert_eq!(m.edits, 1);
    assert!(m.readable().contains("Remediating") && !m.readable().contains("Analyzing"));
    assert!(m.metadata.is_some(), "an edit keeps the metadata");

    let thread = p.open_thread(&sent, "INC-7").await.unwrap();
    assert_eq!(
        (thread.channel.as_str(), thread.id.as_str()),
        (ALERTS, sent.id.as_str())
    );
    let reply = p
        .send(
            ALERTS,
            Some(&thread),
            &Message::text("details: OOMKilled"),
            "detail:INC-7:1",
        )
        .await
        .expect("reply");
    let r = h.fake.message(ALERTS, &reply.id).unwrap();
    assert_eq!(r.thread(), Some(sent.id.as_str()));
    assert_eq!(h.fake.message(ALERTS, &sent.id).unwrap().reply_count, 1);
}

#[tokio::test]
async fn what_does_not_fit_is_cut_visibly_and_continues_in_the_thread() {
    let h = SlackHarness::new().await;
    // Fits the neutral limit (3000 characters) but not once escaped for Slack.
    let ampersands = "&".repeat(2900);
    let title = "t".repeat(300);
    let msg = Message::text(ampersands.clone()).with_header(title.clone(), "LOW", Tone::Info);
    let sent = h
        .platform
        .send(ALERTS, None, &msg, "card:long")
        .await
        .expect("accepted by the strict fake");
    let card = h.fake.message(ALERTS, &sent.id).unwrap();
    assert!(
        card.readable().contains(CUT_MARK.trim()),
        "{}",
        card.readable()
    );
    let rest: String = h
        .fake
        .bot_messages(ALERTS)
        .iter()
        .filter(|m| m.thread() == Some(sent.id.as_str()))
        .map(|m| m.readable())
        .collect();
    assert!(
        rest.contains(&ampersands),
        "the whole text is in the thread"
    );
    assert!(rest.contains(&title), "the whole title is in the thread");
}

/// A raw Web API call to the fake, as any client would make it.
async fn raw(fake: &FakeSlack, method: &str, token: Option<&str>, args: Value) -> Value {
    let mut req = reqwest::Client::new()
        .post(format!("{}/{method}", fake.api_url))
        .json(&args);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn the_fake_refuses_what_slack_refuses() {
    lookout::install_crypto_provider();
    let fake = FakeSlack::start().await;
    let bot = Some(FakeSlack::BOT_TOKEN);
    let post = |blocks: Value| json!({"channel": ALERTS, "text": "x", "blocks": blocks});
    let section =
        |n: usize| json!([{"type": "section", "text": {"type": "mrkdwn", "text": "a".repeat(n)}}]);
    let button = |text: usize, id: usize, value: usize| {
        json!([{"type": "actions", "elements": [{"type": "button",
            "text": {"type": "plain_text", "text": "b".repeat(text)},
            "action_id": "i".repeat(id), "value": "v".repeat(value)}]}])
    };
    let header = |n: usize| json!([{"type": "header", "text": {"type": "plain_text", "text": "h".repeat(n)}}]);
    let fields = |n: usize| {
        let f: Vec<Value> = (0..n)
            .map(|i| json!({"type": "mrkdwn", "text": format!("f{i}")}))
            .collect();
        json!([{"type": "section", "fields": f}])
    };
    let dividers = |n: usize| Value::Array(vec![json!({"type": "divider"}); n]);
    for (blocks, ok) in [
        (section(3000), true),
        (section(3001), false),
        (button(75, 255, 2000), true),
        (button(76, 1, 1), false),
        (button(1, 256, 1), false),
        (button(1, 1, 2001), false),
        (header(150), true),
        (header(151), false),
        (fields(10), true),
        (fields(11), false),
        (dividers(50), true),
        (dividers(51), false),
    ] {
        let r = raw(&fake, "chat.postMessage", bot, post(blocks.clone())).await;
        if ok {
            assert_eq!(r["ok"], true, "{r}");
            assert_eq!(r["channel"], ALERTS);
            assert!(r["ts"].is_string() && r["message"]["ts"] == r["ts"], "{r}");
        } else {
            assert_eq!(r["error"], "invalid_blocks", "{blocks}");
        }
    }
    let error = |r: Value| r["error"].as_str().unwrap_or("ok").to_string();
    let text = |channel: &str| json!({"channel": channel, "text": "hi"});
    assert_eq!(
        error(raw(&fake, "chat.postMessage", bot, text("C0NOPE")).await),
        "channel_not_found"
    );
    assert_eq!(
        error(raw(&fake, "chat.postMessage", bot, text(NOT_IN)).await),
        "not_in_channel"
    );
    assert_eq!(
        error(raw(&fake, "chat.postMessage", bot, text(ARCHIVED)).await),
        "is_archived"
    );
    assert_eq!(
        error(raw(&fake, "chat.postMessage", Some("xoxb-wrong"), text(ALERTS)).await),
        "invalid_auth"
    );
    assert_eq!(
        error(raw(&fake, "chat.postMessage", None, text(ALERTS)).await),
        "not_authed"
    );
    let too_long = json!({"channel": ALERTS, "text": "x".repeat(40_001)});
    assert_eq!(
        error(raw(&fake, "chat.postMessage", bot, too_long).await),
        "msg_too_long"
    );
    let update = json!({"channel": ALERTS, "ts": "1.000001", "text": "x"});
    assert_eq!(
        error(raw(&fake, "chat.update", bot, update).await),
        "message_not_found"
    );
    let app = Some(FakeSlack::APP_TOKEN);
    assert_eq!(
        error(raw(&fake, "chat.postMessage", app, text(ALERTS)).await),
        "not_allowed_token_type"
    );
    assert!(
        raw(&fake, "apps.connections.open", app, json!({})).await["url"]
            .as_str()
            .unwrap()
            .starts_with("ws://127.0.0.1:")
    );
    // Form bodies, with blocks as a JSON string, work as on Slack.
    let form = reqwest::Client::new()
        .post(format!("{}/chat.postMessage", fake.api_url))
        .form(&[
            ("token", FakeSlack::BOT_TOKEN),
            ("channel", ALERTS),
            ("blocks", &section(10).to_string()),
        ])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(form["ok"], true, "{form}");
}

#[tokio::test]
async fn a_restarted_bot_finds_what_it_sent_by_metadata() {
    let h = SlackHarness::new().await;
    let since = Utc::now() - chrono::Duration::seconds(1);
    let card = h
        .platform
        .send(ALERTS, None, &card("x"), "card:INC-9")
        .await
        .unwrap();
    let thread = h.platform.open_thread(&card, "INC-9").await.unwrap();
    let approval = h
        .platform
        .send(
            ALERTS,
            Some(&thread),
            &Message::text("approve?"),
            "approval:A-9",
        )
        .await
        .unwrap();

    // The crash: a new process with no memory of the sends.
    let fresh = SlackPlatform::new(config_for(&h.fake, SlackMode::Socket)).unwrap();
    let found = |key: &'static str, since| {
        let fresh = &fresh;
        async move {
            fresh
                .find_sent(ALERTS, key, since)
                .await
                .expect("find_sent")
        }
    };
    assert_eq!(found("card:INC-9", since).await, Some(card.clone()));
    assert_eq!(
        found("approval:A-9", since).await,
        Some(approval),
        "found in the thread"
    );
    assert_eq!(found("card:never-sent", since).await, None);
    let later = Utc::now() + chrono::Duration::seconds(1);
    assert_eq!(
        found("card:INC-9", later).await,
        None,
        "only since the given time"
    );
    assert!(h.fake.calls("conversations.history") >= 4);
    assert!(h.fake.calls("conversations.replies") >= 1);
}

#[tokio::test]
async fn rate_limits_and_outages_reach_the_queue_as_such() {
    let h = SlackHarness::new().await;
    let p = &h.platform;
    h.fake.fail_next(1, Fault::RateLimited(7));
    assert_eq!(
        p.send(ALERTS, None, &card("x"), "k1").await,
        Err(SendError::RateLimited(Duration::from_secs(7)))
    );
    let sent = p
        .send(ALERTS, None, &card("x"), "k1")
        .await
        .expect("then accepted");
    assert_eq!(
        h.fake.calls("chat.postMessage"),
        2,
        "no retry behind the queue's back"
    );
    h.fake.fail_next(1, Fault::RateLimited(3));
    assert_eq!(
        p.edit(&sent, &card("y")).await,
        Err(SendError::RateLimited(Duration::from_secs(3)))
    );
    h.fake.fail_next(1, Fault::Status(503));
    assert!(matches!(
        p.edit(&sent, &card("y")).await,
        Err(SendError::Transient(_))
    ));
    h.fake.fail_next(1, Fault::Error("internal_error"));
    assert!(matches!(
        p.edit(&sent, &card("y")).await,
        Err(SendError::Transient(_))
    ));
    p.edit(&sent, &card("y")).await.expect("then accepted");
}

#[tokio::test]
async fn permanent_errors_are_reported_as_permanent() {
    let h = SlackHarness::new().await;
    let p = &h.platform;
    let permanent = |r: Result<MessageRef, SendError>, code: &str| match r {
        Err(SendError::Permanent(why)) => assert!(why.contains(code), "{why}"),
        other => panic!("expected permanent {code}, got {other:?}"),
    };
    permanent(
        p.send("C0DOESNOTEXIST", None, &card("x"), "k").await,
        "channel_not_found",
    );
    permanent(
        p.send(NOT_IN, None, &card("x"), "k").await,
        "not_in_channel",
    );
    permanent(p.send(ARCHIVED, None, &card("x"), "k").await, "is_archived");
    let gone = MessageRef {
        platform: "slack".into(),
        channel: ALERTS.into(),
        id: "1600000000.000001".into(),
    };
    match p.edit(&gone, &card("x")).await {
        Err(SendError::Permanent(why)) => assert!(why.contains("message_not_found"), "{why}"),
        other => panic!("{other:?}"),
    }
    h.fake.fail_next(1, Fault::Error("token_revoked"));
    permanent(p.send(ALERTS, None, &card("x"), "k").await, "token_revoked");
    h.fake.set_tokens("xoxb-rotated", FakeSlack::APP_TOKEN);
    permanent(p.send(ALERTS, None, &card("x"), "k").await, "invalid_auth");
}
