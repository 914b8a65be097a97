//! Units of detection and, per kind of object, how a change updates the cache and which units
//! it affects.

use std::collections::HashSet;
use std::time::Instant;

use chrono::{DateTime, Utc};

use super::Observer;
use super::cache::{Cache, Key, key_of, pod_unready_since};
use crate::cluster::Observed;
use crate::detect::{Detection, classify};
use crate::model::*;

/// One object that detection evaluates.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unit {
    Pod(Key),
    Node(String),
    Deployment(Key),
    ReplicaSet(Key),
    StatefulSet(Key),
    DaemonSet(Key),
    Job(Key),
    CronJob(Key),
    Pvc(Key),
    Hpa(Key),
}

impl Unit {
    fn namespace(&self) -> Option<&str> {
        match self {
            Unit::Node(_) => None,
            Unit::Pod(k)
            | Unit::Deployment(k)
            | Unit::ReplicaSet(k)
            | Unit::StatefulSet(k)
            | Unit::DaemonSet(k)
            | Unit::Job(k)
            | Unit::CronJob(k)
            | Unit::Pvc(k)
            | Unit::Hpa(k) => Some(&k.0),
        }
    }
}

fn stale_in<K: MetaExt + Clone>(
    map: &std::collections::HashMap<Key, K>,
    seen: &HashSet<String>,
) -> Vec<K> {
    map.values()
        .filter(|o| !seen.contains(&format!("{}/{}", o.namespace(), o.name())))
        .cloned()
        .collect()
}

/// Updates a keyed map with a new or deleted object and returns the key.
fn upsert<K: MetaExt>(
    map: &mut std::collections::HashMap<Key, K>,
    new: Option<K>,
    old: Option<K>,
) -> Option<(Key, Option<K>)> {
    match (new, old) {
        (Some(n), _) => {
            let key = key_of(&n);
            let previous = map.insert(key.clone(), n);
            Some((key, previous))
        }
        (None, Some(o)) => {
            let key = key_of(&o);
            let previous = map.remove(&key);
            Some((key, previous))
        }
        (None, None) => None,
    }
}

/// The node a pod holds a place on, as node signals count it: bound, not being deleted (an
/// evicted pod on a dead kubelet stays "terminating" for ever), not finished, and not a
/// DaemonSet's (a drain leaves those where they are).
fn placed_on(p: &Pod) -> Option<String> {
    let finished = matches!(p.status.phase.as_deref(), Some("Succeeded" | "Failed"));
    let daemon = p.controller().is_some_and(|o| o.kind == "DaemonSet");
    if p.is_deleting() || finished || daemon {
        return None;
    }
    p.node_name().map(str::to_string)
}

impl Observer {
    pub(super) async fn pod(&mut self, o: Observed<Pod>) {
        self.apply(
            "pods",
            o,
            |me, seen| stale_in(&me.cache.pods, seen),
            |me, new, old| {
                let new_node = new.as_ref().and_then(placed_on);
                let Some((key, previous)) = upsert(&mut me.cache.pods, new, old) else {
                    return Vec::new();
                };
                let old_node = previous.as_ref().and_then(placed_on);
                let deleted = !me.cache.pods.contains_key(&key);
                let new_node = if deleted { None } else { new_node };
                me.cache
                    .count_pod_move(old_node.as_deref(), new_node.as_deref());
                let mut units: Vec<Unit> = me.cache.unready_pod_seen(&key).into_iter().collect();
                units.push(Unit::Pod(key));
                // The node's evidence counts its pods; only worth it while the node has signals.
                for node in [old_node, new_node].into_iter().flatten() {
                    let unit = Unit::Node(node);
                    if me.active.contains_key(&unit) {
                        units.push(unit);
                    }
                }
                units
            },
        )
        .await;
    }

    pub(super) async fn node(&mut self, o: Observed<Node>) {
        self.apply(
            "nodes",
            o,
            |me, seen| {
                me.cache
                    .nodes
                    .values()
                    .filter(|n| !seen.contains(&format!("/{}", n.name())))
                    .cloned()
                    .collect()
            },
            |me, new, old| match (new, old) {
                (Some(n), _) => {
                    let name = n.name().to_string();
                    me.cache.nodes.insert(name.clone(), n);
                    vec![Unit::Node(name)]
                }
                (None, Some(o)) => {
                    let name = o.name().to_string();
                    me.cache.nodes.remove(&name);
                    vec![Unit::Node(name)]
                }
                _ => Vec::new(),
            },
        )
        .await;
    }

