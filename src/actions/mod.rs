//! Remediation actions and read-only tools: the only way Lookout changes or inspects a cluster
//! on someone's behalf.
//!
//! Every mutating [`Action`] works the same way: `plan` parses typed parameters strictly, runs
//! the guards, snapshots what will change, and dry-runs the change on the server to produce a
//! readable diff ([`Plan`], stored with its approval). `execute` repeats the dry-run against
//! the live object and applies it only if nothing approved has moved (else [`ActionError::Stale`]).
//! `landed` answers "did it happen?" after a crash, `verify` watches for "healthy again" with a
//! deadline, `rollback` writes the snapshot back. [`ReadTool`]s only read, with bounded output.
//! The [`Registry`] holds both by name, counts outcomes and describes them to the LLM.
//!
//! Layout: the framework (`action`, `spec`, `plan`, `change`, `diff`, `guards`, `verify`,
//! `registry`, `catalogue`), shared knowledge (`kinds`, `pods`, `workload`, `quantity`), then
//! one module per action family.

mod action;
pub mod catalogue;
mod change;
mod config;
mod context;
pub mod deployment;
pub mod diff;
mod error;
pub mod guards;
pub mod kinds;
pub mod plan;
pub mod pod;
pub mod pods;
pub mod quantity;
pub mod read;
mod registry;
pub mod spec;
pub mod verify;
pub mod workload;

// The later action families (StatefulSet, DaemonSet, Job, CronJob, Node, HPA, PVC, ConfigMap).
pub mod configmap;
mod controller_rollout;
pub mod cronjob;
pub mod daemonset;
pub mod hpa;
pub mod job;
pub mod node;
pub mod pvc;
pub mod statefulset;
mod suspend;
mod watch_object;

pub use action::{Action, ReadTool};
pub use change::{PatchProposal, execute_delete, landed, plan_patch, restore};
pub use config::{ActionsConfig, ReadToolsConfig};
pub use context::{ActionContext, generation, resource_version, to_json, typed, uid};
pub use error::{ActionError, Result};
pub use plan::{Change, Execution, Field, Outcome, PatchType, Plan, Snapshot, Verification};
pub use registry::{Registry, ToolFilter};
pub use spec::{ActionSpec, LlmTool, Risk, ToolSpec, parse_params, schema_for};
