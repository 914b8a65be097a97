//! Lookout: a Kubernetes ChatOps bot.
//!
//! The pipeline runs from the cluster to the chat and back: watchers (`cluster`) feed pure
//! detection (`detect`), whose signals are deduplicated and correlated into incidents
//! (`correlate`, `incident`); incidents are posted to chat (`chat`), diagnosed and remediated by
//! the agent (`agent`, `actions`, `runbook`) through human approvals (`approval`). All state that
//! must survive a restart or be shared between processes lives behind the [`store::StateStore`]
//! trait (Redis in production, memory for local runs). Time is read through [`clock::Clock`] so
//! tests control it. [`app`] wires the parts; `main.rs` only parses the command line.

pub mod actions;
pub mod agent;
pub mod alertmanager;
pub mod app;
pub mod approval;
pub mod audit;
pub mod chat;
pub mod cli;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod context;
pub mod conversation;
pub mod correlate;
#[cfg(feature = "sim")]
pub mod demo;
pub mod detect;
pub mod digest;
pub mod health;
pub mod http;
pub mod incident;
pub mod kube_client;
pub mod llm;
pub mod metrics;
pub mod model;
pub mod observe;
pub mod redact;
pub mod remediation;
pub mod runbook;
pub mod scan;
#[cfg(feature = "sim")]
pub mod sim;
pub mod store;
pub mod telemetry;

/// Errors that cross module boundaries. Each module has its own error type; this one wraps them
/// for the binary's entry points.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("kubernetes client: {0}")]
    Kube(#[from] kube_client::KubeClientError),
    #[error("http server: {0}")]
    Http(#[source] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Installs the process-wide rustls crypto provider (ring). Several of our HTTP stacks use
/// rustls; with more than one provider linked, rustls cannot pick one by itself and panics on the
/// first TLS connection. Call this first in `main` and in every test binary; calling it again is
/// harmless.
pub fn install_crypto_provider() {
    // Err only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
