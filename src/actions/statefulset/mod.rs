//! StatefulSet actions: scale, rolling restart, delete one pod. Scale and restart are patches of
//! the StatefulSet verified through watches on it and its pods ([`super::controller_rollout`]);
//! the pod delete is the shared [`super::pod::DeletePod`] for this kind.

mod restart;
mod scale;

use super::pod::DeletePod;
use super::registry::Registry;
use super::spec::{ActionSpec, Risk, schema_for};
use crate::detect::ObjectRef;

pub use restart::Restart;
pub use scale::Scale;

pub static DELETE_POD: ActionSpec = ActionSpec {
    name: "statefulset.delete_pod",
    summary: "Delete one pod of a StatefulSet (the named one, else the sickest) so it is \
              re-created under the same name (not the last or last ready pod, \
              PodDisruptionBudgets respected).",
    risk: Risk::Medium,
    kinds: &["StatefulSet", "Pod"],
    reversible: false,
    params_schema: schema_for::<super::pod::WorkloadPodParams>,
};

/// Registers the StatefulSet family.
pub fn register(registry: &mut Registry) {
    registry.register(Scale);
    registry.register(Restart);
    registry.register(DeletePod::of_workload(&DELETE_POD, "StatefulSet"));
}

pub(crate) fn target(namespace: &str, name: &str) -> ObjectRef {
    ObjectRef::namespaced("StatefulSet", namespace, name)
}
