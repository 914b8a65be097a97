//! One worker per (platform, channel): sends in order, paced, with retries; see `mod.rs`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{error, info, warn};

use super::intent::{DEAD, Dead, Intent, OUTBOX, Op, SENT, Sent};
use super::metrics::ChatMetrics;
use super::{Inner, Work};
use crate::chat::fit::fit;
use crate::chat::platform::{MessageRef, SendError, SharedPlatform, ThreadRef};
use crate::store::StoreExt;

const MAX_BACKOFF: Duration = Duration::from_secs(60);

pub(super) struct Worker {
    inner: Arc<Inner>,
    platform: SharedPlatform,
    channel: String,
    rx: mpsc::UnboundedReceiver<Work>,
    queue: VecDeque<Work>,
    last_send: Option<Instant>,
}

/// What became of one attempt.
enum Outcome {
    Done,
    /// Try again after exactly this long (the platform said so).
    RetryAfter(Duration),
    /// Try again after the current backoff.
    Retry,
}

impl Worker {
    pub(super) fn new(
        inner: Arc<Inner>,
        platform: SharedPlatform,
        channel: String,
        rx: mpsc::UnboundedReceiver<Work>,
    ) -> Self {
        Self {
            inner,
            platform,
            channel,
            rx,
            queue: VecDeque::new(),
            last_send: None,
        }
    }

