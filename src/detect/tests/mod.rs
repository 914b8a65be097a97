//! Detection tests, one file per resource family, written as scenarios from the fixture
//! builders in `model::fixtures`.

mod causes;
mod config;
mod events;
mod hpa;
mod job;
mod node;
mod owners;
mod pod;
mod pvc;
mod scope;
mod workload;

use std::collections::HashMap;

pub(super) use crate::detect::*;
pub(super) use crate::model::fixtures::{Build, t, ts};
pub(super) use crate::model::*;

/// The watcher's cache, as a test describes it.
#[derive(Debug, Default)]
pub(super) struct Cache {
    parents: HashMap<(String, String, String), Option<(String, String)>>,
    opted_out: Vec<ObjectRef>,
}

impl Cache {
    pub fn new() -> Self {
        Self::default()
    }

    /// ReplicaSet `namespace/rs` is known and controlled by Deployment `deployment`.
    pub fn replicaset(self, namespace: &str, rs: &str, deployment: &str) -> Self {
        self.parent(
            "ReplicaSet",
            namespace,
            rs,
            Some(("Deployment", deployment)),
        )
    }

    /// ReplicaSet `namespace/rs` is known and has no owner.
    pub fn bare_replicaset(self, namespace: &str, rs: &str) -> Self {
        self.parent("ReplicaSet", namespace, rs, None)
    }

    /// Job `namespace/job` is known and controlled by CronJob `cronjob`.
    pub fn job(self, namespace: &str, job: &str, cronjob: &str) -> Self {
        self.parent("Job", namespace, job, Some(("CronJob", cronjob)))
    }

    /// `kind namespace/name` carries `lookout.dev/ignore: "true"` (namespace `None` for a
    /// Namespace).
    pub fn opting_out(mut self, kind: &str, namespace: Option<&str>, name: &str) -> Self {
        self.opted_out.push(ObjectRef::new(kind, namespace, name));
        self
    }

    fn parent(mut self, kind: &str, ns: &str, name: &str, parent: Option<(&str, &str)>) -> Self {
        self.parents.insert(
            (kind.into(), ns.into(), name.into()),
            parent.map(|(k, n)| (k.into(), n.into())),
        );
        self
    }
}

impl OwnerLookup for Cache {
    fn parent(&self, kind: &str, namespace: &str, name: &str) -> Parent<'_> {
        match self
            .parents
            .get(&(kind.into(), namespace.into(), name.into()))
        {
            None => Parent::Unknown,
            Some(None) => Parent::Root,
            Some(Some((kind, name))) => Parent::Controller { kind, name },
        }
    }

    fn opted_out(&self, object: &ObjectRef) -> bool {
        self.opted_out.contains(object)
    }
}

/// The default detector: default thresholds, kube-system excluded.
pub(super) fn detector() -> Detector {
    Detector::default()
}

/// The signal names found, as their stable strings.
pub(super) fn names(detection: &Detection) -> Vec<&'static str> {
    detection.signals.iter().map(|s| s.name.as_str()).collect()
}

/// Facts from events, as the watcher would record them.
pub(super) fn facts(events: &[Event]) -> FactSet {
    let mut set = FactSet::default();
    for e in events {
        set.record(classify(e).expect("a classified event"));
    }
    set
}
