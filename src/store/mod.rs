//! Persistent state behind one trait, so the rest of Lookout never speaks Redis.
//!
//! What the product needs to keep, and share between processes, is small and specific:
//! claim-once keys with a TTL (dedup, "do this once" across replicas), JSON records in named
//! collections (incidents, thread mappings, outbound intents...), append-only timelines, approval
//! records whose decision is set exactly once, conversation memory that expires, counters, and an
//! audit stream capped by length. [`RedisStore`] is the production implementation and
//! [`MemoryStore`] the local one; both pass the same conformance suite (`tests/store.rs`).
//!
//! Values cross the trait as JSON text so the trait stays object-safe; [`StoreExt`] adds typed
//! helpers on top.

mod ext;
mod memory;
mod redis;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use ext::StoreExt;
pub use memory::MemoryStore;
pub use redis::{RedisStore, RedisStoreOptions};

/// Errors from a state store. Callers treat `Unavailable` as transient: keep running, retry
/// later, report not-ready.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend cannot be reached or did not answer in time.
    #[error("state store unavailable: {0}")]
    Unavailable(String),
    /// The backend answered with something Lookout did not write (or an older format).
    #[error("state store holds an unreadable value at {key}: {reason}")]
    Corrupt { key: String, reason: String },
    /// The store cannot be set up as configured (bad URL, unreadable TLS files).
    #[error("state store misconfigured: {0}")]
    Config(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A shared, dynamically chosen store.
pub type SharedStore = std::sync::Arc<dyn StateStore>;

/// An approval request as stored: what is asked, and when it stops being answerable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRecord {
    pub id: String,
    /// The incident it belongs to.
    pub incident_id: String,
    /// The proposal itself (action, parameters, diff, risk...), owned by the approval module.
    pub request: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The one decision an approval gets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub verdict: Verdict,
    /// Who decided (a platform identity such as `slack:U0123`), or `lookout` for expiry.
    pub by: String,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Approved,
    Rejected,
    Expired,
}

/// An approval with its decision, if it has one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredApproval {
    pub record: ApprovalRecord,
    pub decision: Option<Decision>,
}

/// What happened when a decision was offered.
#[derive(Debug, Clone, PartialEq)]
pub enum DecideOutcome {
    /// This call decided it.
    Decided(StoredApproval),
    /// Someone decided first; here is what they decided.
    AlreadyDecided(StoredApproval),
    /// No such approval (never created, or past retention).
    NotFound,
}

/// An entry of the audit stream as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// The stream id; increases with time.
    pub id: String,
    /// The entry as written (JSON).
    pub json: String,
}

/// The state Lookout keeps. All keys are scoped to one cluster by the implementation.
#[async_trait]
pub trait StateStore: Send + Sync + 'static {
    /// Checks the backend answers.
    async fn ping(&self) -> StoreResult<()>;

    // ---- claims: "exactly one of us does this" and dedup keys ----

    /// Claims `key` for `ttl`, recording `holder` (e.g. the incident a dedup key belongs to).
    /// `None` if this call claimed it; otherwise the current holder, unchanged.
    async fn claim_as(&self, key: &str, holder: &str, ttl: Duration)
    -> StoreResult<Option<String>>;
    /// Claims `key` for `ttl`. True if this call claimed it, false if it was already claimed.
    async fn claim(&self, key: &str, ttl: Duration) -> StoreResult<bool> {
        Ok(self.claim_as(key, "1", ttl).await?.is_none())
    }
    /// The holder of a live claim.
    async fn claim_holder(&self, key: &str) -> StoreResult<Option<String>>;
    /// Whether `key` is currently claimed.
    async fn is_claimed(&self, key: &str) -> StoreResult<bool> {
        Ok(self.claim_holder(key).await?.is_some())
    }
    /// Releases a claim (no-op if not claimed), so the next `claim` succeeds at once.
    async fn release(&self, key: &str) -> StoreResult<()>;

    // ---- records: JSON documents in named collections ----

    /// Writes a record; it expires after `ttl` (`None`: the configured retention).
    async fn put(
        &self,
        collection: &str,
        id: &str,
        json: &str,
        ttl: Option<Duration>,
    ) -> StoreResult<()>;
    /// Reads a record.
    async fn get(&self, collection: &str, id: &str) -> StoreResult<Option<String>>;
    /// Deletes a record (no-op if absent).
    async fn delete(&self, collection: &str, id: &str) -> StoreResult<()>;
    /// Ids of the records of a collection that have not expired, sorted.
    async fn list(&self, collection: &str) -> StoreResult<Vec<String>>;

    // ---- counters ----

    /// Adds `by` to a counter and returns the new value. `ttl` (if given) is set when the
    /// counter is created, so rate windows and daily budgets reset by themselves.
    async fn incr(&self, key: &str, by: i64, ttl: Option<Duration>) -> StoreResult<i64>;

    // ---- timelines: append-only, kept for the retention period ----

    /// Appends an entry to a timeline and returns its position (0-based).
    async fn append_timeline(&self, timeline: &str, json: &str) -> StoreResult<u64>;
    /// All entries of a timeline, oldest first.
    async fn timeline(&self, timeline: &str) -> StoreResult<Vec<String>>;

    // ---- approvals: the decision is set exactly once ----

    /// Records a new approval request. Fails with `false` if the id exists already.
    async fn create_approval(&self, record: &ApprovalRecord) -> StoreResult<bool>;
    /// Reads an approval and its decision.
    async fn approval(&self, id: &str) -> StoreResult<Option<StoredApproval>>;
    /// Sets the decision if there is none yet. Exactly one caller ever gets `Decided`, however
    /// many processes race.
    async fn decide(&self, id: &str, decision: &Decision) -> StoreResult<DecideOutcome>;
    /// Adds a distinct approver's vote (for actions needing two approvers) and returns the
    /// voters so far, sorted.
    async fn add_vote(&self, id: &str, voter: &str) -> StoreResult<Vec<String>>;

    // ---- conversations: short-lived memory ----

    /// Appends a turn; keeps the last `max_turns` (configured) and forgets the conversation
    /// after the configured TTL of inactivity.
    async fn append_turn(&self, conversation: &str, json: &str) -> StoreResult<()>;
    /// The remembered turns, oldest first.
    async fn conversation(&self, conversation: &str) -> StoreResult<Vec<String>>;

    // ---- audit ----

    /// Appends to the audit stream, dropping the oldest entries beyond the configured length.
    async fn audit(&self, json: &str) -> StoreResult<String>;
    /// The most recent `count` audit entries, oldest first.
    async fn audit_tail(&self, count: usize) -> StoreResult<Vec<AuditEntry>>;
}

/// Limits every implementation applies.
#[derive(Debug, Clone)]
pub struct Retention {
    /// Records, timelines and approvals expire after this.
    pub records: Duration,
    /// Conversations expire this long after their last turn.
    pub conversation_ttl: Duration,
    /// Turns kept per conversation.
    pub conversation_max_turns: u32,
    /// Cap of the audit stream (entries).
    pub audit_max_len: u64,
}

impl From<&crate::config::StoreConfig> for Retention {
    fn from(c: &crate::config::StoreConfig) -> Self {
        Self {
            records: c.retention,
            conversation_ttl: c.conversation_ttl,
            conversation_max_turns: c.conversation_max_turns,
            audit_max_len: c.audit_max_len,
        }
    }
}
