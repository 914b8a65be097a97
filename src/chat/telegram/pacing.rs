//! Telegram's limit on groups: about 20 messages a minute to one group, on top of the one
//! message a second to any chat that the outbound queue's per-chat pacing (`Limits`)
//! already keeps. The window is counted here, per group, over the messages Lookout posts; a
//! post that would exceed it is refused with the wait, as a 429 would be, so the queue waits it
//! out (and can still stop at shutdown) instead of Telegram refusing it.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// A sliding window of posts per group.
pub struct GroupWindow {
    limit: usize,
    window: Duration,
    sent: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl GroupWindow {
    pub fn new(limit: usize, window: Duration) -> Self {
        Self {
            limit: limit.max(1),
            window,
            sent: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a slot for a post to `chat`, or says how long until one frees up. Private chats
    /// (positive ids) are not limited this way.
    pub fn try_acquire(&self, chat: &str) -> Result<(), Duration> {
        if !is_group(chat) {
            return Ok(());
        }
        let now = Instant::now();
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        let times = sent.entry(chat.to_string()).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            times.pop_front();
        }
        if times.len() >= self.limit {
            let oldest = *times.front().expect("len >= limit >= 1");
            return Err((oldest + self.window).saturating_duration_since(now));
        }
        times.push_back(now);
        Ok(())
    }

    /// Moves the latest slot of `chat` to now, once Telegram has answered the post: Telegram
    /// counts the message when it arrives, after the slot was taken, so counting from the
    /// answer keeps the window on the safe side of Telegram's.
    pub fn sent(&self, chat: &str) {
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(last) = sent.get_mut(chat).and_then(|t| t.back_mut()) {
            *last = Instant::now();
        }
    }
}

/// Groups, supergroups and channels have negative ids (or are named `@channel`).
fn is_group(chat: &str) -> bool {
    chat.starts_with('-') || chat.starts_with('@')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_group_gets_its_limit_per_window_and_private_chats_are_free() {
        let w = GroupWindow::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert_eq!(w.try_acquire("-100123"), Ok(()));
        }
        tokio::time::advance(Duration::from_secs(20)).await;
        assert_eq!(w.try_acquire("-100123"), Err(Duration::from_secs(40)));
        assert_eq!(
            w.try_acquire("-100999"),
            Ok(()),
            "another group has its own window"
        );
        for _ in 0..10 {
            assert_eq!(w.try_acquire("12345"), Ok(()));
        }
        tokio::time::advance(Duration::from_secs(40)).await;
        assert_eq!(w.try_acquire("-100123"), Ok(()));
        // Counted from Telegram's answer: a slow post pushes the next free slot back.
        tokio::time::advance(Duration::from_secs(5)).await;
        w.sent("-100123");
        assert_eq!(w.try_acquire("-100123"), Ok(()));
        assert_eq!(w.try_acquire("-100123"), Ok(()));
        assert_eq!(
            w.try_acquire("-100123"),
            Err(Duration::from_secs(60)),
            "not 55"
        );
    }
}
