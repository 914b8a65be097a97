//! The Redis store: shared by every replica, survives restarts.
//!
//! Keys are `lookout:<cluster>:<kind>:...`, so several clusters can share one Redis. Multi-step
//! writes are MULTI/EXEC transactions or Lua scripts, so a crash or a concurrent process never
//! sees half an operation. TTLs are Redis's own (wall time).
//!
//! The connection is lazy and self-healing: the process starts whether or not Redis is up,
//! every operation fails fast with [`StoreError::Unavailable`] while it is down (counted in
//! `lookout_redis_errors_total`), and the next operation after it returns reconnects.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{ErrorKind, RedisError, Script};
use async_trait::async_trait;
use chrono::Utc;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use super::ext::from_json;
use super::*;
use crate::config::RedisConfig;

/// Everything needed to open a [`RedisStore`].
#[derive(Debug, Clone)]
pub struct RedisStoreOptions {
    pub redis: RedisConfig,
    /// Cluster name: the key prefix.
    pub cluster: String,
    pub retention: Retention,
}

/// A [`StateStore`] on Redis.
pub struct RedisStore {
    prefix: String,
    retention: Retention,
    client: ::redis::Client,
    manager_config: ConnectionManagerConfig,
    conn: RwLock<ConnectionManager>,
    errors: Family<OperationLabel, Counter>,
    decide_script: Arc<Script>,
    incr_script: Arc<Script>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation: &'static str,
}

/// Sets the decision only on an approval that exists and has none; returns
/// `{status, record, decision}` where status 0 = missing, 1 = decided now, 2 = decided before.
const DECIDE_LUA: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
local set = redis.call('HSETNX', KEYS[1], 'decision', ARGV[1])
local vals = redis.call('HMGET', KEYS[1], 'record', 'decision')
if set == 1 then return {1, vals[1], vals[2]} end
return {2, vals[1], vals[2]}
"#;

/// Creates the counter with its TTL if absent, then increments it.
const INCR_LUA: &str = r#"
if tonumber(ARGV[2]) > 0 then redis.call('SET', KEYS[1], 0, 'PX', ARGV[2], 'NX') end
return redis.call('INCRBY', KEYS[1], ARGV[1])
"#;

impl RedisStore {
    /// Prepares the store. Does not connect: an unreachable Redis is not an error here (the bot
    /// starts and reports not-ready); a malformed URL or unreadable TLS file is.
    pub fn new(options: RedisStoreOptions, registry: &mut Registry) -> StoreResult<Self> {
        let client = build_client(&options.redis)?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.redis.connect_timeout))
            .set_response_timeout(Some(options.redis.response_timeout))
            // One attempt per operation: while Redis is down, callers fail fast and the health
            // monitor's backoff paces reconnection attempts.
            .set_number_of_retries(0);
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), manager_config.clone())
            .map_err(|e| StoreError::Config(e.to_string()))?;
        let errors = Family::<OperationLabel, Counter>::default();
        registry.register(
            "lookout_redis_errors",
            "Redis operations that failed, by operation",
            errors.clone(),
        );
        Ok(Self {
            prefix: format!("lookout:{}:", options.cluster),
            retention: options.retention,
            client,
            manager_config,
            conn: RwLock::new(conn),
            errors,
            decide_script: Arc::new(Script::new(DECIDE_LUA)),
            incr_script: Arc::new(Script::new(INCR_LUA)),
        })
    }

    fn key(&self, parts: &[&str]) -> String {
        let mut k = self.prefix.clone();
        k.push_str(&parts.join(":"));
        k
    }

    fn conn(&self) -> ConnectionManager {
        // The lock guards a cheap handle swap; a poisoned lock still holds a usable handle.
        self.conn.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Maps a Redis error to a store error, counts it, and replaces a connection that cannot
    /// recover by itself (the manager only reconnects after I/O errors; an authentication
    /// failure would otherwise stick until restart).
    fn fail(&self, operation: &'static str, key: &str, e: RedisError) -> StoreError {
        self.errors
            .get_or_create(&OperationLabel { operation })
            .inc();
        match e.kind() {
            ErrorKind::UnexpectedReturnType | ErrorKind::Parse => StoreError::Corrupt {
                key: key.to_string(),
                reason: e.to_string(),
            },
            ErrorKind::Server(::redis::ServerErrorKind::ResponseError) => StoreError::Corrupt {
                key: key.to_string(),
                reason: e.to_string(),
            },
            kind => {
                if kind != ErrorKind::Io
                    && let Ok(fresh) = ConnectionManager::new_lazy_with_config(
                        self.client.clone(),
                        self.manager_config.clone(),
                    )
                {
                    *self.conn.write().unwrap_or_else(|p| p.into_inner()) = fresh;
                }
                StoreError::Unavailable(e.to_string())
            }
        }
    }

    fn ms(d: Duration) -> u64 {
        // Redis rejects a PX of 0; anything shorter than a millisecond is a millisecond.
        (d.as_millis() as u64).max(1)
    }
}

