//! Alertmanager intake: a webhook receiver (payload version 4) behind a bearer token. Every
//! alert becomes an `alert` signal carrying its labels and annotations; resolved alerts clear.
//! An alert whose labels name a workload joins that workload's incident; other alerts form one
//! incident per Alertmanager group.

mod payload;
mod webhook;

pub use payload::{AlertChange, Payload, PayloadError, parse, signal_for};
pub use webhook::{AlertmanagerConfig, router};

#[cfg(test)]
mod tests;
