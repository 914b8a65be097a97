//! The observer: keeps the lean objects the watchers deliver, runs detection on every change,
//! and tells the incident tracker which signals were raised or cleared.
//!
//! Detection is evaluated per *unit* (one object: a pod, a node, a Deployment...). The
//! observer remembers each unit's last signals and sends only the difference, so an unchanged
//! object re-delivered by a re-list, or a healthy pod's status update, costs no message.
//! Time-based conditions (grace periods, old failures that stop counting) are re-evaluated
//! exactly when detection says they could change (`recheck_at`), not by polling.

mod cache;
mod units;
pub mod watchers;

#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub use cache::Cache;
pub use units::Unit;

use crate::alertmanager::{AlertChange, Payload, signal_for};
use crate::clock::SharedClock;
use crate::cluster::{Change, Observed};
use crate::detect::{Detector, Signal, SignalName};
use crate::incident::tracker::{TrackerHandle, TrackerInput};
use crate::model::*;

/// Everything the observer is told.
#[derive(Debug)]
pub enum ClusterEvent {
    Pod(Observed<Pod>),
    Node(Observed<Node>),
    Namespace(Observed<Namespace>),
    Event(Observed<Event>),
    Deployment(Observed<Deployment>),
    ReplicaSet(Observed<ReplicaSet>),
    StatefulSet(Observed<StatefulSet>),
    DaemonSet(Observed<DaemonSet>),
    Job(Observed<Job>),
    CronJob(Observed<CronJob>),
    Pvc(Observed<PersistentVolumeClaim>),
    Hpa(Observed<HorizontalPodAutoscaler>),
    /// An Alertmanager webhook delivery.
    Alerts(Payload),
    /// These watch streams will run; the initial sync is complete once each has listed.
    Expect(Vec<&'static str>),
}

/// Signal counters by name, for `lookout_signals_total`.
#[derive(Clone)]
pub struct ObserverMetrics {
    raised: prometheus_client::metrics::family::Family<
        SignalLabel,
        prometheus_client::metrics::counter::Counter,
    >,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct SignalLabel {
    signal: &'static str,
}

impl ObserverMetrics {
    pub fn new(registry: &mut prometheus_client::registry::Registry) -> Self {
        let raised = prometheus_client::metrics::family::Family::default();
        registry.register(
            "lookout_signals",
            "Signals raised, by signal name",
            raised.clone(),
        );
        Self { raised }
    }
}

/// The observer; see the module docs.
pub struct Observer {
    detector: Detector,
    pub(crate) cache: Cache,
    clock: SharedClock,
    tracker: TrackerHandle,
    metrics: ObserverMetrics,
    /// The last signals of each unit.
    active: HashMap<Unit, Vec<Signal>>,
    rechecks: BTreeSet<(DateTime<Utc>, Unit)>,
    /// Per resource: keys seen during a re-list in progress.
    relisting: HashMap<&'static str, HashSet<String>>,
    /// Streams still to complete their first list; `Synced` goes out when it empties.
    unsynced: Option<HashSet<&'static str>>,
    last_prune: DateTime<Utc>,
}

impl Observer {
    pub fn new(
        detector: Detector,
        clock: SharedClock,
        tracker: TrackerHandle,
        metrics: ObserverMetrics,
    ) -> Self {
        let now = clock.now();
        Self {
            detector,
            cache: Cache::default(),
            clock,
            tracker,
            metrics,
            active: HashMap::new(),
            rechecks: BTreeSet::new(),
            relisting: HashMap::new(),
            unsynced: None,
            last_prune: now,
        }
    }

