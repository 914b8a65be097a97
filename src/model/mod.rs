//! The lean object model: what Lookout keeps of each Kubernetes object it watches.
//!
//! Watchers list and watch straight into these types (`kube::runtime::watcher(Api<Pod>, ..)`).
//! Each type reads the real API JSON but keeps only what detection, correlation, `lookout
//! scan` and the incident card use — not whole objects: no managedFields, no last-applied
//! annotation, no pod spec beyond containers, resources and config references. This keeps
//! memory small and parsing fast (unknown fields are skipped without being allocated).
//!
//! Every type implements [`kube::Resource`]. Kinds served at one version use
//! `DynamicType = ()`; CronJob and HorizontalPodAutoscaler, whose version depends on the
//! server, take a small version enum ([`CronJobVersion`], [`HpaVersion`]) so the same type is
//! watched at whichever version discovery finds: `Api::<CronJob>::all_with(client, &version)`.

use std::borrow::Cow;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::core::{ClusterResourceScope, DynamicResourceScope, NamespaceResourceScope};

mod event;
mod hpa;
mod job;
pub mod meta;
mod namespace;
mod node;
mod pod;
mod pvc;
mod workload;

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod tests;

pub use event::*;
pub use hpa::*;
pub use job::*;
pub use meta::{Condition, ConditionStatus, IGNORE_ANNOTATION, MetaExt, NameRef};
pub use namespace::*;
pub use node::*;
pub use pod::*;
pub use pvc::*;
pub use workload::*;

/// `kube::Resource` for a kind served at one fixed version.
macro_rules! fixed_version {
    ($ty:ty, $group:literal, $version:literal, $kind:literal, $plural:literal, $scope:ty) => {
        impl kube::Resource for $ty {
            type DynamicType = ();
            type Scope = $scope;

            fn kind(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($kind)
            }

            fn group(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($group)
            }

            fn version(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($version)
            }

            fn plural(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($plural)
            }

            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }

            fn meta_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }
    };
}

/// `kube::Resource` for a kind whose served version is chosen at runtime.
macro_rules! runtime_version {
    ($ty:ty, $version:ty, $group:literal, $kind:literal, $plural:literal) => {
        impl kube::Resource for $ty {
            type DynamicType = $version;
            type Scope = DynamicResourceScope;

            fn kind(_: &$version) -> Cow<'_, str> {
                Cow::Borrowed($kind)
            }

            fn group(_: &$version) -> Cow<'_, str> {
                Cow::Borrowed($group)
            }

            fn version(v: &$version) -> Cow<'_, str> {
                Cow::Borrowed(v.as_str())
            }

            fn plural(_: &$version) -> Cow<'_, str> {
                Cow::Borrowed($plural)
            }

            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }

            fn meta_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }
    };
}

fixed_version!(Pod, "", "v1", "Pod", "pods", NamespaceResourceScope);
fixed_version!(Node, "", "v1", "Node", "nodes", ClusterResourceScope);
fixed_version!(Event, "", "v1", "Event", "events", NamespaceResourceScope);
fixed_version!(
    Namespace,
    "",
    "v1",
    "Namespace",
    "namespaces",
    ClusterResourceScope
);
fixed_version!(
    PersistentVolumeClaim,
    "",
    "v1",
    "PersistentVolumeClaim",
    "persistentvolumeclaims",
    NamespaceResourceScope
);
fixed_version!(
    Deployment,
    "apps",
    "v1",
    "Deployment",
    "deployments",
    NamespaceResourceScope
);
fixed_version!(
    ReplicaSet,
    "apps",
    "v1",
    "ReplicaSet",
    "replicasets",
    NamespaceResourceScope
);
fixed_version!(
    StatefulSet,
    "apps",
    "v1",
    "StatefulSet",
    "statefulsets",
    NamespaceResourceScope
);
fixed_version!(
    DaemonSet,
    "apps",
    "v1",
    "DaemonSet",
    "daemonsets",
    NamespaceResourceScope
);
fixed_version!(Job, "batch", "v1", "Job", "jobs", NamespaceResourceScope);
runtime_version!(CronJob, CronJobVersion, "batch", "CronJob", "cronjobs");
runtime_version!(
    HorizontalPodAutoscaler,
    HpaVersion,
    "autoscaling",
    "HorizontalPodAutoscaler",
    "horizontalpodautoscalers"
);
