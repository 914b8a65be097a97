//! The in-memory store: for local runs, the demo and unit tests. Same semantics as Redis,
//! including expiry, measured on the injected clock.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::*;
use crate::clock::SharedClock;

/// A [`StateStore`] in process memory.
pub struct MemoryStore {
    clock: SharedClock,
    retention: Retention,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    claims: HashMap<String, Expiring<String>>,
    records: HashMap<(String, String), Expiring<String>>,
    counters: HashMap<String, Expiring<i64>>,
    timelines: HashMap<String, Expiring<Vec<String>>>,
    approvals: HashMap<String, Expiring<StoredApproval>>,
    votes: HashMap<String, Expiring<BTreeSet<String>>>,
    conversations: HashMap<String, Expiring<VecDeque<String>>>,
    audit: VecDeque<AuditEntry>,
    audit_seq: u64,
}

struct Expiring<T> {
    value: T,
    until: Option<DateTime<Utc>>,
}

impl<T> Expiring<T> {
    fn live(&self, now: DateTime<Utc>) -> bool {
        self.until.is_none_or(|u| u > now)
    }
}

impl MemoryStore {
    pub fn new(clock: SharedClock, retention: Retention) -> Self {
        Self {
            clock,
            retention,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Every mutation below leaves the maps consistent before it could panic.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn deadline(&self, ttl: Duration) -> DateTime<Utc> {
        self.clock.now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX)
    }
}

/// Looks up a live entry, dropping it if it expired.
fn live<'a, K: std::hash::Hash + Eq, T>(
    map: &'a mut HashMap<K, Expiring<T>>,
    key: &K,
    now: DateTime<Utc>,
) -> Option<&'a mut Expiring<T>> {
    if map.get(key).is_some_and(|e| !e.live(now)) {
        map.remove(key);
    }
    map.get_mut(key)
}

