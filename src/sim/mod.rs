//! The simulated kubelet and scheduler. The test cluster has a real API server and controller
//! manager but no scheduler and no kubelet; a [`Sim`] plays both against it: it registers fake
//! Nodes, binds Pending pods to them, and drives pod status, events and container logs the way
//! a kubelet would. Health is derived from the objects (limits, images, references that exist
//! or not) and from the workload's own `sim.lookout.dev/*` annotations ([`annotations`]), never
//! scripted per test, so a fix that arrives through the API heals the pods.
//!
//! Layout: [`health`] (pure: what a container will do), `container` and `pod` (pure state
//! machines and status rendering), `fit` (pure scheduler filters), `kubelet`, `scheduler` and
//! `nodes` (the loops, IO), `events` (aggregated core/v1 Events), `logs`, `log_lines` and
//! `log_server` (what containers print and the HTTPS endpoint the API server's log proxy
//! reaches), `view` (watch-backed stores).

pub mod annotations;
pub mod cli;
mod config;
mod container;
mod error;
mod events;
mod fit;
mod handle;
pub mod health;
mod images;
mod kubelet;
mod log_lines;
mod log_server;
mod logs;
mod nodes;
mod pod;
mod quantity;
mod scheduler;
mod view;

pub use config::{NamespaceScope, NodeConfig, SimConfig, SimTiming};
pub use error::{Result, SimError};
pub use handle::Sim;
pub use nodes::NodeProblem;
