//! Digests: a periodic summary per channel — open incidents, incidents resolved in the period
//! with their time to resolve, the noisiest workloads, actions executed and who approved them,
//! pending approvals, cluster health — computed deterministically from the store and the API
//! server, with an optional one-paragraph summary by the model on top.
//!
//! Schedules are cron expressions in a time zone (`digests:` in the config). Each firing is a
//! claim in the store, so processes sharing Redis send it once; the last firing sent is kept
//! in the store, so a firing missed while the bot was down is sent once when it starts (if
//! configured) and never twice. `digest now` builds one for the last 24 hours on demand.

mod config;
mod facts;
mod gather;
mod health;
mod render;
mod runner;
mod summary;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tracing::warn;

pub use config::{DigestConfig, DigestSchedule};
pub use facts::{
    Digest, EndedIncident, ExecutedAction, NoisyWorkload, OpenIncident, PendingApproval,
};
pub use health::{ClusterHealth, ClusterView, pod_problem};
pub use runner::{DIGESTS, LastSent};
pub use summary::{LlmSummary, Summarize};

use crate::chat::message::Message;
use crate::chat::outbound::Outbound;
use crate::chat::redact::SharedRedact;
use crate::clock::SharedClock;
use crate::store::SharedStore;

/// How far back `digest now` looks.
pub const ON_DEMAND_PERIOD: chrono::Duration = chrono::Duration::hours(24);

/// Builds and sends digests.
pub struct Digester {
    pub cluster: String,
    pub store: SharedStore,
    pub clock: SharedClock,
    pub outbound: Outbound,
    /// The API server, for cluster health; absent: the digest says it could not be read.
    pub view: Option<ClusterView>,
    pub redact: SharedRedact,
    /// Writes the summary paragraph of digests with `llm_summary: true`.
    pub summarize: Option<Arc<dyn Summarize>>,
    pub digests: Vec<DigestConfig>,
}

impl Digester {
    /// The digest of `[from, to)` as a message.
    pub async fn build(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        llm_summary: bool,
    ) -> Message {
        let digest = match self.facts(from, to).await {
            Ok(d) => d,
            Err(e) => {
                warn!(error = %e, "cannot read what a digest needs");
                return Message::text(format!("I cannot build a digest right now: {e}"));
            }
        };
        let summary = match (&self.summarize, llm_summary) {
            (Some(s), true) => s.summarize(&digest).await,
            _ => None,
        };
        render::message(&digest, summary.as_deref(), self.redact.as_ref())
    }

    /// `digest now`: the last 24 hours.
    pub async fn on_demand(&self) -> Message {
        let now = self.clock.now();
        self.build(now - ON_DEMAND_PERIOD, now, false).await
    }

    /// The assembled figures of `[from, to)` (for tests and the summary).
    pub async fn digest(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> crate::store::StoreResult<Digest> {
        self.facts(from, to).await
    }
}