fn build_client(cfg: &RedisConfig) -> StoreResult<::redis::Client> {
    let url = cfg.url.expose();
    let read = |p: &std::path::Path| {
        std::fs::read(p).map_err(|e| StoreError::Config(format!("{}: {e}", p.display())))
    };
    let uses_files = cfg.tls_ca_file.is_some() || cfg.tls_client_cert_file.is_some();
    let result = if uses_files {
        let client_tls = match (&cfg.tls_client_cert_file, &cfg.tls_client_key_file) {
            (Some(cert), Some(key)) => Some(::redis::ClientTlsConfig {
                client_cert: read(cert)?,
                client_key: read(key)?,
            }),
            _ => None,
        };
        let root_cert = cfg.tls_ca_file.as_deref().map(read).transpose()?;
        ::redis::Client::build_with_tls(
            url,
            ::redis::TlsCertificates {
                client_tls,
                root_cert,
            },
        )
    } else {
        ::redis::Client::open(url)
    };
    result.map_err(|e| StoreError::Config(format!("redis.url ({}): {e}", cfg.url.masked())))
}

#[async_trait]
impl StateStore for RedisStore {
    async fn ping(&self) -> StoreResult<()> {
        ::redis::cmd("PING")
            .query_async::<String>(&mut self.conn())
            .await
            .map(drop)
            .map_err(|e| self.fail("ping", "PING", e))
    }

    async fn claim_as(
        &self,
        key: &str,
        holder: &str,
        ttl: Duration,
    ) -> StoreResult<Option<String>> {
        let k = self.key(&["claim", key]);
        let (set, current): (Option<String>, Option<String>) = ::redis::pipe()
            .atomic()
            .cmd("SET")
            .arg(&k)
            .arg(holder)
            .arg("NX")
            .arg("PX")
            .arg(Self::ms(ttl))
            .cmd("GET")
            .arg(&k)
            .query_async(&mut self.conn())
            .await
            .map_err(|e| self.fail("claim", &k, e))?;
        Ok(match set {
            Some(_) => None,
            // Nothing runs between SET NX and GET inside MULTI/EXEC, so GET sees the holder
            // that made the SET fail.
            None => Some(current.unwrap_or_default()),
        })
    }

    async fn claim_holder(&self, key: &str) -> StoreResult<Option<String>> {
        let k = self.key(&["claim", key]);
        ::redis::cmd("GET")
            .arg(&k)
            .query_async(&mut self.conn())
            .await
            .map_err(|e| self.fail("claim_holder", &k, e))
    }

    async fn release(&self, key: &str) -> StoreResult<()> {
        let k = self.key(&["claim", key]);
        ::redis::cmd("DEL")
            .arg(&k)
            .query_async::<()>(&mut self.conn())
            .await
            .map_err(|e| self.fail("release", &k, e))
    }

    async fn put(
        &self,
        collection: &str,
        id: &str,
        json: &str,
        ttl: Option<Duration>,
    ) -> StoreResult<()> {
        let k = self.key(&["rec", collection, id]);
        let index = self.key(&["idx", collection]);
        let ttl = ttl.unwrap_or(self.retention.records);
        let expires_ms = Utc::now().timestamp_millis() as u64 + Self::ms(ttl);
        ::redis::pipe()
            .atomic()
            .cmd("SET")
            .arg(&k)
            .arg(json)
            .arg("PX")
            .arg(Self::ms(ttl))
            .ignore()
            .cmd("ZADD")
            .arg(&index)
            .arg(expires_ms)
            .arg(id)
            .ignore()
            .query_async::<()>(&mut self.conn())
            .await
            .map_err(|e| self.fail("put", &k, e))
    }

