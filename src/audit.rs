//! The audit log: every proposal, decision, action and outcome, and every refused click, as a
//! JSON object appended to the store's audit stream (capped by length) and written as a JSON
//! line — to a file when `audit.file` is set, and always to the log under the `lookout::audit`
//! target. Auditing never blocks or fails the work it records: a store outage is logged.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::clock::SharedClock;
use crate::store::SharedStore;

/// The `audit:` section.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// A file the audit log is appended to, one JSON object per line. Unset: the audit
    /// entries go to the process log (target `lookout::audit`) and the store only.
    pub file: Option<PathBuf>,
}

/// One audited event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub at: DateTime<Utc>,
    /// `proposal`, `decision`, `action`, `outcome`, `refused_click`, `command`, `pause`...
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<String>,
    /// Who (a platform identity), or `lookout`.
    pub actor: String,
    /// What, for people.
    pub summary: String,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub detail: serde_json::Value,
}

/// Writes audit events; cheap to clone.
#[derive(Clone)]
pub struct Audit {
    store: SharedStore,
    clock: SharedClock,
    file: Option<Arc<Mutex<std::fs::File>>>,
}

impl Audit {
    /// Opens the audit file (append) if configured.
    pub fn new(
        config: &AuditConfig,
        store: SharedStore,
        clock: SharedClock,
    ) -> std::io::Result<Self> {
        let file = match &config.file {
            Some(path) => Some(Arc::new(Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            ))),
            None => None,
        };
        Ok(Self { store, clock, file })
    }

    /// An event stamped now.
    pub fn event(&self, kind: &str, actor: &str, summary: impl Into<String>) -> AuditEvent {
        AuditEvent {
            at: self.clock.now(),
            kind: kind.into(),
            incident: None,
            approval: None,
            actor: actor.into(),
            summary: summary.into(),
            detail: serde_json::Value::Null,
        }
    }

    pub async fn record(&self, event: AuditEvent) {
        let json = match serde_json::to_string(&event) {
            Ok(j) => j,
            Err(e) => {
                warn!(error = %e, "cannot serialize an audit event");
                return;
            }
        };
        info!(target: "lookout::audit", audit = %json);
        if let Some(file) = &self.file {
            let mut f = file.lock().unwrap_or_else(|p| p.into_inner());
            if let Err(e) = writeln!(f, "{json}") {
                warn!(error = %e, "cannot write the audit file");
            }
        }
        if let Err(error) = self.store.audit(&json).await {
            warn!(%error, "cannot append to the audit stream; the entry is in the log");
        }
    }
}

impl AuditEvent {
    pub fn incident(mut self, id: &str) -> Self {
        self.incident = Some(id.into());
        self
    }

    pub fn approval(mut self, id: &str) -> Self {
        self.approval = Some(id.into());
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }
}
