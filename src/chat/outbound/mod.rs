//! The outbound queue: every message Lookout sends goes through here.
//!
//! - **Persisted first.** An intent is written to the store before it is sent and removed
//!   once the delivery is recorded, so a restart resends what was pending — never loses it.
//! - **Idempotent.** Each logical message has a key (`card:<incident>:<platform>:<channel>`).
//!   A delivered key is never posted again; after a crash between the platform's accept and
//!   our record, the platform is asked whether it has the key (Slack message metadata) before
//!   resending, so a repeat happens only where the platform cannot tell.
//! - **Ordered and paced per channel.** One worker per (platform, channel) sends in arrival
//!   order, at most one message per `min_interval`, honours 429 retry-after, retries
//!   temporary failures with backoff forever (one failing platform delays only itself), and
//!   dead-letters permanent failures with a metric and an error log.
//! - **Coalescing.** An edit replaces any pending edit of the same message, and merges into
//!   the post itself while that is still waiting: only the latest state is sent.
//! - **Fitted.** Messages too long for the platform are cut with a marker; the full text
//!   follows in the thread.

mod intent;
mod metrics;
mod worker;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::warn;

pub use intent::{DEAD, Dead, Intent, OUTBOX, Op, SENT, Sent};
pub use metrics::ChatMetrics;

use super::message::Message;
use super::platform::{SharedPlatform, ThreadRef};
use crate::clock::SharedClock;
use crate::store::{SharedStore, StoreExt, StoreResult};

const SEQUENCE: &str = "chat-seq";
/// Claims of logical messages being posted, so a key is posted by one process only.
const POSTING: &str = "posting:";
/// How long a posting claim lasts; afterwards the delivery record (`SENT`) keeps the key from
/// being posted again.
const POSTING_TTL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Where a post goes in a conversation.
#[derive(Debug, Clone, PartialEq)]
pub enum Thread {
    /// Top level of the channel.
    None,
    /// The thread of the message with this key (an incident's card).
    Of(String),
    /// A thread the platform gave us (a user's conversation).
    Ref(ThreadRef),
}

/// A message to post.
#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    /// The idempotency key of the logical message.
    pub key: String,
    pub platform: String,
    pub channel: String,
    pub thread: Thread,
    pub message: Message,
    /// Open a thread under the posted message, with this title.
    pub open_thread: Option<String>,
    /// When what the message announces happened (for the post-latency histogram).
    pub since: Option<DateTime<Utc>>,
}

impl Post {
    pub fn new(key: impl Into<String>, platform: &str, channel: &str, message: Message) -> Self {
        Self {
            key: key.into(),
            platform: platform.to_string(),
            channel: channel.to_string(),
            thread: Thread::None,
            message,
            open_thread: None,
            since: None,
        }
    }

    pub fn in_thread(mut self, thread: Thread) -> Self {
        self.thread = thread;
        self
    }

    pub fn opening_thread(mut self, title: impl Into<String>) -> Self {
        self.open_thread = Some(title.into());
        self
    }

    pub fn since(mut self, at: Option<DateTime<Utc>>) -> Self {
        self.since = at;
        self
    }
}

/// Handle to the queue; cheap to clone.
#[derive(Clone)]
pub struct Outbound {
    inner: Arc<Inner>,
}

