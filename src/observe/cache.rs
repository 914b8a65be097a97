//! What the observer knows of the cluster: the lean objects by kind, event facts by object,
//! and the derived indexes detection reads (pods per node, jobs per CronJob). It answers
//! owner and opt-out questions for detection through [`OwnerLookup`].

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use crate::detect::{FactSet, ObjectRef, OwnerLookup, Parent};
use crate::model::*;

/// Namespace and name.
pub type Key = (String, String);

pub fn key_of(object: &impl MetaExt) -> Key {
    (object.namespace().to_string(), object.name().to_string())
}

#[derive(Default)]
pub struct Cache {
    pub pods: HashMap<Key, Pod>,
    pub nodes: HashMap<String, Node>,
    pub namespaces: HashMap<String, Namespace>,
    pub deployments: HashMap<Key, Deployment>,
    pub replicasets: HashMap<Key, ReplicaSet>,
    pub statefulsets: HashMap<Key, StatefulSet>,
    pub daemonsets: HashMap<Key, DaemonSet>,
    pub jobs: HashMap<Key, Job>,
    pub cronjobs: HashMap<Key, CronJob>,
    pub pvcs: HashMap<Key, PersistentVolumeClaim>,
    pub hpas: HashMap<Key, HorizontalPodAutoscaler>,
    /// Event facts by involved object: (kind, namespace, name).
    pub facts: HashMap<(String, String, String), FactSet>,
    /// Pods bound to each node.
    pub pods_per_node: HashMap<String, u32>,
    /// Jobs of each CronJob (by CronJob key).
    pub jobs_per_cronjob: HashMap<Key, BTreeSet<String>>,
    /// For StatefulSets and DaemonSets: since when this process has seen them not ready.
    pub unready_since: HashMap<(&'static str, Key), DateTime<Utc>>,
}

impl Cache {
    pub fn facts_of(&self, kind: &str, namespace: &str, name: &str) -> &[EventFact] {
        self.facts
            .get(&(kind.to_string(), namespace.to_string(), name.to_string()))
            .map(|f| f.as_slice())
            .unwrap_or(&[])
    }

    /// Keeps `pods_per_node` in step with a pod replacing `old` (either may be absent).
    pub fn count_pod_move(&mut self, old: Option<&str>, new: Option<&str>) {
        if old == new {
            return;
        }
        if let Some(node) = old
            && let Some(n) = self.pods_per_node.get_mut(node)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.pods_per_node.remove(node);
            }
        }
        if let Some(node) = new {
            *self.pods_per_node.entry(node.to_string()).or_insert(0) += 1;
        }
    }

    /// The CronJob a Job belongs to, if any.
    pub fn cronjob_of(job: &Job) -> Option<Key> {
        let c = job.controller()?;
        (c.kind == "CronJob").then(|| (job.namespace().to_string(), c.name.clone()))
    }

    /// The root owner of a pod, for alerts that name a pod.
    pub fn pod_owner(&self, namespace: &str, pod: &str) -> Option<ObjectRef> {
        let pod = self.pods.get(&(namespace.to_string(), pod.to_string()))?;
        Some(crate::detect::root_owner("Pod", pod, self))
    }

    /// Since when a pod that `kind namespace/name` controls has been not Ready: the earliest
    /// Ready transition among its cached pods that are not Ready now.
    pub fn pods_unready_since(&self, kind: &str, key: &Key) -> Option<DateTime<Utc>> {
        self.pods
            .iter()
            .filter(|((ns, _), pod)| {
                *ns == key.0
                    && pod
                        .controller()
                        .is_some_and(|c| c.kind == kind && c.name == key.1)
            })
            .filter_map(|(_, pod)| pod_unready_since(pod))
            .min()
    }

    /// Drops event facts that are too old to count.
    pub fn prune_facts(&mut self, cutoff: DateTime<Utc>) {
        self.facts.retain(|_, f| !f.prune(cutoff));
    }
}

use crate::detect::EventFact;

/// Since when a live pod has not been Ready (its Ready condition's transition, else its
/// creation); `None` when it is Ready, finished or going away.
pub fn pod_unready_since(pod: &Pod) -> Option<DateTime<Utc>> {
    if pod.is_deleting() || matches!(pod.phase(), "Succeeded" | "Failed") {
        return None;
    }
    match pod.condition("Ready") {
        Some(c) if c.is_true() => None,
        Some(c) => c.last_transition_time.or(pod.created()),
        None => pod.created(),
    }
}

impl OwnerLookup for Cache {
    fn parent(&self, kind: &str, namespace: &str, name: &str) -> Parent<'_> {
        let key = (namespace.to_string(), name.to_string());
        let controller = match kind {
            "ReplicaSet" => self.replicasets.get(&key).map(|o| o.controller()),
            "Job" => self.jobs.get(&key).map(|o| o.controller()),
            "Deployment" => self.deployments.get(&key).map(|o| o.controller()),
            "StatefulSet" => self.statefulsets.get(&key).map(|o| o.controller()),
            "DaemonSet" => self.daemonsets.get(&key).map(|o| o.controller()),
            "CronJob" => self.cronjobs.get(&key).map(|o| o.controller()),
            _ => None,
        };
        match controller {
            None => Parent::Unknown,
            Some(None) => Parent::Root,
            Some(Some(c)) => Parent::Controller {
                kind: &c.kind,
                name: &c.name,
            },
        }
    }

    fn opted_out(&self, object: &ObjectRef) -> bool {
        let ns = object.namespace.clone().unwrap_or_default();
        let key = (ns, object.name.clone());
        match object.kind.as_str() {
            "Namespace" => self
                .namespaces
                .get(&object.name)
                .is_some_and(|n| n.opted_out()),
            "Deployment" => self
                .deployments
                .get(&key)
                .is_some_and(|d| d.opted_out() || d.spec.template.opted_out()),
            "StatefulSet" => self
                .statefulsets
                .get(&key)
                .is_some_and(|d| d.opted_out() || d.spec.template.opted_out()),
            "DaemonSet" => self
                .daemonsets
                .get(&key)
                .is_some_and(|d| d.opted_out() || d.spec.template.opted_out()),
            "Job" => self
                .jobs
                .get(&key)
                .is_some_and(|d| d.opted_out() || d.spec.template.opted_out()),
            "CronJob" => self
                .cronjobs
                .get(&key)
                .is_some_and(|d| d.opted_out() || d.spec.job_template.spec.template.opted_out()),
            _ => false,
        }
    }
}
