//! The simulated kubelet and scheduler (placeholder until the sim lands).
pub mod cli;
