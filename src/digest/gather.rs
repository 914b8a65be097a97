//! Reading what a digest needs: incident records and the timelines of those active in the
//! period from the store, undecided approvals, and cluster health from the API server.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tracing::warn;

use super::Digester;
use super::facts::{self, Digest, Inputs, PendingApproval};
use crate::incident::tracker::INCIDENTS;
use crate::incident::{Incident, TimelineEntry};
use crate::store::{StoreExt, StoreResult};

impl Digester {
    pub(super) async fn facts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Digest> {
        let now = self.clock.now();
        let mut incidents = Vec::new();
        for id in self.store.list(INCIDENTS).await? {
            match self.store.get_json::<Incident>(INCIDENTS, &id).await {
                Ok(Some(i)) => incidents.push(i),
                Ok(None) => {}
                // One unreadable record does not cost the whole digest.
                Err(e @ crate::store::StoreError::Corrupt { .. }) => {
                    warn!(error = %e, "skipping an unreadable incident record")
                }
                Err(e) => return Err(e),
            }
        }
        let mut timelines: HashMap<String, Vec<TimelineEntry>> = HashMap::new();
        for i in incidents
            .iter()
            .filter(|i| facts::active_in(i, from, to) || i.is_open())
        {
            let entries = self
                .store
                .timeline(&i.id)
                .await?
                .iter()
                .filter_map(|j| crate::incident::postmortem::parse_entry(j))
                .collect();
            timelines.insert(i.id.clone(), entries);
        }
        let open: HashMap<String, Vec<TimelineEntry>> = timelines
            .iter()
            .filter(|(id, _)| incidents.iter().any(|i| &i.id == *id && i.is_open()))
            .map(|(id, t)| (id.clone(), t.clone()))
            .collect();
        let mut pending = Vec::new();
        for (approval, incident, summary) in facts::undecided_proposals(&open) {
            if let Some(stored) = self.store.approval(&approval).await?
                && stored.decision.is_none()
                && stored.record.expires_at > now
            {
                pending.push(PendingApproval {
                    id: approval,
                    incident,
                    summary,
                    expires_at: stored.record.expires_at,
                });
            }
        }
        let health = match &self.view {
            Some(view) => match view.read().await {
                Ok(h) => Some(h),
                Err(e) => {
                    warn!(error = %e, "cannot read cluster health for the digest");
                    None
                }
            },
            None => None,
        };
        Ok(facts::assemble(Inputs {
            cluster: &self.cluster,
            from,
            to,
            incidents: &incidents,
            timelines: &timelines,
            pending,
            health,
        }))
    }
}
