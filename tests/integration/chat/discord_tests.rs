//! Discord-specific behaviour of the real adapter against the fake Discord: what the
//! conformance suite cannot say for every platform (embed and component limits, 429 bodies,
//! nonces, the gateway's resume, a refused token, the 3 s click deadline).

use std::sync::Arc;
use std::time::{Duration, Instant};

use lookout::chat::discord::DiscordPlatform;
use lookout::chat::discord::rest::Rest;
use lookout::chat::outbound::Post;
use lookout::chat::{
    Block, ButtonStyle, ChatEvent, ChatPlatform, Field, Inbound, Message, SendError, Text, Tone,
};
use serenity::all::{ChannelId, CreateMessage};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::conformance::{Rig, memory_store};
use super::discord::{DiscordHarness, config_for, discord_user};
use crate::fakes::discord::{ALERTS, FakeDiscord, Fault, OPS};
use crate::support::eventually;

const WAIT: Duration = Duration::from_secs(20);

/// The adapter's listener, stopped when dropped.
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

fn listen(platform: &Arc<DiscordPlatform>) -> Listening {
    let (tx, events) = mpsc::channel(64);
    let stop = CancellationToken::new();
    let task = tokio::spawn(platform.clone().run(tx, stop.clone()));
    Listening { events, stop, task }
}

async fn next_message(l: &mut Listening) -> Inbound {
    loop {
        let e = tokio::time::timeout(WAIT, l.events.recv())
            .await
            .expect("an event in time")
            .expect("listener running");
        if let ChatEvent::Message(m) = e {
            return m;
        }
    }
}

fn alerts() -> String {
    ALERTS.to_string()
}

#[tokio::test]
async fn cards_beyond_discords_limits_are_cut_and_continue_in_replies() {
    let h = DiscordHarness::new().await;
    let fields: Vec<Field> = (0..30)
        .map(|i| Field {
            label: format!("field {i}"),
            value: Text::plain(format!("value {i}")),
        })
        .collect();
    let mut card = Message::text("x".repeat(5000))
        .with_header("a very busy incident", "HIGH", Tone::Danger)
        .block(Block::Fields { fields });
    for i in 0..30 {
        card = card.button(
            format!("{i} {}", "l".repeat(90)),
            format!("id-{i}"),
            ButtonStyle::Default,
        );
    }
    card = card.button("too long an id", "i".repeat(101), ButtonStyle::Default);
    let posted = h
        .platform
        .send(&alerts(), None, &card, "card:limits")
        .await
        .expect("Discord accepts what the adapter renders");
    let id: u64 = posted.id.parse().unwrap();
    let stored = h.fake.message(id).expect("stored");
    let embed = &stored.embeds[0];
    assert!(embed["description"].as_str().unwrap().chars().count() <= 4096);
    assert_eq!(embed["fields"].as_array().unwrap().len(), 25);
    let rows = stored.components.as_array().unwrap();
    assert_eq!(rows.len(), 5);
    assert!(
        rows.iter()
            .all(|r| r["components"].as_array().unwrap().len() <= 5)
    );
    assert!(
        stored
            .buttons()
            .iter()
            .all(|(l, _)| l.chars().count() <= 80)
    );
    // What was cut follows as replies to the card: the rest of the text, the five fields
    // and the buttons that did not fit.
    let replies = eventually(WAIT, "the rest as replies", || async {
        let r: Vec<_> = h
            .fake
            .bot_messages(ALERTS)
            .into_iter()
            .filter(|m| m.reference == Some(id))
            .collect();
        let text: String = r.iter().map(|m| m.readable()).collect();
        (text.contains("field 29: value 29") && text.contains("too long an id")).then_some(r)
    })
    .await;
    assert!(replies.iter().all(|m| m.content.chars().count() <= 2000));
    let all: String = replies.iter().map(|m| m.readable()).collect();
    assert!(
        all.matches('x').count() >= 900,
        "the text's rest is in the replies"
    );
}