    async fn get(&self, collection: &str, id: &str) -> StoreResult<Option<String>> {
        let k = self.key(&["rec", collection, id]);
        ::redis::cmd("GET")
            .arg(&k)
            .query_async(&mut self.conn())
            .await
            .map_err(|e| self.fail("get", &k, e))
    }

    async fn delete(&self, collection: &str, id: &str) -> StoreResult<()> {
        let k = self.key(&["rec", collection, id]);
        let index = self.key(&["idx", collection]);
        ::redis::pipe()
            .atomic()
            .cmd("DEL")
            .arg(&k)
            .ignore()
            .cmd("ZREM")
            .arg(&index)
            .arg(id)
            .ignore()
            .query_async::<()>(&mut self.conn())
            .await
            .map_err(|e| self.fail("delete", &k, e))
    }

    async fn list(&self, collection: &str) -> StoreResult<Vec<String>> {
        let index = self.key(&["idx", collection]);
        let now_ms = Utc::now().timestamp_millis();
        // The index is scored by expiry time: prune what expired, return the rest.
        let (mut ids,): (Vec<String>,) = ::redis::pipe()
            .atomic()
            .cmd("ZREMRANGEBYSCORE")
            .arg(&index)
            .arg("-inf")
            .arg(now_ms)
            .ignore()
            .cmd("ZRANGE")
            .arg(&index)
            .arg(0)
            .arg(-1)
            .query_async(&mut self.conn())
            .await
            .map_err(|e| self.fail("list", &index, e))?;
        ids.sort();
        Ok(ids)
    }

