//! Running the schedules. One task per digest waits (on the injected clock) for its next
//! firing, claims it in the store (`digest:<key>:<unix time>`, so processes sharing Redis send
//! it once), posts it to its targets and records the firing as the last one sent. On start, a
//! firing later than the last one sent (or than the first start, for a new digest) was missed
//! while the bot was down: it is sent once when `include_missed` says so, covering the whole
//! time since the last digest. A firing whose claim cannot be made (the store is down) is
//! skipped rather than risk sending it twice.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::Digester;
use super::config::{DigestConfig, DigestSchedule};
use crate::chat::outbound::Post;
use crate::store::{StoreExt, StoreResult};

/// Store collection: the last firing sent, per digest key.
pub const DIGESTS: &str = "digests";
/// A firing's claim outlives any restart that could try it again.
const CLAIM_TTL: Duration = Duration::from_secs(7 * 86_400);
/// Longest wait between tries to read the state while the store is down.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What the store remembers of a digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastSent {
    /// The last firing sent (by any process).
    pub last_fire: Option<DateTime<Utc>>,
    /// When the digest was first seen; firings before it were never due.
    pub since: DateTime<Utc>,
    /// When the last one was sent.
    #[serde(default)]
    pub sent_at: Option<DateTime<Utc>>,
}

impl Digester {
    /// Runs every configured schedule until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut tasks = Vec::new();
        for cfg in self.digests.clone() {
            match cfg.parsed() {
                Ok(schedule) => {
                    let me = self.clone();
                    let stop = shutdown.clone();
                    tasks.push(tokio::spawn(async move {
                        me.run_one(cfg, schedule, stop).await
                    }));
                }
                // Validated at start; a schedule that does not parse here is a bug to report.
                Err(e) => warn!(error = %e, "digest schedule not running"),
            }
        }
        for t in tasks {
            let _ = t.await;
        }
    }

    async fn run_one(
        &self,
        cfg: DigestConfig,
        schedule: DigestSchedule,
        shutdown: CancellationToken,
    ) {
        let mut delay = Duration::from_millis(200);
        let mut state = loop {
            match self.state(&schedule.key).await {
                Ok(s) => break s,
                Err(error) => {
                    warn!(%error, digest = %schedule.key, "cannot read the digest's last firing yet");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = self.clock.sleep(delay) => {}
                    }
                    delay = (delay * 2).min(MAX_BACKOFF);
                }
            }
        };
        let mut handled = state.last_fire.unwrap_or(state.since).max(state.since);
        let now = self.clock.now();
        if let Some(missed) = schedule.latest_until(now).filter(|f| *f > handled) {
            if cfg.include_missed {
                info!(digest = %schedule.key, at = %missed, "sending a digest missed while the bot was down");
                self.fire(&cfg, &schedule, missed, &mut state).await;
            } else {
                info!(digest = %schedule.key, at = %missed, "a digest was missed while the bot was down (include_missed: false)");
            }
            handled = missed;
        }
        info!(digest = %schedule.key, next = ?schedule.next_after(handled), "digest scheduled");
        loop {
            let Some(next) = schedule.next_after(handled) else {
                info!(digest = %schedule.key, "the schedule has no further firings");
                return;
            };
            let wait = (next - self.clock.now()).to_std().unwrap_or(Duration::ZERO);
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.clock.sleep(wait) => {}
            }
            // If time jumped past several firings, one digest covers them all.
            let at = schedule
                .latest_until(self.clock.now())
                .filter(|f| *f > handled)
                .unwrap_or(next);
            self.fire(&cfg, &schedule, at, &mut state).await;
            handled = at;
        }
    }

    /// The stored state, created (as "watching since now") for a new digest.
    async fn state(&self, key: &str) -> StoreResult<LastSent> {
        if let Some(s) = self.store.get_json::<LastSent>(DIGESTS, key).await? {
            return Ok(s);
        }
        let fresh = LastSent {
            last_fire: None,
            since: self.clock.now(),
            sent_at: None,
        };
        self.store.put_json(DIGESTS, key, &fresh, None).await?;
        Ok(fresh)
    }

    /// Sends the firing at `at` unless another process claimed it.
    async fn fire(
        &self,
        cfg: &DigestConfig,
        schedule: &DigestSchedule,
        at: DateTime<Utc>,
        state: &mut LastSent,
    ) {
        let key = &schedule.key;
        let claim = format!("digest:{key}:{}", at.timestamp());
        match self.store.claim(&claim, CLAIM_TTL).await {
            Ok(true) => {}
            Ok(false) => {
                info!(digest = %key, %at, "digest already sent by another process");
                state.last_fire = Some(at);
                return;
            }
            Err(error) => {
                warn!(%error, digest = %key, %at, "cannot claim the digest; skipping this firing rather than risk sending it twice");
                return;
            }
        }
        let from = state
            .last_fire
            .or_else(|| schedule.latest_until(at - chrono::Duration::seconds(1)))
            .unwrap_or(at - super::ON_DEMAND_PERIOD);
        let message = self.build(from, at, cfg.llm_summary).await;
        for t in &cfg.to {
            self.outbound
                .post(Post::new(
                    format!("digest:{key}:{}:{}", at.timestamp(), t.key()),
                    &t.platform,
                    &t.channel,
                    message.clone(),
                ))
                .await;
        }
        state.last_fire = Some(at);
        state.sent_at = Some(self.clock.now());
        if let Err(error) = self.store.put_json(DIGESTS, key, &*state, None).await {
            // The claim still stops a second send of this firing.
            warn!(%error, digest = %key, "cannot record the digest as sent");
        }
        info!(digest = %key, %at, targets = cfg.to.len(), "digest sent");
    }
}