#[tokio::test]
async fn the_fake_refuses_what_discord_refuses() {
    let h = DiscordHarness::new().await;
    let rest = Rest::new(&config_for(&h.fake)).unwrap();
    let too_long = CreateMessage::new().content("y".repeat(2001));
    let err = rest
        .send(ChannelId::new(ALERTS), &too_long)
        .await
        .unwrap_err();
    let SendError::Permanent(reason) = err else {
        panic!("{err:?}")
    };
    assert!(
        reason.contains("50035") && reason.contains("content: Must be 2000 or fewer"),
        "{reason}"
    );
    let gone = rest
        .edit(
            ChannelId::new(ALERTS),
            serenity::all::MessageId::new(42),
            &serenity::all::EditMessage::new().content("z"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&gone, SendError::Permanent(r) if r.contains("10008")),
        "{gone:?}"
    );
    h.fake.fail_next(1, Fault::Status(502));
    let outage = rest
        .send(ChannelId::new(ALERTS), &CreateMessage::new().content("hi"))
        .await
        .unwrap_err();
    assert!(matches!(outage, SendError::Transient(_)), "{outage:?}");
}

#[tokio::test]
async fn a_resend_with_the_same_key_does_not_post_twice() {
    let h = DiscordHarness::new().await;
    let m = Message::text("once only");
    let first = h
        .platform
        .send(&alerts(), None, &m, "card:N")
        .await
        .unwrap();
    let again = h
        .platform
        .send(&alerts(), None, &m, "card:N")
        .await
        .unwrap();
    assert_eq!(
        first.id, again.id,
        "Discord answered with the first message"
    );
    assert_eq!(h.fake.bot_messages(ALERTS).len(), 1);
    assert_eq!(h.fake.calls("create message"), 2);
}

#[tokio::test]
async fn retry_after_from_the_body_is_waited_out_and_global_limits_hold_every_route() {
    let h = Arc::new(DiscordHarness::new().await);
    let rig = Rig::start(h.clone(), memory_store());
    h.fake.fail_next(
        1,
        Fault::RateLimited {
            retry_after: 1.5,
            global: false,
        },
    );
    let started = Instant::now();
    rig.outbound
        .post(Post::new(
            "card:RA",
            "discord",
            &alerts(),
            Message::text("after 1.5 s"),
        ))
        .await;
    eventually(WAIT, "the message", || async {
        h.fake
            .bot_messages(ALERTS)
            .iter()
            .any(|m| m.readable().contains("after 1.5 s"))
            .then_some(())
    })
    .await;
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(1400), "{waited:?}");
    assert_eq!(h.fake.calls("create message"), 2);

    // A global limit: the next call, on another channel, waits without asking Discord.
    h.fake.fail_next(
        1,
        Fault::RateLimited {
            retry_after: 2.0,
            global: true,
        },
    );
    let m = Message::text("global");
    let first = h
        .platform
        .send(&alerts(), None, &m, "g:1")
        .await
        .unwrap_err();
    assert!(matches!(first, SendError::RateLimited(_)), "{first:?}");
    let calls = h.fake.calls("create message");
    let held = h
        .platform
        .send(&OPS.to_string(), None, &m, "g:2")
        .await
        .unwrap_err();
    assert!(
        matches!(held, SendError::RateLimited(d) if d > Duration::from_secs(1)),
        "{held:?}"
    );
    assert_eq!(h.fake.calls("create message"), calls, "held back locally");
}

#[tokio::test]
async fn mentions_thread_replies_and_chatter() {
    let h = DiscordHarness::new().await;
    let mut l = listen(&h.platform);
    let alice = discord_user("alice");
    h.fake.set_roles(alice, &[777]);
    h.fake.chatter(ALERTS, alice, "lunch anyone?").await;
    let mention = h.fake.mention(ALERTS, None, alice, "status please").await;
    let m = next_message(&mut l).await;
    assert!(m.mentioned);
    assert_eq!(m.text, "status please", "the bot's mention is removed");
    assert_eq!(m.message.id, mention.to_string(), "the chatter was ignored");
    assert_eq!(m.user.id, alice.to_string());
    assert_eq!(m.user.groups, ["777"], "role ids as groups");
    assert!(m.thread.is_none());
    let thread = h
        .platform
        .open_thread(&m.message, "a thread")
        .await
        .expect("thread");
    h.fake
        .reply(thread.id.parse().unwrap(), alice, "it was the cache")
        .await;
    let r = next_message(&mut l).await;
    assert!(!r.mentioned);
    assert_eq!(r.text, "it was the cache");
    assert_eq!(
        r.thread.as_ref().map(|t| t.id.as_str()),
        Some(thread.id.as_str())
    );
    assert_eq!(
        r.channel,
        alerts(),
        "a thread's messages belong to its channel"
    );
}

