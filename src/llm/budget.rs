//! The daily token budget, counted in the state store so every replica draws from one pot.
//!
//! One counter per UTC day (`llm:tokens:2025-06-01`) with a TTL of two days: a new day starts
//! a new counter, and old ones expire by themselves. A call is refused once the day's count
//! has reached the budget; its tokens are added after the reply. Calls running at the same
//! moment can therefore overshoot the budget by what they use; the concurrency limit bounds
//! that. If the store cannot be read the call is refused too (spend is not allowed blind).

use std::time::Duration;

use crate::clock::SharedClock;
use crate::store::{SharedStore, StoreError};

/// Counters outlive their day by a day, so a clock skew between replicas never resets one.
const COUNTER_TTL: Duration = Duration::from_secs(2 * 24 * 3600);

#[derive(Clone)]
pub(super) struct TokenBudget {
    store: SharedStore,
    clock: SharedClock,
    /// Tokens per UTC day; 0: unlimited.
    daily: u64,
}

/// The day's count has reached the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Exhausted {
    pub used: u64,
    pub budget: u64,
}

impl TokenBudget {
    pub fn new(store: SharedStore, clock: SharedClock, daily: u64) -> Self {
        Self {
            store,
            clock,
            daily,
        }
    }

    fn key(&self) -> String {
        format!("llm:tokens:{}", self.clock.now().format("%Y-%m-%d"))
    }

    /// Tokens counted today.
    pub async fn used_today(&self) -> Result<u64, StoreError> {
        let used = self.store.incr(&self.key(), 0, Some(COUNTER_TTL)).await?;
        Ok(used.max(0) as u64)
    }

    /// `Ok(Err)` when today's budget is spent.
    pub async fn check(&self) -> Result<Result<(), Exhausted>, StoreError> {
        if self.daily == 0 {
            return Ok(Ok(()));
        }
        let used = self.used_today().await?;
        if used >= self.daily {
            return Ok(Err(Exhausted {
                used,
                budget: self.daily,
            }));
        }
        Ok(Ok(()))
    }

    /// Adds a reply's tokens to today's count.
    pub async fn spend(&self, tokens: u64) -> Result<(), StoreError> {
        if tokens == 0 {
            return Ok(());
        }
        let by = i64::try_from(tokens).unwrap_or(i64::MAX);
        self.store
            .incr(&self.key(), by, Some(COUNTER_TTL))
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;

    use super::*;
    use crate::clock::ManualClock;
    use crate::store::{MemoryStore, Retention};

    fn budget(daily: u64) -> (TokenBudget, ManualClock) {
        let start = chrono::Utc
            .with_ymd_and_hms(2025, 6, 1, 23, 0, 0)
            .single()
            .expect("a valid time");
        let clock = ManualClock::new(start);
        let retention = Retention {
            records: Duration::from_secs(3600),
            conversation_ttl: Duration::from_secs(3600),
            conversation_max_turns: 10,
            audit_max_len: 10,
        };
        let shared: SharedClock = Arc::new(clock.clone());
        let store = Arc::new(MemoryStore::new(shared.clone(), retention));
        (TokenBudget::new(store, shared, daily), clock)
    }

    #[tokio::test]
    async fn spending_reaches_the_budget_and_the_next_utc_day_starts_afresh() {
        let (b, clock) = budget(1000);
        assert_eq!(b.check().await.unwrap(), Ok(()));
        b.spend(600).await.unwrap();
        assert_eq!(b.check().await.unwrap(), Ok(()));
        b.spend(400).await.unwrap();
        assert_eq!(
            b.check().await.unwrap(),
            Err(Exhausted {
                used: 1000,
                budget: 1000
            })
        );
        clock.advance(Duration::from_secs(3600));
        assert_eq!(b.used_today().await.unwrap(), 0);
        assert_eq!(b.check().await.unwrap(), Ok(()));
    }

    #[tokio::test]
    async fn zero_means_unlimited() {
        let (b, _) = budget(0);
        b.spend(u64::MAX).await.unwrap();
        assert_eq!(b.check().await.unwrap(), Ok(()));
    }
}
