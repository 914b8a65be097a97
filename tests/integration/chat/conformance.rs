//! The chat conformance suite: the same cases against every adapter, through the real outbound
//! queue and handler — post, edit and thread a card; a click carries the user and gets a
//! private answer; a mention is answered in a thread; a 429 is waited out; messages pending at
//! a restart are delivered once; permanent errors are dead-lettered; long messages continue
//! in the thread.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lookout::chat::commands::Commands;
use lookout::chat::handler::{ChatHandler, EXPIRED, FOREIGN};
use lookout::chat::outbound::{ChatMetrics, DEAD, Outbound, Post, Thread};
use lookout::chat::{ActionCodec, ButtonStyle, ChatEvent, Message, Tone};
use lookout::clock::SystemClock;
use lookout::store::{MemoryStore, Retention, SharedStore};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::harness::{ChatHarness, SeenMessage};
use crate::support::eventually;

const WAIT: Duration = Duration::from_secs(20);

/// A harness with a store, an outbound queue and the platform's listener running.
pub struct Rig {
    pub h: Arc<dyn ChatHarness>,
    pub store: SharedStore,
    pub outbound: Outbound,
    pub events: mpsc::Receiver<ChatEvent>,
    pub cancel: CancellationToken,
}

pub fn memory_store() -> SharedStore {
    Arc::new(MemoryStore::new(
        SystemClock::shared(),
        Retention::from(&lookout::config::StoreConfig::default()),
    ))
}

impl Rig {
    pub fn start(h: Arc<dyn ChatHarness>, store: SharedStore) -> Self {
        let cancel = CancellationToken::new();
        let outbound = Outbound::new(
            store.clone(),
            SystemClock::shared(),
            vec![h.platform()],
            ChatMetrics::unregistered(),
            cancel.child_token(),
        );
        let (tx, events) = mpsc::channel(64);
        tokio::spawn(h.platform().run(tx, cancel.child_token()));
        Self {
            h,
            store,
            outbound,
            events,
            cancel,
        }
    }