#[tokio::test]
async fn clicks_are_answered_within_three_seconds_and_refusals_are_private() {
    let h = DiscordHarness::new().await;
    let mut l = listen(&h.platform);
    let card = Message::text("a card").button("Approve", "c:approve:1", ButtonStyle::Primary);
    let posted = h
        .platform
        .send(&alerts(), None, &card, "card:click")
        .await
        .unwrap();
    let bob = discord_user("bob");
    h.fake
        .click(posted.id.parse().unwrap(), bob, "c:approve:1")
        .await;
    let click = loop {
        match tokio::time::timeout(WAIT, l.events.recv())
            .await
            .unwrap()
            .unwrap()
        {
            ChatEvent::Click(c) => break c,
            _ => continue,
        }
    };
    let answered = h.fake.callbacks();
    assert_eq!(answered.len(), 1);
    assert_eq!(answered[0].kind, Some(6), "a deferred update");
    assert!(click.token.contains(&answered[0].interaction.to_string()));
    let after = answered[0].after.unwrap();
    assert!(after < Duration::from_secs(3), "{after:?}");
    println!("discord click answered after {after:?}");
    let before = h.fake.bot_messages(ALERTS).len();
    h.platform
        .acknowledge(&click, Some("you may not approve this"))
        .await
        .unwrap();
    let notes = h.fake.private_notes(bob);
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].channel, ALERTS);
    assert_eq!(
        h.fake.bot_messages(ALERTS).len(),
        before,
        "nobody else sees it"
    );
}

#[tokio::test]
async fn the_gateway_resumes_after_a_drop_and_a_reconnect_request() {
    let h = DiscordHarness::new().await;
    let mut l = listen(&h.platform);
    h.fake.wait_ready().await;
    h.fake.drop_gateway();
    let alice = discord_user("alice");
    h.fake.mention(ALERTS, None, alice, "after the drop").await;
    assert_eq!(next_message(&mut l).await.text, "after the drop");
    h.fake.request_reconnect();
    eventually(WAIT, "two resumes", || async {
        (h.fake.resumes() >= 2 && h.platform.resumes() >= 2).then_some(())
    })
    .await;
    h.fake
        .mention(ALERTS, None, alice, "after the reconnect")
        .await;
    assert_eq!(next_message(&mut l).await.text, "after the reconnect");
    assert_eq!(h.fake.identifies(), 1, "resumed, never identified again");
    assert_eq!(h.platform.sessions(), 1);
}

#[tokio::test]
async fn an_expired_session_is_identified_again() {
    let h = DiscordHarness::new().await;
    let mut l = listen(&h.platform);
    h.fake.wait_ready().await;
    h.fake.expire_session();
    eventually(WAIT, "a second session", || async {
        (h.fake.identifies() == 2 && h.platform.sessions() == 2).then_some(())
    })
    .await;
    h.fake
        .mention(ALERTS, None, discord_user("frank"), "still there?")
        .await;
    assert_eq!(next_message(&mut l).await.text, "still there?");
}

#[tokio::test]
async fn a_refused_token_is_retried_without_stopping_the_bot() {
    let h = DiscordHarness::new().await;
    h.fake.set_token("another-token");
    let mut l = listen(&h.platform);
    eventually(WAIT, "retries", || async {
        (h.fake.calls("users/@me") >= 3).then_some(())
    })
    .await;
    assert!(!l.task.is_finished(), "the listener keeps trying");
    let refused = h
        .platform
        .send(&alerts(), None, &Message::text("hi"), "t:1")
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, SendError::Permanent(r) if r.contains("token was refused")),
        "{refused:?}"
    );
    // The token is fixed (rotated back): the bot connects on its next attempt.
    h.fake.set_token(FakeDiscord::TOKEN);
    h.fake.wait_ready().await;
    h.fake
        .mention(ALERTS, None, discord_user("carol"), "back")
        .await;
    assert_eq!(next_message(&mut l).await.text, "back");
}

#[tokio::test]
async fn privileged_intents_not_enabled_are_reported_and_retried() {
    let h = DiscordHarness::new().await;
    h.fake.allow_privileged_intents(false);
    let mut l = listen(&h.platform);
    eventually(
        WAIT,
        "a second sign-in after the gateway refused",
        || async { (h.fake.calls("users/@me") >= 2).then_some(()) },
    )
    .await;
    assert_eq!(h.fake.identifies(), 0);
    assert!(!l.task.is_finished());
    h.fake.allow_privileged_intents(true);
    h.fake
        .mention(ALERTS, None, discord_user("dave"), "now")
        .await;
    assert_eq!(next_message(&mut l).await.text, "now");
}
