//! Remediation: from a diagnosed incident to a fix, every mutation approved by a human.
//! Runbook first, then the diagnosis's plan, then the agentic observe-decide-act loop; failures
//! roll back and retry with the evidence; limits escalate to the on-call. See `engine.rs` for
//! the event loop, `flow.rs` for the state machine, `jobs.rs` for the work it starts,
//! `suggest.rs` for changes people propose from a conversation.

mod config;
mod engine;
mod flow;
mod jobs;
pub mod learn;
mod messages;
mod metrics;
mod state;
mod suggest;
mod wrapup;

pub use config::{EscalationConfig, OnCall, RemediationConfig};
pub use engine::{AUTOMATION, Deps, Engine, PAUSED};
pub use metrics::RemediationMetrics;
pub use state::{Path, REMEDIATIONS, Remediation, Status, SuggestedStep};
pub use suggest::{Proposal, ProposalAnswer, ProposalInbox, ProposalRequest, Proposals, proposals};
