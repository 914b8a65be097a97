//! Per-person and per-channel limits on answers from the model: fixed windows counted in the
//! store, so every replica shares them and a restart does not reset them. A refused question
//! gives its count back, so asking while refused does not extend the wait.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::config::RateLimit;
use crate::chat::Inbound;
use crate::clock::SharedClock;
use crate::store::SharedStore;

/// Which limit refused a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    User,
    Channel,
}

/// Whether a question may be answered by the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    Allowed,
    Refused {
        scope: Scope,
        limit: RateLimit,
        /// Until the window turns.
        retry_in: Duration,
    },
    /// The counters cannot be read (the store is down): refused, since the model's budget
    /// cannot be checked either.
    Unavailable(String),
}

pub struct RateLimiter {
    pub store: SharedStore,
    pub clock: SharedClock,
    pub per_user: RateLimit,
    pub per_channel: RateLimit,
}

impl RateLimiter {
    /// Counts the question against both limits, or refuses it.
    pub async fn admit(&self, m: &Inbound) -> Admission {
        let now = self.clock.now();
        let user = format!("user:{}:{}", m.platform, m.user.id);
        let channel = format!("channel:{}:{}", m.platform, m.channel);
        let mut counted: Vec<String> = Vec::new();
        for (scope, limit, who) in [
            (Scope::User, self.per_user, user),
            (Scope::Channel, self.per_channel, channel),
        ] {
            if limit.max == 0 {
                continue;
            }
            let (index, retry_in) = window(now, limit.per);
            let key = format!("conv-rate:{who}:{index}");
            let count = match self.store.incr(&key, 1, Some(limit.per)).await {
                Ok(n) => n,
                Err(e) => {
                    self.give_back(&counted).await;
                    return Admission::Unavailable(e.to_string());
                }
            };
            counted.push(key);
            if count > i64::from(limit.max) {
                self.give_back(&counted).await;
                return Admission::Refused {
                    scope,
                    limit,
                    retry_in,
                };
            }
        }
        Admission::Allowed
    }

    async fn give_back(&self, keys: &[String]) {
        for key in keys {
            if let Err(error) = self.store.incr(key, -1, None).await {
                tracing::debug!(%error, key, "could not give a rate count back");
            }
        }
    }
}

/// The fixed window `now` falls in (its index since the epoch) and the time until it ends.
pub fn window(now: DateTime<Utc>, per: Duration) -> (i64, Duration) {
    let per_ms = per.as_millis().max(1) as i64;
    let ms = now.timestamp_millis();
    let index = ms.div_euclid(per_ms);
    let left = (index + 1) * per_ms - ms;
    (index, Duration::from_millis(left as u64))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::chat::{ChatUser, MessageRef};
    use crate::clock::ManualClock;
    use crate::store::{MemoryStore, Retention};

    fn question(user: &str, channel: &str) -> Inbound {
        Inbound {
            platform: "slack".into(),
            channel: channel.into(),
            thread: None,
            message: MessageRef {
                platform: "slack".into(),
                channel: channel.into(),
                id: "1".into(),
            },
            user: ChatUser {
                platform: "slack".into(),
                id: user.into(),
                name: None,
                groups: vec![],
            },
            text: "why?".into(),
            mentioned: true,
        }
    }

    fn limiter(clock: &ManualClock, user: u32, channel: u32) -> RateLimiter {
        let shared: SharedClock = Arc::new(clock.clone());
        let store = Arc::new(MemoryStore::new(
            shared.clone(),
            Retention {
                records: Duration::from_secs(3600),
                conversation_ttl: Duration::from_secs(3600),
                conversation_max_turns: 10,
                audit_max_len: 10,
            },
        ));
        RateLimiter {
            store,
            clock: shared,
            per_user: RateLimit {
                max: user,
                per: Duration::from_secs(3600),
            },
            per_channel: RateLimit {
                max: channel,
                per: Duration::from_secs(3600),
            },
        }
    }

    fn start() -> ManualClock {
        ManualClock::new("2024-05-01T10:15:00Z".parse().unwrap())
    }

    #[test]
    fn windows_are_aligned_and_say_how_long_is_left() {
        let now: DateTime<Utc> = "2024-05-01T10:15:00Z".parse().unwrap();
        let (i, left) = window(now, Duration::from_secs(3600));
        assert_eq!(left, Duration::from_secs(45 * 60));
        let (j, _) = window(
            now + chrono::Duration::minutes(44),
            Duration::from_secs(3600),
        );
        assert_eq!(i, j);
        let (k, left) = window(
            now + chrono::Duration::minutes(45),
            Duration::from_secs(3600),
        );
        assert_eq!((k, left), (i + 1, Duration::from_secs(3600)));
    }

    #[tokio::test]
    async fn a_person_over_the_limit_is_refused_until_the_window_turns() {
        let clock = start();
        let l = limiter(&clock, 2, 0);
        let q = question("U1", "C1");
        assert_eq!(l.admit(&q).await, Admission::Allowed);
        assert_eq!(l.admit(&q).await, Admission::Allowed);
        let Admission::Refused {
            scope, retry_in, ..
        } = l.admit(&q).await
        else {
            panic!("the third question in the hour is refused")
        };
        assert_eq!(scope, Scope::User);
        assert_eq!(retry_in, Duration::from_secs(45 * 60));
        // Someone else in the same channel is not affected.
        assert_eq!(l.admit(&question("U2", "C1")).await, Admission::Allowed);
        // Asking while refused does not use up the next window.
        assert!(matches!(l.admit(&q).await, Admission::Refused { .. }));
        clock.advance(Duration::from_secs(45 * 60));
        assert_eq!(l.admit(&q).await, Admission::Allowed);
    }

    #[tokio::test]
    async fn a_busy_channel_is_refused_and_the_person_keeps_their_count() {
        let clock = start();
        let l = limiter(&clock, 2, 2);
        assert_eq!(l.admit(&question("U1", "C1")).await, Admission::Allowed);
        assert_eq!(l.admit(&question("U2", "C1")).await, Admission::Allowed);
        assert!(matches!(
            l.admit(&question("U3", "C1")).await,
            Admission::Refused {
                scope: Scope::Channel,
                ..
            }
        ));
        // U3's refused question did not count: two more answers elsewhere.
        assert_eq!(l.admit(&question("U3", "C2")).await, Admission::Allowed);
        assert_eq!(l.admit(&question("U3", "C2")).await, Admission::Allowed);
    }
}