#[async_trait]
impl StateStore for MemoryStore {
    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }

    async fn claim_as(
        &self,
        key: &str,
        holder: &str,
        ttl: Duration,
    ) -> StoreResult<Option<String>> {
        let now = self.clock.now();
        let until = Some(self.deadline(ttl));
        let mut s = self.lock();
        if let Some(held) = live(&mut s.claims, &key.to_string(), now) {
            return Ok(Some(held.value.clone()));
        }
        s.claims.insert(
            key.to_string(),
            Expiring {
                value: holder.to_string(),
                until,
            },
        );
        Ok(None)
    }

    async fn claim_holder(&self, key: &str) -> StoreResult<Option<String>> {
        let now = self.clock.now();
        let mut s = self.lock();
        Ok(live(&mut s.claims, &key.to_string(), now).map(|e| e.value.clone()))
    }

    async fn release(&self, key: &str) -> StoreResult<()> {
        self.lock().claims.remove(key);
        Ok(())
    }

    async fn put(
        &self,
        collection: &str,
        id: &str,
        json: &str,
        ttl: Option<Duration>,
    ) -> StoreResult<()> {
        let until = Some(self.deadline(ttl.unwrap_or(self.retention.records)));
        self.lock().records.insert(
            (collection.to_string(), id.to_string()),
            Expiring {
                value: json.to_string(),
                until,
            },
        );
        Ok(())
    }

    async fn get(&self, collection: &str, id: &str) -> StoreResult<Option<String>> {
        let now = self.clock.now();
        let mut s = self.lock();
        let key = (collection.to_string(), id.to_string());
        Ok(live(&mut s.records, &key, now).map(|e| e.value.clone()))
    }

    async fn delete(&self, collection: &str, id: &str) -> StoreResult<()> {
        self.lock()
            .records
            .remove(&(collection.to_string(), id.to_string()));
        Ok(())
    }

    async fn list(&self, collection: &str) -> StoreResult<Vec<String>> {
        let now = self.clock.now();
        let mut s = self.lock();
        s.records.retain(|_, e| e.live(now));
        let mut ids: Vec<String> = s
            .records
            .keys()
            .filter(|(c, _)| c == collection)
            .map(|(_, id)| id.clone())
            .collect();
        ids.sort();
        Ok(ids)
    }

    async fn incr(&self, key: &str, by: i64, ttl: Option<Duration>) -> StoreResult<i64> {
        let now = self.clock.now();
        let until = ttl.map(|t| self.deadline(t));
        let mut s = self.lock();
        let key = key.to_string();
        if live(&mut s.counters, &key, now).is_none() {
            s.counters.insert(key.clone(), Expiring { value: 0, until });
        }
        let entry = s.counters.get_mut(&key).expect("inserted above");
        entry.value += by;
        Ok(entry.value)
    }

    async fn append_timeline(&self, timeline: &str, json: &str) -> StoreResult<u64> {
        let now = self.clock.now();
        let until = Some(self.deadline(self.retention.records));
        let mut s = self.lock();
        let key = timeline.to_string();
        if live(&mut s.timelines, &key, now).is_none() {
            s.timelines.insert(
                key.clone(),
                Expiring {
                    value: Vec::new(),
                    until,
                },
            );
        }
        let entry = s.timelines.get_mut(&key).expect("inserted above");
        entry.value.push(json.to_string());
        entry.until = until;
        Ok(entry.value.len() as u64 - 1)
    }

    async fn timeline(&self, timeline: &str) -> StoreResult<Vec<String>> {
        let now = self.clock.now();
        let mut s = self.lock();
        Ok(live(&mut s.timelines, &timeline.to_string(), now)
            .map(|e| e.value.clone())
            .unwrap_or_default())
    }

    async fn create_approval(&self, record: &ApprovalRecord) -> StoreResult<bool> {
        let now = self.clock.now();
        let until = Some(self.deadline(self.retention.records));
        let mut s = self.lock();
        if live(&mut s.approvals, &record.id, now).is_some() {
            return Ok(false);
        }
        s.approvals.insert(
            record.id.clone(),
            Expiring {
                value: StoredApproval {
                    record: record.clone(),
                    decision: None,
                },
                until,
            },
        );
        Ok(true)
    }

    async fn approval(&self, id: &str) -> StoreResult<Option<StoredApproval>> {
        let now = self.clock.now();
        let mut s = self.lock();
        Ok(live(&mut s.approvals, &id.to_string(), now).map(|e| e.value.clone()))
    }

    async fn decide(&self, id: &str, decision: &Decision) -> StoreResult<DecideOutcome> {
        let now = self.clock.now();
        let mut s = self.lock();
        let Some(entry) = live(&mut s.approvals, &id.to_string(), now) else {
            return Ok(DecideOutcome::NotFound);
        };
        if entry.value.decision.is_some() {
            return Ok(DecideOutcome::AlreadyDecided(entry.value.clone()));
        }
        entry.value.decision = Some(decision.clone());
        Ok(DecideOutcome::Decided(entry.value.clone()))
    }

    async fn add_vote(&self, id: &str, voter: &str) -> StoreResult<Vec<String>> {
        let now = self.clock.now();
        let until = Some(self.deadline(self.retention.records));
        let mut s = self.lock();
        let key = id.to_string();
        if live(&mut s.votes, &key, now).is_none() {
            s.votes.insert(
                key.clone(),
                Expiring {
                    value: BTreeSet::new(),
                    until,
                },
            );
        }
        let entry = s.votes.get_mut(&key).expect("inserted above");
        entry.value.insert(voter.to_string());
        entry.until = until;
        Ok(entry.value.iter().cloned().collect())
    }

    async fn append_turn(&self, conversation: &str, json: &str) -> StoreResult<()> {
        let now = self.clock.now();
        let until = Some(self.deadline(self.retention.conversation_ttl));
        let max = self.retention.conversation_max_turns as usize;
        let mut s = self.lock();
        let key = conversation.to_string();
        if live(&mut s.conversations, &key, now).is_none() {
            s.conversations.insert(
                key.clone(),
                Expiring {
                    value: VecDeque::new(),
                    until,
                },
            );
        }
        let entry = s.conversations.get_mut(&key).expect("inserted above");
        entry.value.push_back(json.to_string());
        while entry.value.len() > max {
            entry.value.pop_front();
        }
        entry.until = until;
        Ok(())
    }

    async fn conversation(&self, conversation: &str) -> StoreResult<Vec<String>> {
        let now = self.clock.now();
        let mut s = self.lock();
        Ok(live(&mut s.conversations, &conversation.to_string(), now)
            .map(|e| e.value.iter().cloned().collect())
            .unwrap_or_default())
    }

    async fn audit(&self, json: &str) -> StoreResult<String> {
        let ms = self.clock.now().timestamp_millis();
        let mut s = self.lock();
        s.audit_seq += 1;
        let id = format!("{ms}-{}", s.audit_seq);
        s.audit.push_back(AuditEntry {
            id: id.clone(),
            json: json.to_string(),
        });
        while s.audit.len() as u64 > self.retention.audit_max_len {
            s.audit.pop_front();
        }
        Ok(id)
    }

    async fn audit_tail(&self, count: usize) -> StoreResult<Vec<AuditEntry>> {
        let s = self.lock();
        let skip = s.audit.len().saturating_sub(count);
        Ok(s.audit.iter().skip(skip).cloned().collect())
    }
}
