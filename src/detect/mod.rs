//! Detection: pure functions from cluster objects to [`Signal`]s. No IO here, and no clock:
//! every function takes `now`.
//!
//! A [`Detector`] holds the thresholds ([`DetectConfig`]) and the [`Scope`]; it has one method
//! per resource family (`pod`, `node`, `deployment`, `replicaset`, `statefulset`, `daemonset`,
//! `job`, `cronjob`, `pvc`, `hpa`), each in its own file, each returning a [`Detection`]: the
//! signals that hold now and when to look again. Events are not objects to detect on: they are
//! classified into [`EventFact`]s ([`classify`]) that the detection of their object reads.
//! Root owners are resolved by [`root_owner`] through the caller's [`OwnerLookup`].

mod causes;
mod config;
mod detector;
mod events;
mod hpa;
mod job;
mod node;
mod owners;
mod pod;
mod pvc;
mod scope;
mod signal;
mod workload;

#[cfg(test)]
mod tests;

pub use causes::{MissingObject, exhausted_quota, missing_object, pull_error_class, registry_host};
pub use config::{DetectConfig, ScopeConfig};
pub use detector::{Detection, Detector};
pub use events::{EventFact, FactKind, FactSet, classify};
pub use owners::{NoLookup, OwnerLookup, POD_TEMPLATE_HASH, Parent, root_owner};
pub use scope::Scope;
pub use signal::*;