    fn name(&self) -> &'static str {
        self.h.platform().name()
    }

    /// Runs the real chat handler on this rig's events (consumes them).
    fn handle(&mut self, cluster: &str) {
        let (tx, rx) = mpsc::channel(64);
        let mut events = std::mem::replace(&mut self.events, mpsc::channel(1).1);
        tokio::spawn(async move {
            while let Some(e) = events.recv().await {
                if tx.send(e).await.is_err() {
                    return;
                }
            }
        });
        let handler = ChatHandler::new(
            self.outbound.clone(),
            ActionCodec::new(cluster),
            Commands::new(self.store.clone(), self.outbound.clone(), cluster),
        );
        tokio::spawn(handler.run(rx, self.cancel.child_token()));
    }

    async fn message_where(&self, what: &str, f: impl Fn(&SeenMessage) -> bool) -> SeenMessage {
        let ch = self.h.channel();
        eventually(WAIT, what, || async {
            self.h.messages(&ch).await.into_iter().find(|m| f(m))
        })
        .await
    }

    async fn next_event(&mut self) -> ChatEvent {
        tokio::time::timeout(WAIT, self.events.recv())
            .await
            .expect("an event in time")
            .expect("listener running")
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

fn card(text: &str) -> Message {
    Message::text(text).with_header("checkout is crash-looping", "HIGH", Tone::Danger)
}

pub async fn posts_edits_and_threads(h: Arc<dyn ChatHarness>) {
    let rig = Rig::start(h, memory_store());
    let (p, ch) = (rig.name(), rig.h.channel());
    rig.outbound
        .post(Post::new("card:T", p, &ch, card("first state")).opening_thread("INC-1"))
        .await;
    let posted = rig
        .message_where("the card", |m| m.text.contains("first state"))
        .await;
    assert!(posted.thread.is_none());
    rig.outbound
        .edit("card:T", p, &ch, card("second state"))
        .await;
    rig.outbound
        .post(
            Post::new("thread:T:1", p, &ch, Message::text("details here"))
                .in_thread(Thread::Of("card:T".into())),
        )
        .await;
    let edited = rig
        .message_where("the edited card", |m| {
            m.id == posted.id && m.text.contains("second state")
        })
        .await;
    assert_eq!(edited.edits, 1);
    let reply = rig
        .message_where("the thread reply", |m| m.text.contains("details here"))
        .await;
    assert!(reply.thread.is_some(), "{reply:?}");
    assert_ne!(reply.id, posted.id);
    // Posting the same logical message again does nothing.
    rig.outbound
        .post(Post::new("card:T", p, &ch, card("first state")))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cards = rig
        .h
        .messages(&ch)
        .await
        .into_iter()
        .filter(|m| m.text.contains("crash-looping"))
        .count();
    assert_eq!(cards, 1);
}

pub async fn clicks_carry_the_user_and_get_private_answers(h: Arc<dyn ChatHarness>) {
    let mut rig = Rig::start(h, memory_store());
    let (p, ch) = (rig.name(), rig.h.channel());
    let codec = ActionCodec::new("conformance");
    let action = codec.encode("test", "42");
    rig.outbound
        .post(Post::new(
            "card:C",
            p,
            &ch,
            card("with a button").button("Do it", action.clone(), ButtonStyle::Primary),
        ))
        .await;
    let posted = rig
        .message_where("the card", |m| !m.buttons.is_empty())
        .await;
    assert_eq!(posted.buttons[0], ("Do it".to_string(), action.clone()));
    rig.h.click(&ch, &posted.id, "alice", &action).await;
    let ChatEvent::Click(click) = rig.next_event().await else {
        panic!("expected a click")
    };
    assert_eq!(click.action, action);
    assert_eq!(click.user.id, rig.h.user_id("alice"));
    assert_eq!(click.user.platform, p);
    assert_eq!(click.message.id, posted.id);
    rig.h
        .platform()
        .acknowledge(&click, Some("only for you"))
        .await
        .expect("acknowledge");
    let notes = eventually(WAIT, "the private note", || async {
        let n = rig.h.private_notes("alice").await;
        n.iter().any(|t| t.contains("only for you")).then_some(n)
    })
    .await;
    assert!(!notes.is_empty());
}

pub async fn unknown_and_foreign_buttons_are_refused_privately(h: Arc<dyn ChatHarness>) {
    let mut rig = Rig::start(h, memory_store());
    rig.handle("conformance");
    let (p, ch) = (rig.name(), rig.h.channel());
    let stale = ActionCodec::new("conformance").encode("nothing-handles-this", "1");
    let foreign = ActionCodec::new("another-cluster").encode("approve", "1");
    rig.outbound
        .post(Post::new(
            "card:F",
            p,
            &ch,
            card("buttons")
                .button("Stale", stale.clone(), ButtonStyle::Default)
                .button("Foreign", foreign.clone(), ButtonStyle::Default),
        ))
        .await;
    let posted = rig
        .message_where("the card", |m| m.buttons.len() == 2)
        .await;
    rig.h.click(&ch, &posted.id, "bob", &stale).await;
    eventually(WAIT, "the expired note", || async {
        rig.h
            .private_notes("bob")
            .await
            .iter()
            .any(|n| n.contains(EXPIRED))
            .then_some(())
    })
    .await;
    rig.h.click(&ch, &posted.id, "bob", &foreign).await;
    eventually(WAIT, "the foreign-cluster note", || async {
        rig.h
            .private_notes("bob")
            .await
            .iter()
            .any(|n| n.contains(FOREIGN))
            .then_some(())
    })
    .await;
}

pub async fn mentions_are_answered_in_a_thread(h: Arc<dyn ChatHarness>) {
    let mut rig = Rig::start(h, memory_store());
    rig.handle("conformance");
    let ch = rig.h.channel();
    rig.h.mention(&ch, None, "carol", "help").await;
    let answer = rig
        .message_where("the help answer", |m| m.text.contains("incidents"))
        .await;
    assert!(answer.thread.is_some(), "answered in a thread: {answer:?}");
    rig.h.mention(&ch, None, "carol", "INCIDENTS").await;
    let listing = rig
        .message_where("the incidents answer", |m| {
            m.text.contains("No open incidents")
        })
        .await;
    assert!(listing.thread.is_some());
    // A follow-up in the thread that mentions the bot is answered in the same thread.
    let thread = listing.thread.clone().unwrap();
    rig.h
        .mention(&ch, Some(&thread), "carol", "bogus-command")
        .await;
    let unknown = rig
        .message_where("the unknown-command answer", |m| {
            m.text.contains("I don't know") && m.text.contains("bogus-command")
        })
        .await;
    assert_eq!(unknown.thread.as_deref(), Some(thread.as_str()));
    // A reply in the thread that does not mention the bot is not answered.
    let before = rig.h.messages(&ch).await.len();
    rig.h.reply(&ch, &thread, "carol", "thanks, looking").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rig.h.messages(&ch).await;
    assert!(
        after
            .iter()
            .all(|m| !m.text.contains("I don't know `thanks")),
        "a plain reply was answered"
    );
    assert!(
        after.len() <= before + 1,
        "only the person's own reply may show"
    );
}

pub async fn rate_limits_are_waited_out(h: Arc<dyn ChatHarness>) {
    let rig = Rig::start(h, memory_store());
    let (p, ch) = (rig.name(), rig.h.channel());
    let before = rig.h.send_attempts().await;
    rig.h.rate_limit_next(1, Duration::from_secs(1)).await;
    let started = Instant::now();
    rig.outbound
        .post(Post::new("card:R", p, &ch, card("after a 429")))
        .await;
    rig.message_where("the message after the 429", |m| {
        m.text.contains("after a 429")
    })
    .await;
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        rig.h.send_attempts().await - before,
        2,
        "one refused, one accepted"
    );
}