    pub(super) async fn namespace(&mut self, o: Observed<Namespace>) {
        self.apply(
            "namespaces",
            o,
            |me, seen| {
                me.cache
                    .namespaces
                    .values()
                    .filter(|n| !seen.contains(&format!("/{}", n.name())))
                    .cloned()
                    .collect()
            },
            |me, new, old| {
                let (name, opted_now) = match (&new, &old) {
                    (Some(n), _) => (n.name().to_string(), n.opted_out()),
                    (None, Some(o)) => (o.name().to_string(), false),
                    _ => return Vec::new(),
                };
                let before = me
                    .cache
                    .namespaces
                    .get(&name)
                    .is_some_and(|n| n.opted_out());
                match new {
                    Some(n) => {
                        me.cache.namespaces.insert(name.clone(), n);
                    }
                    None => {
                        me.cache.namespaces.remove(&name);
                    }
                }
                if before == opted_now {
                    return Vec::new();
                }
                me.units_in(&name)
            },
        )
        .await;
    }

    pub(super) async fn event(&mut self, o: Observed<Event>) {
        // Events only feed facts: a deleted (expired) event changes nothing, and re-lists do
        // not need reconciling.
        let event = match o.change {
            crate::cluster::Change::Apply(e) | crate::cluster::Change::RelistApply(e) => e,
            crate::cluster::Change::RelistDone => {
                self.listed("events").await;
                return;
            }
            _ => return,
        };
        let involved = &event.involved_object;
        let namespace = involved
            .namespace
            .clone()
            .or_else(|| event.metadata.namespace.clone())
            .unwrap_or_default();
        if !namespace.is_empty() && !self.detector.scope().namespace_in_scope(&namespace) {
            return;
        }
        let Some(fact) = classify(&event) else {
            return;
        };
        let kind = involved.kind.clone();
        let name = involved.name.clone();
        let key = (namespace.clone(), name.clone());
        let unit = match kind.as_str() {
            "Pod" => Unit::Pod(key),
            "ReplicaSet" => Unit::ReplicaSet(key),
            "StatefulSet" => Unit::StatefulSet(key),
            "DaemonSet" => Unit::DaemonSet(key),
            "Job" => Unit::Job(key),
            "PersistentVolumeClaim" => Unit::Pvc(key),
            _ => return,
        };
        self.cache
            .facts
            .entry((kind, namespace, name))
            .or_default()
            .record(fact);
        self.evaluate(&unit, o.at).await;
    }

    pub(super) async fn deployment(&mut self, o: Observed<Deployment>) {
        self.apply(
            "deployments",
            o,
            |me, seen| stale_in(&me.cache.deployments, seen),
            |me, new, old| {
                let opted = |d: &Deployment| d.opted_out() || d.spec.template.opted_out();
                let now_opted = new.as_ref().is_some_and(opted);
                let Some((key, previous)) = upsert(&mut me.cache.deployments, new, old) else {
                    return Vec::new();
                };
                if previous.as_ref().is_some_and(opted) != now_opted {
                    return me.units_in(&key.0);
                }
                vec![Unit::Deployment(key)]
            },
        )
        .await;
    }

    pub(super) async fn replicaset(&mut self, o: Observed<ReplicaSet>) {
        self.apply(
            "replicasets",
            o,
            |me, seen| stale_in(&me.cache.replicasets, seen),
            |me, new, old| {
                upsert(&mut me.cache.replicasets, new, old)
                    .map(|(k, _)| vec![Unit::ReplicaSet(k)])
                    .unwrap_or_default()
            },
        )
        .await;
    }

    pub(super) async fn statefulset(&mut self, o: Observed<StatefulSet>) {
        self.apply(
            "statefulsets",
            o,
            |me, seen| stale_in(&me.cache.statefulsets, seen),
            |me, new, old| {
                upsert(&mut me.cache.statefulsets, new, old)
                    .map(|(k, _)| vec![Unit::StatefulSet(k)])
                    .unwrap_or_default()
            },
        )
        .await;
    }

    pub(super) async fn daemonset(&mut self, o: Observed<DaemonSet>) {
        self.apply(
            "daemonsets",
            o,
            |me, seen| stale_in(&me.cache.daemonsets, seen),
            |me, new, old| {
                upsert(&mut me.cache.daemonsets, new, old)
                    .map(|(k, _)| vec![Unit::DaemonSet(k)])
                    .unwrap_or_default()
            },
        )
        .await;
    }