    /// Runs until `shutdown` or until every sender is gone.
    pub async fn run(mut self, mut rx: mpsc::Receiver<ClusterEvent>, shutdown: CancellationToken) {
        loop {
            let now = self.clock.now();
            let wait = self
                .rechecks
                .first()
                .map(|(at, _)| (*at - now).to_std().unwrap_or(Duration::ZERO));
            let clock = self.clock.clone();
            let recheck = async move {
                match wait {
                    Some(d) => clock.sleep(d).await,
                    None => futures::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return,
                event = rx.recv() => match event {
                    Some(event) => self.handle(event).await,
                    None => return,
                },
                _ = recheck => self.run_rechecks().await,
            }
        }
    }

    /// Applies one event (public for benchmarks and tests that drive the observer directly).
    pub async fn handle(&mut self, event: ClusterEvent) {
        match event {
            ClusterEvent::Pod(o) => self.pod(o).await,
            ClusterEvent::Node(o) => self.node(o).await,
            ClusterEvent::Namespace(o) => self.namespace(o).await,
            ClusterEvent::Event(o) => self.event(o).await,
            ClusterEvent::Deployment(o) => self.deployment(o).await,
            ClusterEvent::ReplicaSet(o) => self.replicaset(o).await,
            ClusterEvent::StatefulSet(o) => self.statefulset(o).await,
            ClusterEvent::DaemonSet(o) => self.daemonset(o).await,
            ClusterEvent::Job(o) => self.job(o).await,
            ClusterEvent::CronJob(o) => self.cronjob(o).await,
            ClusterEvent::Pvc(o) => self.pvc(o).await,
            ClusterEvent::Hpa(o) => self.hpa(o).await,
            ClusterEvent::Alerts(p) => self.alerts(p).await,
            ClusterEvent::Expect(streams) => {
                self.unsynced = Some(streams.into_iter().collect());
            }
        }
    }

    async fn run_rechecks(&mut self) {
        let now = self.clock.now();
        while let Some((at, unit)) = self.rechecks.first().cloned() {
            if at > now {
                break;
            }
            self.rechecks.remove(&(at, unit.clone()));
            self.evaluate(&unit, Instant::now()).await;
        }
        let window = chrono::Duration::from_std(self.detector.config().event_window)
            .unwrap_or(chrono::Duration::MAX);
        if now - self.last_prune > chrono::Duration::minutes(1) {
            self.cache.prune_facts(now - window);
            self.last_prune = now;
        }
    }

    /// Sends the difference between a unit's previous and current signals.
    async fn publish(
        &mut self,
        unit: Unit,
        signals: Vec<Signal>,
        recheck_at: Option<DateTime<Utc>>,
        observed: Instant,
    ) {
        self.rechecks.retain(|(_, u)| *u != unit);
        if let Some(at) = recheck_at {
            self.rechecks.insert((at, unit.clone()));
        }
        let previous = self.active.remove(&unit).unwrap_or_default();
        for signal in &signals {
            if !previous.contains(signal) {
                if !previous.iter().any(|p| p.key() == signal.key()) {
                    self.metrics
                        .raised
                        .get_or_create(&SignalLabel {
                            signal: signal.name.as_str(),
                        })
                        .inc();
                }
                self.send(TrackerInput::Raised {
                    signal: Box::new(signal.clone()),
                    observed,
                })
                .await;
            }
        }
        for gone in previous
            .iter()
            .filter(|p| !signals.iter().any(|s| s.key() == p.key()))
        {
            self.send(TrackerInput::Cleared {
                key: gone.key(),
                observed,
            })
            .await;
        }
        if !signals.is_empty() {
            self.active.insert(unit, signals);
        }
    }

    async fn send(&self, input: TrackerInput) {
        if !self.tracker.send(input).await {
            warn!("incident tracker stopped; signal dropped");
        }
    }

    /// A watch stream changed: applies it to the cache and re-evaluates what it affects.
    /// `apply(self, new, old)` updates the cache for one object and returns the units to
    /// re-evaluate; `stale` lists cached objects a re-list did not deliver (they were deleted
    /// while the watch was down).
    async fn apply<K>(
        &mut self,
        resource: &'static str,
        o: Observed<K>,
        stale: fn(&Self, &HashSet<String>) -> Vec<K>,
        apply: fn(&mut Self, Option<K>, Option<K>) -> Vec<Unit>,
    ) where
        K: MetaExt,
    {
        let units = match o.change {
            Change::Apply(k) => apply(self, Some(k), None),
            Change::Delete(k) => apply(self, None, Some(k)),
            Change::Relist => {
                self.relisting.insert(resource, HashSet::new());
                Vec::new()
            }
            Change::RelistApply(k) => {
                if let Some(seen) = self.relisting.get_mut(resource) {
                    seen.insert(format!("{}/{}", k.namespace(), k.name()));
                }
                apply(self, Some(k), None)
            }
            Change::RelistDone => {
                let seen = self.relisting.remove(resource).unwrap_or_default();
                let gone = stale(self, &seen);
                let mut units = Vec::new();
                for k in gone {
                    units.extend(apply(self, None, Some(k)));
                }
                self.listed(resource).await;
                units
            }
        };
        let mut done = HashSet::new();
        for unit in units {
            if done.insert(unit.clone()) {
                self.evaluate(&unit, o.at).await;
            }
        }
    }

    async fn listed(&mut self, resource: &'static str) {
        let Some(unsynced) = &mut self.unsynced else {
            return;
        };
        unsynced.remove(resource);
        if unsynced.is_empty() {
            self.unsynced = None;
            info!("initial sync complete");
            self.send(TrackerInput::Synced).await;
        }
    }

    async fn alerts(&mut self, payload: Payload) {
        for alert in &payload.alerts {
            let cache = &self.cache;
            let change = signal_for(&payload.group_key, alert, &|ns, pod| {
                cache.pod_owner(ns, pod)
            });
            let input = match change {
                AlertChange::Firing(signal) => {
                    self.metrics
                        .raised
                        .get_or_create(&SignalLabel {
                            signal: SignalName::Alert.as_str(),
                        })
                        .inc();
                    TrackerInput::Raised {
                        signal,
                        observed: Instant::now(),
                    }
                }
                AlertChange::Resolved(key) => TrackerInput::Cleared {
                    key,
                    observed: Instant::now(),
                },
            };
            self.send(input).await;
        }
    }
}