pub async fn pending_messages_survive_a_restart(h: Arc<dyn ChatHarness>) {
    let store = memory_store();
    let rig = Rig::start(h.clone(), store.clone());
    let (p, ch) = (rig.name(), rig.h.channel());
    let before = h.send_attempts().await;
    h.rate_limit_next(1000, Duration::from_secs(60)).await;
    for i in 1..=3 {
        rig.outbound
            .post(Post::new(
                format!("card:P{i}"),
                p,
                &ch,
                card(&format!("pending {i}")),
            ))
            .await;
    }
    eventually(WAIT, "the first refused attempt", || async {
        (h.send_attempts().await > before).then_some(())
    })
    .await;
    // The bot stops with all three pending.
    rig.cancel.cancel();
    rig.outbound.stopped().await;
    drop(rig);
    assert!(
        h.messages(&ch)
            .await
            .iter()
            .all(|m| !m.text.contains("pending")),
        "nothing was delivered before the restart"
    );

    h.rate_limit_next(0, Duration::ZERO).await;
    let again = Rig::start(h.clone(), store.clone());
    assert_eq!(again.outbound.recover().await.unwrap(), 3);
    let delivered = eventually(WAIT, "all three after the restart", || async {
        let seen: Vec<String> = h
            .messages(&ch)
            .await
            .into_iter()
            .filter(|m| m.text.contains("pending"))
            .map(|m| m.text)
            .collect();
        (seen.len() >= 3).then_some(seen)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let all: Vec<String> = h
        .messages(&ch)
        .await
        .into_iter()
        .filter(|m| m.text.contains("pending"))
        .map(|m| m.text)
        .collect();
    assert_eq!(all.len(), 3, "none doubled: {all:?}");
    for (i, text) in delivered.iter().enumerate() {
        assert!(
            text.contains(&format!("pending {}", i + 1)),
            "in order: {delivered:?}"
        );
    }
}

pub async fn permanent_errors_are_dead_lettered(h: Arc<dyn ChatHarness>) {
    let rig = Rig::start(h, memory_store());
    let p = rig.name();
    let missing = rig.h.missing_channel();
    let before = rig.h.send_attempts().await;
    rig.outbound
        .post(Post::new("card:D", p, &missing, card("nowhere to go")))
        .await;
    let store = rig.store.clone();
    eventually(WAIT, "the dead letter", || async {
        store.get(DEAD, "card:D").await.ok().flatten()
    })
    .await;
    let attempts = rig.h.send_attempts().await - before;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        rig.h.send_attempts().await - before,
        attempts,
        "no endless retries"
    );
    assert!(attempts <= 1, "{attempts} attempts");
}

pub async fn long_messages_continue_in_the_thread(h: Arc<dyn ChatHarness>) {
    let rig = Rig::start(h, memory_store());
    let (p, ch) = (rig.name(), rig.h.channel());
    let log: String = (0..400)
        .map(|i| format!("line {i:04}: something happened\n"))
        .collect();
    rig.outbound
        .post(
            Post::new(
                "card:L",
                p,
                &ch,
                card("a long log follows").code(log.clone()),
            )
            .opening_thread("INC-L"),
        )
        .await;
    let posted = rig
        .message_where("the card", |m| m.text.contains("a long log follows"))
        .await;
    let parts = eventually(WAIT, "the rest of the log in the thread", || async {
        let msgs = rig.h.messages(&ch).await;
        let in_thread: Vec<SeenMessage> = msgs
            .into_iter()
            .filter(|m| m.thread.is_some() && m.id != posted.id)
            .collect();
        in_thread
            .iter()
            .any(|m| m.text.contains("line 0399"))
            .then_some(in_thread)
    })
    .await;
    for i in [0, 200, 399] {
        let line = format!("line {i:04}");
        assert!(
            parts.iter().any(|m| m.text.contains(&line)),
            "{line} is somewhere in the thread"
        );
    }
}

/// Runs every case against one adapter.
#[macro_export]
macro_rules! chat_conformance {
    ($module:ident, $harness:expr) => {
        mod $module {
            use std::sync::Arc;
            use $crate::chat::conformance as c;
            use $crate::chat::harness::ChatHarness;

            async fn h() -> Arc<dyn ChatHarness> {
                Arc::new($harness)
            }

            #[tokio::test]
            async fn posts_edits_and_threads() {
                c::posts_edits_and_threads(h().await).await
            }
            #[tokio::test]
            async fn clicks_carry_the_user_and_get_private_answers() {
                c::clicks_carry_the_user_and_get_private_answers(h().await).await
            }
            #[tokio::test]
            async fn unknown_and_foreign_buttons_are_refused_privately() {
                c::unknown_and_foreign_buttons_are_refused_privately(h().await).await
            }
            #[tokio::test]
            async fn mentions_are_answered_in_a_thread() {
                c::mentions_are_answered_in_a_thread(h().await).await
            }
            #[tokio::test]
            async fn rate_limits_are_waited_out() {
                c::rate_limits_are_waited_out(h().await).await
            }
            #[tokio::test]
            async fn pending_messages_survive_a_restart() {
                c::pending_messages_survive_a_restart(h().await).await
            }
            #[tokio::test]
            async fn permanent_errors_are_dead_lettered() {
                c::permanent_errors_are_dead_lettered(h().await).await
            }
            #[tokio::test]
            async fn long_messages_continue_in_the_thread() {
                c::long_messages_continue_in_the_thread(h().await).await
            }
        }
    };
}

chat_conformance!(console, crate::chat::console::ConsoleHarness::new().await);