struct Inner {
    store: SharedStore,
    clock: SharedClock,
    platforms: HashMap<String, SharedPlatform>,
    workers: Mutex<HashMap<(String, String), mpsc::UnboundedSender<Work>>>,
    metrics: ChatMetrics,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

/// An intent handed to a worker; `recovered` ones were pending before a restart.
struct Work {
    intent: Intent,
    recovered: bool,
}

impl Outbound {
    pub fn new(
        store: SharedStore,
        clock: SharedClock,
        platforms: Vec<SharedPlatform>,
        metrics: ChatMetrics,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                clock,
                platforms: platforms
                    .into_iter()
                    .map(|p| (p.name().to_string(), p))
                    .collect(),
                workers: Mutex::new(HashMap::new()),
                metrics,
                shutdown,
                tasks: TaskTracker::new(),
            }),
        }
    }

    /// The platforms messages can go to.
    pub fn platform(&self, name: &str) -> Option<&SharedPlatform> {
        self.inner.platforms.get(name)
    }

    /// Resumes what was pending before a restart, in its original order.
    pub async fn recover(&self) -> StoreResult<usize> {
        let ids = self.inner.store.list(OUTBOX).await?;
        let mut pending = Vec::new();
        for id in ids {
            if let Some(intent) = self.inner.store.get_json::<Intent>(OUTBOX, &id).await? {
                pending.push(intent);
            }
        }
        pending.sort_by_key(|i| i.seq);
        let n = pending.len();
        for intent in pending {
            self.dispatch(Work {
                intent,
                recovered: true,
            });
        }
        Ok(n)
    }

    /// Posts a message under its idempotency key. A key already delivered (or pending) is not
    /// posted again.
    pub async fn post(&self, post: Post) {
        let Post {
            key,
            platform,
            channel,
            thread,
            message,
            open_thread,
            since,
        } = post;
        let (thread_of, thread) = match thread {
            Thread::None => (None, None),
            Thread::Of(k) => (Some(k), None),
            Thread::Ref(t) => (None, Some(t)),
        };
        self.enqueue(
            key,
            &platform,
            &channel,
            Op::Post {
                message,
                thread_of,
                thread,
                open_thread,
            },
            since,
        )
        .await;
    }

    /// Replaces the content of the message posted under `target` (coalesced: only the
    /// latest edit is sent).
    pub async fn edit(&self, target: &str, platform: &str, channel: &str, message: Message) {
        self.enqueue(
            format!("edit:{target}"),
            platform,
            channel,
            Op::Edit {
                target: target.to_string(),
                message,
            },
            None,
        )
        .await;
    }

    /// The delivery record of a key.
    pub async fn sent(&self, key: &str) -> StoreResult<Option<Sent>> {
        self.inner.store.get_json(SENT, key).await
    }

    /// Waits for the workers to finish after shutdown was signalled.
    pub async fn stopped(&self) {
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
    }

    async fn enqueue(
        &self,
        key: String,
        platform: &str,
        channel: &str,
        op: Op,
        since: Option<DateTime<Utc>>,
    ) {
        let store = &self.inner.store;
        if matches!(op, Op::Post { .. }) {
            if matches!(store.get_json::<Sent>(SENT, &key).await, Ok(Some(_))) {
                return;
            }
            // Two processes sharing the store (before leader election, or during a hand-over)
            // may both want to post the same logical message: the first claim sends it. A
            // store outage must not silence the bot, so an unanswered claim still sends.
            let claim = format!("{POSTING}{key}");
            if let Ok(false) = store.claim(&claim, POSTING_TTL).await {
                return;
            }
        }
        // A sequence from the store keeps order across restarts; without the store, order
        // within this process still holds.
        let seq = store
            .incr(SEQUENCE, 1, None)
            .await
            .unwrap_or_default()
            .max(0) as u64;
        let intent = Intent {
            key,
            seq,
            platform: platform.to_string(),
            channel: channel.to_string(),
            op,
            created_at: self.inner.clock.now(),
            since,
        };
        if let Err(error) = store.put_json(OUTBOX, &intent.key, &intent, None).await {
            // Still sent; only a crash before delivery could lose it now.
            warn!(%error, key = %intent.key, "cannot persist an outbound message; sending anyway");
        }
        self.dispatch(Work {
            intent,
            recovered: false,
        });
    }

    fn dispatch(&self, work: Work) {
        let Some(platform) = self.inner.platforms.get(&work.intent.platform).cloned() else {
            warn!(platform = %work.intent.platform, key = %work.intent.key, "message for a platform that is not configured; dropped");
            let store = self.inner.store.clone();
            let key = work.intent.key.clone();
            tokio::spawn(async move {
                let _ = store.delete(OUTBOX, &key).await;
            });
            return;
        };
        let route = (work.intent.platform.clone(), work.intent.channel.clone());
        let mut workers = self.inner.workers.lock().unwrap_or_else(|p| p.into_inner());
        let sender = workers.entry(route.clone()).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            let w = worker::Worker::new(self.inner.clone(), platform, route.1.clone(), rx);
            self.inner.tasks.spawn(w.run());
            tx
        });
        self.inner
            .metrics
            .depth
            .get_or_create(&ChatMetrics::label(&route.0))
            .inc();
        if let Err(mpsc::error::SendError(work)) = sender.send(work) {
            // The worker stopped (shutdown): the intent stays in the store for the restart.
            self.inner
                .metrics
                .depth
                .get_or_create(&ChatMetrics::label(&work.intent.platform))
                .dec();
        }
    }
}
