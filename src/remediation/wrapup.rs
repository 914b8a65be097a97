//! When an incident resolves or escalates: its postmortem, written (by the model where one is
//! configured), stored and posted in the incident's thread on every channel its card went to.
//! Once per outcome across restarts and replicas (a claim); an escalated incident that later
//! resolves gets its postmortem message edited to the final story rather than a second one.

use std::time::Duration;

use tracing::{info, warn};

use super::engine::{Deps, Engine};
use crate::chat::notifier::card_key;
use crate::chat::outbound::{Post, Thread};
use crate::incident::postmortem;
use crate::incident::tracker::INCIDENTS;
use crate::incident::{Incident, IncidentState, TimelineEntry, TimelineKind};
use crate::store::StoreExt;

/// How long the once-per-outcome claim is kept (longer than any retry could come).
const CLAIM_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

impl Engine {
    /// Writes and posts the postmortem of `incident` if it has resolved or escalated.
    pub(super) fn postmortem(&self, incident: &str) {
        let d = self.d.clone();
        let incident = incident.to_string();
        tokio::spawn(async move { post_postmortem(&d, &incident).await });
    }
}

async fn post_postmortem(d: &Deps, id: &str) {
    // The stored record is the incident as the tracker last wrote it (the event that got
    // here may predate the final transition).
    let incident: Incident = match d.store.get_json(INCIDENTS, id).await {
        Ok(Some(i)) => i,
        Ok(None) => return,
        Err(error) => {
            warn!(%error, incident = id, "cannot read the incident; no postmortem");
            return;
        }
    };
    let outcome = match incident.state {
        IncidentState::Resolved => "resolved",
        IncidentState::Escalated => "escalated",
        _ => return,
    };
    if !claim(d, &format!("postmortem:{id}:{outcome}")).await {
        return;
    }
    let timeline = postmortem::load_timeline(&*d.store, id)
        .await
        .unwrap_or_else(|error| {
            warn!(%error, incident = id, "cannot read the timeline; the postmortem tells less");
            Vec::new()
        });
    // Written when escalated, now the incident resolved: edit that message.
    let earlier = matches!(postmortem::load(&*d.store, id).await, Ok(Some(_)));
    let pm = postmortem::write(
        d.llm.as_ref(),
        &d.prompts,
        &incident,
        &timeline,
        d.redact.as_ref(),
        d.clock.now(),
    )
    .await;
    if let Err(error) = postmortem::save(&*d.store, &pm).await {
        warn!(%error, incident = id, "cannot store the postmortem; posting it anyway");
    }
    let message = pm.to_message_with(&d.postmortem);
    let targets = d
        .store
        .get_json::<Vec<crate::chat::routing::Target>>(crate::chat::notifier::ROUTES, id)
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    for t in &targets {
        let key = format!("rem:{id}:postmortem:{}", t.key());
        if earlier {
            d.outbound
                .edit(&key, &t.platform, &t.channel, message.clone())
                .await;
        } else {
            d.outbound
                .post(
                    Post::new(key, &t.platform, &t.channel, message.clone())
                        .in_thread(Thread::Of(card_key(id, t))),
                )
                .await;
        }
    }
    let entry = TimelineEntry::new(
        d.clock.now(),
        TimelineKind::Note,
        format!(
            "postmortem ({outcome}) posted to {} channel(s)",
            targets.len()
        ),
    );
    if let Err(error) = d.store.append_timeline_json(id, &entry).await {
        warn!(%error, incident = id, "cannot append to the timeline");
    }
    info!(
        incident = id,
        outcome,
        channels = targets.len(),
        "postmortem posted"
    );
}

/// Claims `key`, retrying a store outage for a while: a postmortem is worth a short wait,
/// and posting it twice (two replicas, no claim) is not.
async fn claim(d: &Deps, key: &str) -> bool {
    let mut delay = Duration::from_millis(500);
    for _ in 0..6 {
        match d.store.claim(key, CLAIM_TTL).await {
            Ok(won) => return won,
            Err(error) => {
                warn!(%error, key, retry_in = ?delay, "cannot claim the postmortem");
                d.clock.sleep(delay).await;
                delay *= 2;
            }
        }
    }
    warn!(key, "no postmortem: the store stayed unreachable");
    false
}
