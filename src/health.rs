//! Dependency health behind `/readyz`: Redis (the state store) and the Kubernetes API server.
//!
//! Each dependency is probed in its own task. While it answers, it is checked every
//! `health.check_interval`; while it does not, checks back off exponentially up to
//! `health.max_backoff`, and the failure is logged when it starts, then at most once per
//! `max_backoff`, and its recovery once. Probing the store also drives its reconnection.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::clock::SharedClock;
use crate::config::HealthConfig;
use crate::store::SharedStore;

/// Something `/readyz` depends on.
#[async_trait]
pub trait Probe: Send + Sync + 'static {
    /// Short stable name, used in `/readyz` and metrics.
    fn name(&self) -> &'static str;
    /// Ok when the dependency answers; the error says what went wrong.
    async fn check(&self) -> Result<(), String>;
}

/// The state store answers a PING.
pub struct StoreProbe(pub SharedStore);

#[async_trait]
impl Probe for StoreProbe {
    fn name(&self) -> &'static str {
        "store"
    }
    async fn check(&self) -> Result<(), String> {
        self.0.ping().await.map_err(|e| e.to_string())
    }
}

/// The API server answers `/version` with our credentials.
pub struct KubeProbe(pub kube::Client);

#[async_trait]
impl Probe for KubeProbe {
    fn name(&self) -> &'static str {
        "kubernetes"
    }
    async fn check(&self) -> Result<(), String> {
        self.0
            .apiserver_version()
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }
}

/// The last known state of one dependency.
#[derive(Debug, Clone, Serialize)]
pub struct DependencyStatus {
    pub ok: bool,
    /// When it last changed between ok and failing.
    pub since: DateTime<Utc>,
    pub checked_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DependencyLabel {
    dependency: &'static str,
}

/// Shared view of every dependency's health.
#[derive(Clone)]
pub struct Health {
    statuses: Arc<RwLock<BTreeMap<&'static str, Option<DependencyStatus>>>>,
    up: Family<DependencyLabel, Gauge>,
}

impl Health {
    pub fn new(registry: &mut Registry) -> Self {
        let up = Family::<DependencyLabel, Gauge>::default();
        registry.register(
            "lookout_dependency_up",
            "Whether a dependency (store, kubernetes) answered its last check",
            up.clone(),
        );
        Self {
            statuses: Arc::default(),
            up,
        }
    }

    /// Ready when every registered dependency answered its last check.
    pub fn ready(&self) -> bool {
        let s = self.read();
        !s.is_empty() && s.values().all(|st| st.as_ref().is_some_and(|st| st.ok))
    }

    /// Every dependency's status; `None` until its first check completes.
    pub fn snapshot(&self) -> BTreeMap<&'static str, Option<DependencyStatus>> {
        self.read().clone()
    }

    fn read(
        &self,
    ) -> std::sync::RwLockReadGuard<'_, BTreeMap<&'static str, Option<DependencyStatus>>> {
        // Statuses are plain values; a panic elsewhere cannot leave one half-written.
        self.statuses.read().unwrap_or_else(|p| p.into_inner())
    }

    fn record(&self, name: &'static str, result: &Result<(), String>, now: DateTime<Utc>) {
        let mut s = self.statuses.write().unwrap_or_else(|p| p.into_inner());
        let ok = result.is_ok();
        let since = match s.get(name) {
            Some(Some(prev)) if prev.ok == ok => prev.since,
            _ => now,
        };
        s.insert(
            name,
            Some(DependencyStatus {
                ok,
                since,
                checked_at: now,
                error: result.as_ref().err().cloned(),
            }),
        );
        self.up
            .get_or_create(&DependencyLabel { dependency: name })
            .set(i64::from(ok));
    }

    /// Starts probing `probe` until `shutdown` is cancelled.
    pub fn watch(
        &self,
        probe: Arc<dyn Probe>,
        config: HealthConfig,
        clock: SharedClock,
        shutdown: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        self.statuses
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(probe.name(), None);
        let health = self.clone();
        tokio::spawn(async move {
            let name = probe.name();
            let mut backoff = config.check_interval;
            let mut was_ok: Option<bool> = None;
            let mut last_logged: Option<DateTime<Utc>> = None;
            loop {
                // A hung dependency counts as down; never wait longer than the longest backoff.
                let result = tokio::time::timeout(config.max_backoff, probe.check())
                    .await
                    .unwrap_or_else(|_| Err("no answer in time".into()));
                let now = clock.now();
                health.record(name, &result, now);
                match &result {
                    Ok(()) => {
                        if was_ok == Some(false) {
                            info!(dependency = name, "dependency reachable again");
                        }
                        backoff = config.check_interval;
                        last_logged = None;
                    }
                    Err(error) => {
                        let quiet = last_logged.is_some_and(|t| {
                            (now - t).to_std().unwrap_or(Duration::ZERO) < config.max_backoff
                        });
                        if !quiet {
                            warn!(dependency = name, %error, retry_in = ?backoff, "dependency unreachable");
                            last_logged = Some(now);
                        }
                    }
                }
                was_ok = Some(result.is_ok());
                let wait = if result.is_ok() {
                    config.check_interval
                } else {
                    let w = backoff;
                    backoff = (backoff * 2).min(config.max_backoff);
                    w
                };
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = clock.sleep(wait) => {}
                }
            }
        })
    }
}