    pub(super) async fn run(mut self) {
        let mut backoff = Duration::from_millis(500);
        loop {
            while let Ok(work) = self.rx.try_recv() {
                self.accept(work).await;
            }
            if self.queue.is_empty() {
                tokio::select! {
                    _ = self.inner.shutdown.cancelled() => return,
                    work = self.rx.recv() => match work {
                        Some(work) => { self.accept(work).await; continue; }
                        None => return,
                    },
                }
            }
            self.pace().await;
            if self.inner.shutdown.is_cancelled() {
                return;
            }
            let Some(work) = self.queue.front() else {
                continue;
            };
            let intent = work.intent.clone();
            let recovered = work.recovered;
            match self.attempt(&intent, recovered).await {
                Outcome::Done => {
                    self.queue.pop_front();
                    self.depth_dec();
                    backoff = Duration::from_millis(500);
                }
                Outcome::RetryAfter(wait) => {
                    tokio::select! {
                        _ = self.inner.shutdown.cancelled() => return,
                        _ = self.inner.clock.sleep(wait) => {}
                    }
                }
                Outcome::Retry => {
                    tokio::select! {
                        _ = self.inner.shutdown.cancelled() => return,
                        _ = self.inner.clock.sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Adds work to the queue, coalescing edits.
    async fn accept(&mut self, work: Work) {
        let Op::Edit { target, message } = &work.intent.op else {
            self.queue.push_back(work);
            return;
        };
        // The post itself is still waiting: it will go out with this content.
        if let Some(post) = self
            .queue
            .iter_mut()
            .find(|w| matches!(w.intent.op, Op::Post { .. }) && w.intent.key == *target)
        {
            if let Op::Post { message: m, .. } = &mut post.intent.op {
                *m = message.clone();
            }
            let _ = self
                .inner
                .store
                .put_json(OUTBOX, &post.intent.key, &post.intent, None)
                .await;
            let _ = self.inner.store.delete(OUTBOX, &work.intent.key).await;
            self.depth_dec();
            return;
        }
        // An earlier edit of the same message is still waiting: only the latest is sent.
        if let Some(pending) = self
            .queue
            .iter_mut()
            .skip(1) // the front may be in flight
            .find(|w| w.intent.key == work.intent.key)
        {
            pending.intent = work.intent;
            self.depth_dec();
            return;
        }
        self.queue.push_back(work);
    }

    async fn pace(&mut self) {
        let interval = self.platform.limits().min_interval;
        if let Some(last) = self.last_send {
            let due = last + interval;
            let now = Instant::now();
            if due > now {
                tokio::select! {
                    _ = self.inner.shutdown.cancelled() => {}
                    _ = tokio::time::sleep_until(due) => {}
                }
            }
        }
    }

    async fn attempt(&mut self, intent: &Intent, recovered: bool) -> Outcome {
        let name = self.platform.name();
        let result = match &intent.op {
            Op::Post {
                message,
                thread_of,
                thread,
                open_thread,
            } => {
                self.post(
                    intent,
                    message,
                    thread_of.as_deref(),
                    thread.clone(),
                    open_thread.as_deref(),
                    recovered,
                )
                .await
            }
            Op::Edit { target, message } => self.edit(intent, target, message).await,
        };
        match result {
            Ok(()) => {
                let _ = self.inner.store.delete(OUTBOX, &intent.key).await;
                Outcome::Done
            }
            Err(SendError::RateLimited(wait)) => {
                self.inner
                    .metrics
                    .rate_limited
                    .get_or_create(&ChatMetrics::label(name))
                    .inc();
                warn!(platform = name, channel = %self.channel, ?wait, "rate limited");
                Outcome::RetryAfter(wait)
            }
            Err(SendError::Transient(reason)) => {
                self.inner
                    .metrics
                    .retried
                    .get_or_create(&ChatMetrics::label(name))
                    .inc();
                warn!(platform = name, channel = %self.channel, key = %intent.key, %reason, "send failed; retrying");
                Outcome::Retry
            }
            Err(SendError::Permanent(reason)) => {
                self.dead_letter(intent, &reason).await;
                Outcome::Done
            }
        }
    }

    async fn post(
        &mut self,
        intent: &Intent,
        message: &crate::chat::message::Message,
        thread_of: Option<&str>,
        thread: Option<ThreadRef>,
        open_thread: Option<&str>,
        recovered: bool,
    ) -> Result<(), SendError> {
        let store = &self.inner.store;
        if let Ok(Some(_)) = store.get_json::<Sent>(SENT, &intent.key).await {
            return Ok(()); // delivered before (a repeat request, or a replay after restart)
        }
        let thread = match (thread, thread_of) {
            (Some(t), _) => Some(t),
            (None, Some(parent)) => match store.get_json::<Sent>(SENT, parent).await {
                Ok(Some(sent)) => sent.thread,
                Ok(None) => {
                    if let Ok(Some(_)) = store.get_json::<Dead>(DEAD, parent).await {
                        return Err(SendError::Permanent(format!(
                            "its parent message {parent} was never delivered"
                        )));
                    }
                    return Err(SendError::Transient(format!(
                        "waiting for its parent message {parent}"
                    )));
                }
                Err(e) => return Err(SendError::Transient(e.to_string())),
            },
            (None, None) => None,
        };
        // After a crash between the platform's accept and our record: ask before resending.
        let found = if recovered {
            self.platform
                .find_sent(&self.channel, &intent.key, intent.created_at)
                .await
                .ok()
                .flatten()
        } else {
            None
        };
        let limits = self.platform.limits().clone();
        let fitted = fit(message, &limits);
        let name = self.platform.name();
        let posted = match found {
            Some(m) => {
                info!(platform = name, key = %intent.key, "message found already delivered; not resending");
                m
            }
            None => {
                self.last_send = Some(Instant::now());
                match self
                    .platform
                    .send(&self.channel, thread.as_ref(), &fitted.message, &intent.key)
                    .await
                {
                    Ok(m) => {
                        self.inner
                            .metrics
                            .sent
                            .get_or_create(&ChatMetrics::op(name, "post"))
                            .inc();
                        m
                    }
                    Err(e) => {
                        self.inner
                            .metrics
                            .failed
                            .get_or_create(&ChatMetrics::op(name, "post"))
                            .inc();
                        return Err(e);
                    }
                }
            }
        };
        if let Some(since) = intent.since {
            let d = (self.inner.clock.now() - since)
                .to_std()
                .unwrap_or_default();
            self.inner.metrics.observe_post(d);
        }
        let mut own_thread = match open_thread {
            Some(title) => self.open_thread(&posted, title).await,
            None => None,
        };
        if own_thread.is_none() {
            own_thread = thread.clone();
        }
        self.record(intent, &posted, own_thread.clone()).await;
        // What did not fit follows in the thread (or under the message).
        let continuation = own_thread.or(thread);
        for (i, part) in fitted.overflow.iter().enumerate() {
            let key = format!("{}#{}", intent.key, i + 1);
            self.inner
                .store
                .put_json(
                    SENT,
                    &key,
                    &Sent {
                        message: posted.clone(),
                        thread: None,
                        at: self.inner.clock.now(),
                    },
                    None,
                )
                .await
                .ok();
            self.pace().await;
            self.last_send = Some(Instant::now());
            if let Err(e) = self
                .platform
                .send(&self.channel, continuation.as_ref(), part, &key)
                .await
            {
                warn!(platform = name, key = %key, error = %e, "could not post the rest of a long message");
            }
        }
        Ok(())
    }

    async fn open_thread(&mut self, posted: &MessageRef, title: &str) -> Option<ThreadRef> {
        for attempt in 0..5u32 {
            match self.platform.open_thread(posted, title).await {
                Ok(t) => return Some(t),
                Err(SendError::RateLimited(d)) => self.inner.clock.sleep(d).await,
                Err(SendError::Transient(_)) => {
                    self.inner
                        .clock
                        .sleep(Duration::from_millis(200 << attempt))
                        .await
                }
                Err(SendError::Permanent(reason)) => {
                    warn!(platform = self.platform.name(), %reason, "cannot open a thread; replies go to the channel");
                    return None;
                }
            }
        }
        None
    }

    /// Records the delivery; retried until stored, because a missing record means a resend.
    async fn record(&mut self, intent: &Intent, message: &MessageRef, thread: Option<ThreadRef>) {
        let sent = Sent {
            message: message.clone(),
            thread,
            at: self.inner.clock.now(),
        };
        let mut wait = Duration::from_millis(100);
        loop {
            match self
                .inner
                .store
                .put_json(SENT, &intent.key, &sent, None)
                .await
            {
                Ok(()) => return,
                Err(error) => {
                    warn!(%error, key = %intent.key, "cannot record a delivered message yet");
                    tokio::select! {
                        _ = self.inner.shutdown.cancelled() => return,
                        _ = self.inner.clock.sleep(wait) => {}
                    }
                    wait = (wait * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    async fn edit(
        &mut self,
        intent: &Intent,
        target: &str,
        message: &crate::chat::message::Message,
    ) -> Result<(), SendError> {
        let store = &self.inner.store;
        let sent = match store.get_json::<Sent>(SENT, target).await {
            Ok(Some(s)) => s,
            Ok(None) => {
                if let Ok(Some(_)) = store.get_json::<Dead>(DEAD, target).await {
                    return Err(SendError::Permanent(format!(
                        "{target} was never delivered"
                    )));
                }
                return Err(SendError::Transient(format!(
                    "waiting for {target} to be delivered"
                )));
            }
            Err(e) => return Err(SendError::Transient(e.to_string())),
        };
        let fitted = fit(message, self.platform.limits());
        let name = self.platform.name();
        self.last_send = Some(Instant::now());
        match self.platform.edit(&sent.message, &fitted.message).await {
            Ok(()) => {
                self.inner
                    .metrics
                    .sent
                    .get_or_create(&ChatMetrics::op(name, "edit"))
                    .inc();
                Ok(())
            }
            Err(e) => {
                self.inner
                    .metrics
                    .failed
                    .get_or_create(&ChatMetrics::op(name, "edit"))
                    .inc();
                let _ = intent;
                Err(e)
            }
        }
    }

    async fn dead_letter(&mut self, intent: &Intent, reason: &str) {
        let name = self.platform.name();
        self.inner
            .metrics
            .dead
            .get_or_create(&ChatMetrics::label(name))
            .inc();
        error!(
            platform = name,
            channel = %self.channel,
            key = %intent.key,
            %reason,
            "message cannot be delivered; moved to the dead-letter list (check the channel, the bot's membership and its token)"
        );
        let dead = Dead {
            intent: intent.clone(),
            error: reason.to_string(),
            at: self.inner.clock.now(),
        };
        let _ = self
            .inner
            .store
            .put_json(DEAD, &intent.key, &dead, None)
            .await;
    }

    fn depth_dec(&self) {
        self.inner
            .metrics
            .depth
            .get_or_create(&ChatMetrics::label(self.platform.name()))
            .dec();
    }
}