    async fn incr(&self, key: &str, by: i64, ttl: Option<Duration>) -> StoreResult<i64> {
        let k = self.key(&["ctr", key]);
        let ttl_ms = ttl.map(Self::ms).unwrap_or(0);
        self.incr_script
            .key(&k)
            .arg(by)
            .arg(ttl_ms)
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| self.fail("incr", &k, e))
    }

    async fn append_timeline(&self, timeline: &str, json: &str) -> StoreResult<u64> {
        let k = self.key(&["tl", timeline]);
        let (len,): (u64,) = ::redis::pipe()
            .atomic()
            .cmd("RPUSH")
            .arg(&k)
            .arg(json)
            .cmd("PEXPIRE")
            .arg(&k)
            .arg(Self::ms(self.retention.records))
            .ignore()
            .query_async(&mut self.conn())
            .await
            .map_err(|e| self.fail("append_timeline", &k, e))?;
        Ok(len - 1)
    }

    async fn timeline(&self, timeline: &str) -> StoreResult<Vec<String>> {
        let k = self.key(&["tl", timeline]);
        ::redis::cmd("LRANGE")
            .arg(&k)
            .arg(0)
            .arg(-1)
            .query_async(&mut self.conn())
            .await
            .map_err(|e| self.fail("timeline", &k, e))
    }

    async fn create_approval(&self, record: &ApprovalRecord) -> StoreResult<bool> {
        let k = self.key(&["approval", &record.id]);
        let json = serde_json::to_string(record).map_err(|e| StoreError::Corrupt {
            key: k.clone(),
            reason: e.to_string(),
        })?;
        let (created,): (bool,) = ::redis::pipe()
            .atomic()
            .cmd("HSETNX")
            .arg(&k)
            .arg("record")
            .arg(json)
            .cmd("PEXPIRE")
            .arg(&k)
            .arg(Self::ms(self.retention.records))
            .ignore()
            .query_async(&mut self.conn())
            .await
            .map_err(|e| self.fail("create_approval", &k, e))?;
        Ok(created)
    }

    async fn approval(&self, id: &str) -> StoreResult<Option<StoredApproval>> {
        let k = self.key(&["approval", id]);
        let (record, decision): (Option<String>, Option<String>) = ::redis::cmd("HMGET")
            .arg(&k)
            .arg("record")
            .arg("decision")
            .query_async(&mut self.conn())
            .await
            .map_err(|e| self.fail("approval", &k, e))?;
        let Some(record) = record else {
            return Ok(None);
        };
        Ok(Some(StoredApproval {
            record: from_json(&k, &record)?,
            decision: decision.map(|d| from_json(&k, &d)).transpose()?,
        }))
    }

    async fn decide(&self, id: &str, decision: &Decision) -> StoreResult<DecideOutcome> {
        let k = self.key(&["approval", id]);
        let json = serde_json::to_string(decision).map_err(|e| StoreError::Corrupt {
            key: k.clone(),
            reason: e.to_string(),
        })?;
        let reply: Vec<::redis::Value> = self
            .decide_script
            .key(&k)
            .arg(json)
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| self.fail("decide", &k, e))?;
        let text = |v: &::redis::Value| -> StoreResult<String> {
            ::redis::from_redis_value_ref::<String>(v).map_err(|e| StoreError::Corrupt {
                key: k.clone(),
                reason: e.to_string(),
            })
        };
        let status = reply
            .first()
            .and_then(|v| ::redis::from_redis_value_ref::<i64>(v).ok())
            .unwrap_or(0);
        if status == 0 || reply.len() < 3 {
            return Ok(DecideOutcome::NotFound);
        }
        let stored = StoredApproval {
            record: from_json(&k, &text(&reply[1])?)?,
            decision: Some(from_json(&k, &text(&reply[2])?)?),
        };
        Ok(if status == 1 {
            DecideOutcome::Decided(stored)
        } else {
            DecideOutcome::AlreadyDecided(stored)
        })
    }

    async fn add_vote(&self, id: &str, voter: &str) -> StoreResult<Vec<String>> {
        let k = self.key(&["approval", id, "votes"]);
        let (mut voters,): (Vec<String>,) = ::redis::pipe()
            .atomic()
            .cmd("SADD")
            .arg(&k)
            .arg(voter)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&k)
            .arg(Self::ms(self.retention.records))
            .ignore()
            .cmd("SMEMBERS")
            .arg(&k)
            .query_async(&mut self.conn())
            .await
            .map_err(|e| self.fail("add_vote", &k, e))?;
        voters.sort();
        Ok(voters)
    }

    async fn append_turn(&self, conversation: &str, json: &str) -> StoreResult<()> {
        let k = self.key(&["conv", conversation]);
        let keep = i64::from(self.retention.conversation_max_turns);
        ::redis::pipe()
            .atomic()
            .cmd("RPUSH")
            .arg(&k)
            .arg(json)
            .ignore()
            .cmd("LTRIM")
            .arg(&k)
            .arg(-keep)
            .arg(-1)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&k)
            .arg(Self::ms(self.retention.conversation_ttl))
            .ignore()
            .query_async::<()>(&mut self.conn())
            .await
            .map_err(|e| self.fail("append_turn", &k, e))
    }

    async fn conversation(&self, conversation: &str) -> StoreResult<Vec<String>> {
        let k = self.key(&["conv", conversation]);
        ::redis::cmd("LRANGE")
            .arg(&k)
            .arg(0)
            .arg(-1)
            .query_async(&mut self.conn())
            .await
            .map_err(|e| self.fail("conversation", &k, e))
    }

    async fn audit(&self, json: &str) -> StoreResult<String> {
        let k = self.key(&["audit"]);
        ::redis::cmd("XADD")
            .arg(&k)
            // Exact trimming: the audit stream is low-volume, and "capped at N" should mean N.
            .arg("MAXLEN")
            .arg(self.retention.audit_max_len)
            .arg("*")
            .arg("entry")
            .arg(json)
            .query_async(&mut self.conn())
            .await
            .map_err(|e| self.fail("audit", &k, e))
    }

    async fn audit_tail(&self, count: usize) -> StoreResult<Vec<AuditEntry>> {
        let k = self.key(&["audit"]);
        let reply: ::redis::streams::StreamRangeReply = ::redis::cmd("XREVRANGE")
            .arg(&k)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(count)
            .query_async(&mut self.conn())
            .await
            .map_err(|e| self.fail("audit_tail", &k, e))?;
        let mut entries = reply
            .ids
            .into_iter()
            .map(|entry| {
                let json = entry
                    .get::<String>("entry")
                    .ok_or_else(|| StoreError::Corrupt {
                        key: format!("{k} {}", entry.id),
                        reason: "audit entry without an `entry` field".into(),
                    })?;
                Ok(AuditEntry { id: entry.id, json })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        entries.reverse();
        Ok(entries)
    }
}