    pub(super) async fn job(&mut self, o: Observed<Job>) {
        self.apply(
            "jobs",
            o,
            |me, seen| stale_in(&me.cache.jobs, seen),
            |me, new, old| {
                let Some((key, previous)) = upsert(&mut me.cache.jobs, new, old) else {
                    return Vec::new();
                };
                let current = me.cache.jobs.get(&key);
                let cronjob = current.or(previous.as_ref()).and_then(Cache::cronjob_of);
                let mut units = vec![Unit::Job(key.clone())];
                if let Some(cj) = cronjob {
                    let jobs = me.cache.jobs_per_cronjob.entry(cj.clone()).or_default();
                    if current.is_some() {
                        jobs.insert(key.1.clone());
                    } else {
                        jobs.remove(&key.1);
                    }
                    units.push(Unit::CronJob(cj));
                }
                units
            },
        )
        .await;
    }

    pub(super) async fn cronjob(&mut self, o: Observed<CronJob>) {
        self.apply(
            "cronjobs",
            o,
            |me, seen| stale_in(&me.cache.cronjobs, seen),
            |me, new, old| {
                upsert(&mut me.cache.cronjobs, new, old)
                    .map(|(k, _)| vec![Unit::CronJob(k)])
                    .unwrap_or_default()
            },
        )
        .await;
    }

    pub(super) async fn pvc(&mut self, o: Observed<PersistentVolumeClaim>) {
        self.apply(
            "persistentvolumeclaims",
            o,
            |me, seen| stale_in(&me.cache.pvcs, seen),
            |me, new, old| {
                upsert(&mut me.cache.pvcs, new, old)
                    .map(|(k, _)| vec![Unit::Pvc(k)])
                    .unwrap_or_default()
            },
        )
        .await;
    }

    pub(super) async fn hpa(&mut self, o: Observed<HorizontalPodAutoscaler>) {
        self.apply(
            "horizontalpodautoscalers",
            o,
            |me, seen| stale_in(&me.cache.hpas, seen),
            |me, new, old| {
                upsert(&mut me.cache.hpas, new, old)
                    .map(|(k, _)| vec![Unit::Hpa(k)])
                    .unwrap_or_default()
            },
        )
        .await;
    }

    /// Every unit in a namespace (after an opt-out annotation changed).
    fn units_in(&self, namespace: &str) -> Vec<Unit> {
        let c = &self.cache;
        let ns = |k: &Key| k.0 == namespace;
        let mut units: Vec<Unit> = Vec::new();
        units.extend(c.pods.keys().filter(|k| ns(k)).cloned().map(Unit::Pod));
        units.extend(
            c.deployments
                .keys()
                .filter(|k| ns(k))
                .cloned()
                .map(Unit::Deployment),
        );
        units.extend(
            c.replicasets
                .keys()
                .filter(|k| ns(k))
                .cloned()
                .map(Unit::ReplicaSet),
        );
        units.extend(
            c.statefulsets
                .keys()
                .filter(|k| ns(k))
                .cloned()
                .map(Unit::StatefulSet),
        );
        units.extend(
            c.daemonsets
                .keys()
                .filter(|k| ns(k))
                .cloned()
                .map(Unit::DaemonSet),
        );
        units.extend(c.jobs.keys().filter(|k| ns(k)).cloned().map(Unit::Job));
        units.extend(
            c.cronjobs
                .keys()
                .filter(|k| ns(k))
                .cloned()
                .map(Unit::CronJob),
        );
        units.extend(c.pvcs.keys().filter(|k| ns(k)).cloned().map(Unit::Pvc));
        units.extend(c.hpas.keys().filter(|k| ns(k)).cloned().map(Unit::Hpa));
        // Units with signals whose objects are gone still need clearing.
        units.extend(
            self.active
                .keys()
                .filter(|u| u.namespace() == Some(namespace))
                .cloned(),
        );
        units
    }

