//! Root-owner resolution: Pod -> ReplicaSet -> Deployment, Pod -> StatefulSet / DaemonSet,
//! Pod -> Job -> CronJob. Pure: the caller answers what it knows about intermediate owners
//! through [`OwnerLookup`].

use crate::model::MetaExt;

use super::signal::ObjectRef;

/// The label the Deployment controller puts on ReplicaSets and their pods; the ReplicaSet is
/// named `<deployment>-<hash>`.
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";

/// What the caller's cache knows about an owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parent<'a> {
    /// The object is not in the cache (not seen yet, or already deleted).
    Unknown,
    /// The object is known and has no controller: it is the root.
    Root,
    /// The object is controlled by `kind/name` in the same namespace.
    Controller { kind: &'a str, name: &'a str },
}

/// The caller's view of the cluster that owner resolution and scope need.
pub trait OwnerLookup {
    /// The controller of the namespaced object `kind namespace/name` (a ReplicaSet or a Job, in
    /// practice). Kinds the caller does not track may answer `Unknown`.
    fn parent(&self, kind: &str, namespace: &str, name: &str) -> Parent<'_>;

    /// Whether `object` (a Namespace or a workload) opted out with `lookout.dev/ignore:
    /// "true"` on itself or on its pod template.
    fn opted_out(&self, object: &ObjectRef) -> bool {
        let _ = object;
        false
    }
}

/// A lookup that knows nothing: every pod resolves from its own references (and the
/// pod-template-hash fallback), nothing is opted out. For `lookout scan` before caches fill,
/// and tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLookup;

impl OwnerLookup for NoLookup {
    fn parent(&self, _: &str, _: &str, _: &str) -> Parent<'_> {
        Parent::Unknown
    }
}

/// Ownership chains are short; this bounds a malformed (cyclic) one.
const MAX_DEPTH: usize = 8;

/// The root owner of an object: follows controller references through the lookup until an
/// object without a controller (or one the lookup does not know) is reached. The object itself
/// when it has no controller.
///
/// When a ReplicaSet is unknown (a watch race: the pod arrived before its ReplicaSet), the
/// Deployment is derived from the `pod-template-hash` label: a ReplicaSet named
/// `<deployment>-<hash>` belongs to Deployment `<deployment>`. Without that label the
/// ReplicaSet is the answer — never a guessed name.
pub fn root_owner(
    kind: &str,
    object: &impl MetaExt,
    lookup: &(impl OwnerLookup + ?Sized),
) -> ObjectRef {
    let namespace = object.namespace();
    let Some(controller) = object.controller() else {
        return object_ref(kind, namespace, object.name());
    };
    let mut kind = controller.kind.as_str();
    let mut name = controller.name.as_str();
    for _ in 0..MAX_DEPTH {
        match lookup.parent(kind, namespace, name) {
            Parent::Controller {
                kind: parent_kind,
                name: parent_name,
            } => {
                kind = parent_kind;
                name = parent_name;
            }
            Parent::Root => break,
            Parent::Unknown => {
                if kind == "ReplicaSet"
                    && let Some(deployment) = deployment_from_hash(name, object)
                {
                    return object_ref("Deployment", namespace, deployment);
                }
                break;
            }
        }
    }
    object_ref(kind, namespace, name)
}

/// `web-7d4b9` with label `pod-template-hash: 7d4b9` -> `web`.
fn deployment_from_hash<'a>(replicaset: &'a str, object: &impl MetaExt) -> Option<&'a str> {
    let hash = object.label(POD_TEMPLATE_HASH)?;
    let deployment = replicaset.strip_suffix(hash)?.strip_suffix('-')?;
    (!deployment.is_empty()).then_some(deployment)
}

fn object_ref(kind: &str, namespace: &str, name: &str) -> ObjectRef {
    if namespace.is_empty() {
        ObjectRef::cluster_scoped(kind, name)
    } else {
        ObjectRef::namespaced(kind, namespace, name)
    }
}
