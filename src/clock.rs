//! Time as a dependency. Every part of Lookout that waits (settle windows, quiet periods,
//! approval expiry, schedules, backoff) reads time through [`Clock`], so tests can run those
//! periods with a [`ManualClock`] they advance by hand instead of waiting. tokio's paused time
//! does not help with real sockets (Redis, the API server), which is why this exists.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use tokio::sync::oneshot;

/// A source of wall-clock time and of sleeps measured against it.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
    /// Completes once `duration` has passed on this clock.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
}

/// Shared handle to a clock.
pub type SharedClock = Arc<dyn Clock>;

/// The real clock: system time and tokio timers.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl SystemClock {
    pub fn shared() -> SharedClock {
        Arc::new(SystemClock)
    }
}

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A clock that only moves when told to. Sleepers wake when [`ManualClock::advance`] passes
/// their deadline.
#[derive(Clone)]
pub struct ManualClock {
    inner: Arc<Mutex<ManualInner>>,
}

struct ManualInner {
    now: DateTime<Utc>,
    next_id: u64,
    sleepers: BTreeMap<(DateTime<Utc>, u64), oneshot::Sender<()>>,
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("now", &self.now())
            .finish()
    }
}

impl ManualClock {
    /// A clock standing still at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            inner: Arc::new(Mutex::new(ManualInner {
                now: start,
                next_id: 0,
                sleepers: BTreeMap::new(),
            })),
        }
    }

    /// Moves time forward and wakes every sleeper whose deadline has passed.
    pub fn advance(&self, by: Duration) {
        let due = {
            let mut inner = self.lock();
            inner.now += chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
            let now = inner.now;
            let later = inner.sleepers.split_off(&(now, u64::MAX));
            std::mem::replace(&mut inner.sleepers, later)
        };
        for (_, waker) in due {
            let _ = waker.send(());
        }
    }

    /// How many sleeps are waiting; lets a test wait until the code under test is parked.
    pub fn pending_sleepers(&self) -> usize {
        self.lock().sleepers.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ManualInner> {
        // A panic while holding this lock leaves only a timestamp and a map behind, both valid.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.lock().now
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        let (tx, rx) = oneshot::channel();
        {
            let mut inner = self.lock();
            if duration.is_zero() {
                return Box::pin(async {});
            }
            let deadline =
                inner.now + chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX);
            let id = inner.next_id;
            inner.next_id += 1;
            inner.sleepers.insert((deadline, id), tx);
        }
        Box::pin(async move {
            // A dropped clock never wakes the sleeper: the sleep then lasts forever, as it would
            // on a clock that never advances.
            if rx.await.is_err() {
                futures::future::pending::<()>().await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn manual_clock_wakes_sleepers_in_order_of_deadline() {
        let clock = ManualClock::new(DateTime::from_timestamp(1_700_000_000, 0).unwrap());
        let short = tokio::spawn(clock.sleep(Duration::from_secs(5)));
        let long = tokio::spawn(clock.sleep(Duration::from_secs(60)));
        tokio::task::yield_now().await;
        assert_eq!(clock.pending_sleepers(), 2);

        clock.advance(Duration::from_secs(10));
        short.await.unwrap();
        assert!(!long.is_finished());
        assert_eq!(clock.pending_sleepers(), 1);

        clock.advance(Duration::from_secs(50));
        long.await.unwrap();
        assert_eq!(
            clock.now(),
            DateTime::from_timestamp(1_700_000_060, 0).unwrap()
        );
    }

    #[tokio::test]
    async fn zero_sleep_completes_at_once() {
        let clock = ManualClock::new(Utc::now());
        clock.sleep(Duration::ZERO).await;
        assert_eq!(clock.pending_sleepers(), 0);
    }
}