    /// Runs detection on one unit and publishes the difference.
    pub(super) async fn evaluate(&mut self, unit: &Unit, observed: Instant) {
        let now = self.clock.now();
        let c = &self.cache;
        let d = &self.detector;
        let detection = match unit {
            Unit::Pod(k) => c
                .pods
                .get(k)
                .map(|p| d.pod(p, c.facts_of("Pod", &k.0, &k.1), c, now)),
            Unit::Node(name) => c.nodes.get(name).map(|n| {
                let pods = c.pods_per_node.get(name).copied().unwrap_or(0);
                d.node(n, pods, now)
            }),
            Unit::Deployment(k) => c.deployments.get(k).map(|o| d.deployment(o, c, now)),
            Unit::ReplicaSet(k) => c
                .replicasets
                .get(k)
                .map(|o| d.replicaset(o, c.facts_of("ReplicaSet", &k.0, &k.1), c, now)),
            Unit::StatefulSet(k) => c.statefulsets.get(k).map(|o| {
                let facts = c.facts_of("StatefulSet", &k.0, &k.1);
                c.with_pod_history("StatefulSet", k, |since| {
                    d.statefulset(o, facts, c, since, now)
                })
            }),
            Unit::DaemonSet(k) => c.daemonsets.get(k).map(|o| {
                let facts = c.facts_of("DaemonSet", &k.0, &k.1);
                c.with_pod_history("DaemonSet", k, |since| d.daemonset(o, facts, c, since, now))
            }),
            Unit::Job(k) => c
                .jobs
                .get(k)
                .map(|o| d.job(o, c.facts_of("Job", &k.0, &k.1), c, now)),
            Unit::CronJob(k) => c.cronjobs.get(k).map(|o| {
                let names = c.jobs_per_cronjob.get(k);
                let jobs = names
                    .into_iter()
                    .flatten()
                    .filter_map(|n| c.jobs.get(&(k.0.clone(), n.clone())));
                d.cronjob(o, jobs, c, now)
            }),
            Unit::Pvc(k) => c
                .pvcs
                .get(k)
                .map(|o| d.pvc(o, c.facts_of("PersistentVolumeClaim", &k.0, &k.1), c, now)),
            Unit::Hpa(k) => c.hpas.get(k).map(|o| d.hpa(o, c, now)),
        };
        let detection = detection.unwrap_or_default();
        match unit {
            Unit::StatefulSet(k) | Unit::DaemonSet(k) => {
                let kind = if matches!(unit, Unit::StatefulSet(_)) {
                    "StatefulSet"
                } else {
                    "DaemonSet"
                };
                match detection.unready_since {
                    Some(t) => {
                        self.cache.unready_since.insert((kind, k.clone()), t);
                    }
                    None => {
                        self.cache.unready_since.remove(&(kind, k.clone()));
                    }
                }
            }
            _ => {}
        }
        self.publish(
            unit.clone(),
            detection.signals,
            detection.recheck_at,
            observed,
        )
        .await;
    }
}

/// StatefulSet and DaemonSet status carries no timestamps: the observer keeps since when it
/// has seen each one not ready (`Cache::unready_since`). Seen for the first time — a restart,
/// or `lookout scan`, which sees everything once — that would be "now", and a set whose pods
/// have been failing for an hour would wait out its grace period again (a scan would never
/// report it). Its pods' Ready conditions do carry the time, so they move it back.
impl Cache {
    /// Detection of a StatefulSet or DaemonSet (`detect` takes the not-ready time to use). When
    /// it is newly not ready here, its cached pods may tell it has been for longer.
    fn with_pod_history(
        &self,
        kind: &'static str,
        key: &Key,
        detect: impl Fn(Option<DateTime<Utc>>) -> Detection,
    ) -> Detection {
        let held = self.unready_since.get(&(kind, key.clone())).copied();
        let found = detect(held);
        let (None, Some(seen)) = (held, found.unready_since) else {
            return found;
        };
        match self.pods_unready_since(kind, key) {
            Some(since) if since < seen => detect(Some(since)),
            _ => found,
        }
    }

    /// A pod changed: when it is a not-Ready pod of a StatefulSet or DaemonSet held as not
    /// ready since later than the pod (it was seen before its pods), moves that time back to
    /// the pod's and returns the set's unit to evaluate again.
    fn unready_pod_seen(&mut self, pod: &Key) -> Option<Unit> {
        let p = self.pods.get(pod)?;
        let controller = p.controller()?;
        let (kind, unit): (&'static str, fn(Key) -> Unit) = match controller.kind.as_str() {
            "StatefulSet" => ("StatefulSet", Unit::StatefulSet),
            "DaemonSet" => ("DaemonSet", Unit::DaemonSet),
            _ => return None,
        };
        let since = pod_unready_since(p)?;
        let owner = (pod.0.clone(), controller.name.clone());
        let held = self.unready_since.get_mut(&(kind, owner.clone()))?;
        if *held <= since {
            return None;
        }
        *held = since;
        Some(unit(owner))
    }
}
