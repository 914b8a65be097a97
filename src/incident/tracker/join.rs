//! How signals join, grow, merge and end incidents. Store reads and claims come first in
//! `raise`; everything after them only changes memory and queues writes in the outbox.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{INCIDENTS, SEQUENCE, Tracker, chrono};
use crate::correlate::{self, Severity, SignalKeys};
use crate::detect::{Signal, SignalKey};
use crate::incident::model::{SignalEntry, signal_id};
use crate::incident::{Incident, IncidentEventKind, IncidentState, TimelineEntry, TimelineKind};
use crate::store::{StoreExt, StoreResult};

/// What a card shows; a change to it is worth an `Updated` event.
#[derive(PartialEq)]
struct Visible {
    title: String,
    severity: Severity,
    state: IncidentState,
    counts: Vec<(crate::detect::SignalName, usize)>,
    acked: bool,
    silenced: Option<crate::incident::SilenceMark>,
}

fn visible(i: &Incident) -> Visible {
    Visible {
        title: i.title.clone(),
        severity: i.severity,
        state: i.state,
        counts: i.signal_counts().into_iter().collect(),
        acked: i.acked.is_some(),
        silenced: i.silenced.clone(),
    }
}

impl Tracker {
    // ------------------------------------------------------------------ raise

    pub(super) async fn raise(&mut self, signal: Signal, now: DateTime<Utc>) -> StoreResult<()> {
        let key = signal.key();
        if let Some(seen) = &mut self.reconfirmed {
            seen.insert(key.clone());
        }
        if let Some(id) = self.by_signal.get(&key).cloned() {
            self.attach(&id, signal, now);
            return Ok(());
        }
        if self.suppressed.contains_key(&key) {
            return Ok(());
        }

        let keys = correlate::keys(&signal);
        let ttl = self.settings.correlation.dedup_ttl;
        let dedup = correlate::dedup_key(&self.settings.cluster, &key);
        let mut created: Option<(u64, String)> = None;
        let mut group_claims: Vec<String> = Vec::new();

        let mut target = match self.candidates(&signal, &keys, now).into_iter().next() {
            Some(id) => id,
            None => {
                // A silenced signal opens nothing; it is raised when the silence ends.
                if self.hold_if_silenced(&signal, now).await? {
                    return Ok(());
                }
                let number = self.store.incr(SEQUENCE, 1, None).await? as u64;
                let id = format!("{}/INC-{number}", self.settings.cluster);
                // Claim the incident's keys, so another process seeing the same problem joins
                // this incident instead of opening its own.
                let mut holder = None;
                for k in group_keys(&keys) {
                    let claim = format!("group:{k}");
                    match self.store.claim_as(&claim, &id, ttl).await? {
                        None => group_claims.push(claim),
                        Some(h) if h == id => {}
                        Some(h) => {
                            holder = Some(h);
                            break;
                        }
                    }
                }
                match holder {
                    Some(h) => h,
                    None => {
                        created = Some((number, id.clone()));
                        id
                    }
                }
            }
        };

        match self.store.claim_as(&dedup, &target, ttl).await? {
            None => {}
            Some(h) if h == target => {}
            Some(h) => {
                // Someone (a restart ago, or another process) already put this signal in an
                // incident: that is where it belongs.
                target = h;
                created = None;
            }
        }
        if created.is_none() {
            for claim in group_claims.drain(..) {
                self.store.release(&claim).await?;
            }
        }
        if created.is_none() && !self.open.contains_key(&target) {
            match self.store.get_json::<Incident>(INCIDENTS, &target).await? {
                Some(incident) if incident.is_open() => self.adopt(incident, now),
                Some(ended) => {
                    // A person ended it while this signal still fires: stay quiet until the
                    // signal clears, so the incident does not reopen at once.
                    self.suppressed.insert(key, ended.id);
                    return Ok(());
                }
                None => {
                    // The claim outlived its incident's record: start afresh.
                    self.store.release(&dedup).await?;
                    return Box::pin(self.raise(signal, now)).await;
                }
            }
        }

        if let Some((number, id)) = created {
            self.create(number, id, &signal, now);
        }
        self.attach(&target, signal, now);
        Ok(())
    }

    /// Open incidents the signal could join, best first: a shared cause (within the window),
    /// then a failing node, then the root owner.
    fn candidates(&self, signal: &Signal, keys: &SignalKeys, now: DateTime<Utc>) -> Vec<String> {
        let window = chrono(self.settings.correlation.window);
        let mut out: Vec<String> = Vec::new();
        let mut push = |id: Option<&String>| {
            if let Some(id) = id
                && !out.contains(id)
            {
                out.push(id.clone());
            }
        };
        if let Some(cause) = &keys.cause {
            let recent = self.by_key.get(cause).filter(|id| {
                self.open
                    .get(*id)
                    .and_then(|i| i.causes.get(cause))
                    .is_some_and(|seen| now - *seen <= window)
            });
            push(recent);
        }
        for node in [&keys.node, &keys.on_node].into_iter().flatten() {
            push(self.by_key.get(node));
        }
        push(self.by_key.get(&keys.owner));
        let _ = signal;
        out
    }

    fn create(&mut self, number: u64, id: String, signal: &Signal, now: DateTime<Utc>) {
        let mut incident = Incident {
            id: id.clone(),
            number,
            cluster: self.settings.cluster.clone(),
            title: String::new(),
            primary: signal.owner.clone(),
            state: IncidentState::Detected,
            severity: Severity::Low,
            score: 0,
            signals: Default::default(),
            keys: Default::default(),
            causes: Default::default(),
            created_at: now,
            updated_at: now,
            announced_at: None,
            all_clear_since: None,
            resolved_at: None,
            ended_by: None,
            merged_into: None,
            merged_from: Vec::new(),
            acked: None,
            silenced: None,
            diagnosis: None,
            revision: 0,
        };
        incident.refresh_title();
        self.outbox.timeline(
            &id,
            TimelineEntry::new(
                now,
                TimelineKind::Detected,
                format!("incident opened: {}", signal.key()),
            ),
        );
        self.metrics.created();
        self.outbox.mark(&id, true);
        self.outbox.list(&id);
        self.open.insert(id.clone(), incident);
        self.schedule(now + chrono(self.settings.correlation.settle), &id);
    }

    /// Adds or refreshes a signal in an incident, indexes its keys, merges incidents that now
    /// share a key, and rescores.
    fn attach(&mut self, id: &str, signal: Signal, now: DateTime<Utc>) {
        let keys = correlate::keys(&signal);
        let key = signal.key();
        let Some(incident) = self.open.get_mut(id) else {
            return;
        };
        let before = visible(incident);
        let sid = signal_id(&key);
        let mut urgent = false;
        match incident.signals.get_mut(&sid) {
            Some(entry) => {
                if !entry.active {
                    entry.active = true;
                    entry.cleared_at = None;
                    entry.occurrences += 1;
                    urgent = true;
                    self.outbox.timeline(
                        id,
                        TimelineEntry::new(
                            now,
                            TimelineKind::Signal,
                            format!("{key} raised again"),
                        )
                        .with_data(json!(signal)),
                    );
                }
                entry.last_seen = now;
                entry.signal = signal;
            }
            None => {
                urgent = true;
                self.outbox.timeline(
                    id,
                    TimelineEntry::new(
                        now,
                        TimelineKind::Signal,
                        format!("{key}: {}", signal.evidence.reason),
                    )
                    .with_data(json!(signal)),
                );
                self.metrics.signal_joined();
                incident.signals.insert(
                    sid,
                    SignalEntry {
                        signal,
                        active: true,
                        first_seen: now,
                        last_seen: now,
                        cleared_at: None,
                        occurrences: 1,
                    },
                );
            }
        }
        incident.all_clear_since = None;
        incident.updated_at = now;
        if let Some(cause) = &keys.cause {
            incident.causes.insert(cause.clone(), now);
        }
        // The keys this signal brings that the incident did not hold yet.
        let new_keys: Vec<String> = std::iter::once(keys.owner.clone())
            .chain(keys.node.clone())
            .chain(keys.cause.clone())
            .filter(|k| incident.keys.insert(k.clone()))
            .collect();
        self.by_signal.insert(key, id.to_string());

        // Another incident holding one of the new keys merges into this one.
        let ttl = self.settings.correlation.dedup_ttl;
        let mut merge = Vec::new();
        for k in new_keys {
            if let Some(other) = self.by_key.insert(k.clone(), id.to_string())
                && other != id
                && self.open.contains_key(&other)
            {
                merge.push(other);
            }
            self.outbox.point_claim(format!("group:{k}"), id, ttl);
        }
        if let Some(node_key) = &keys.node {
            merge.extend(self.incidents_only_on(node_key, id));
        }
        merge.sort();
        merge.dedup();
        for other in merge {
            self.merge(&other, id, now);
        }
        self.rescore(id, now);
        self.finish_change(id, before, urgent);
    }

    /// Open incidents (other than `except`) whose active signals are all pods on this node.
    fn incidents_only_on(&self, node_key: &str, except: &str) -> Vec<String> {
        self.open
            .values()
            .filter(|i| i.id != except && i.has_active_signals())
            .filter(|i| {
                i.active_signals().all(|s| {
                    s.object.kind == "Pod"
                        && s.node.as_deref().map(correlate::node_key).as_deref() == Some(node_key)
                })
            })
            .map(|i| i.id.clone())
            .collect()
    }

    /// Moves everything of `absorbed` into `survivor`.
    fn merge(&mut self, absorbed: &str, survivor: &str, now: DateTime<Utc>) {
        if absorbed == survivor {
            return;
        }
        let Some(mut gone) = self.open.remove(absorbed) else {
            return;
        };
        let ttl = self.settings.correlation.dedup_ttl;
        let Some(target) = self.open.get_mut(survivor) else {
            self.open.insert(absorbed.to_string(), gone);
            return;
        };
        let before = visible(target);
        for (sid, entry) in std::mem::take(&mut gone.signals) {
            let key = entry.signal.key();
            self.by_signal.insert(key.clone(), survivor.to_string());
            self.outbox.point_claim(
                correlate::dedup_key(&self.settings.cluster, &key),
                survivor,
                ttl,
            );
            match target.signals.get_mut(&sid) {
                Some(existing) => {
                    existing.active |= entry.active;
                    existing.first_seen = existing.first_seen.min(entry.first_seen);
                    existing.last_seen = existing.last_seen.max(entry.last_seen);
                }
                None => {
                    target.signals.insert(sid, entry);
                }
            }
            // Keep the absorbed record readable: its signals stay listed, inactive.
        }
        for k in &gone.keys {
            target.keys.insert(k.clone());
            self.by_key.insert(k.clone(), survivor.to_string());
            self.outbox.point_claim(format!("group:{k}"), survivor, ttl);
        }
        for (cause, seen) in &gone.causes {
            let e = target.causes.entry(cause.clone()).or_insert(*seen);
            *e = (*e).max(*seen);
        }
        target.merged_from.push(gone.id.clone());
        target.severity = target.severity.max(gone.severity);
        target.score = target.score.max(gone.score);
        target.updated_at = now;
        let survivor_announced = target.is_announced();
        self.outbox.timeline(
            survivor,
            TimelineEntry::new(
                now,
                TimelineKind::Absorbed,
                format!("merged {} into this incident", gone.id),
            ),
        );
        self.outbox.timeline(
            &gone.id,
            TimelineEntry::new(now, TimelineKind::Merged, format!("merged into {survivor}")),
        );
        gone.state = IncidentState::Merged;
        gone.merged_into = Some(survivor.to_string());
        gone.resolved_at = Some(now);
        gone.updated_at = now;
        let gone_announced = gone.is_announced();
        let gone_id = gone.id.clone();
        self.ended.insert(gone_id.clone(), gone);
        self.outbox.mark(&gone_id, true);
        self.outbox.delist(&gone_id);
        self.metrics.merged();
        if gone_announced {
            self.outbox.event(
                &gone_id,
                IncidentEventKind::Merged {
                    into: survivor.to_string(),
                },
            );
            // Its card will point to the survivor: the survivor must be visible too.
            if !survivor_announced {
                self.announce(survivor, now);
            }
        }
        self.finish_change(survivor, before, true);
    }

    /// Raises the score and severity if the active signals now weigh more; never lowers them.
    fn rescore(&mut self, id: &str, now: DateTime<Utc>) {
        let Some(incident) = self.open.get_mut(id) else {
            return;
        };
        let score = correlate::score_signals(
            &self.settings.correlation,
            incident.active_signals(),
            &self.settings.production_namespaces,
        );
        if score > incident.score {
            incident.score = score;
        }
        let severity = Severity::from_score(incident.score);
        if severity > incident.severity {
            let text = format!("severity {} -> {severity}", incident.severity);
            incident.severity = severity;
            self.outbox
                .timeline(id, TimelineEntry::new(now, TimelineKind::Severity, text));
        }
        incident.refresh_title();
    }

    /// Queues the write, and an `Updated` event if what a card shows changed.
    fn finish_change(&mut self, id: &str, before: Visible, urgent: bool) {
        let Some(incident) = self.open.get(id) else {
            return;
        };
        let changed = visible(incident) != before;
        self.outbox.mark(id, urgent || changed);
        if changed && incident.is_announced() {
            self.outbox.event(id, IncidentEventKind::Updated);
        }
    }

    // ------------------------------------------------------------------ clear

    pub(super) fn clear(&mut self, key: &SignalKey, now: DateTime<Utc>) {
        if self.forget_held(key) {
            return;
        }
        if self.suppressed.remove(key).is_some() {
            // The incident was ended by a person; its keys were kept until now.
            self.outbox
                .release_claim(correlate::dedup_key(&self.settings.cluster, key));
            return;
        }
        let Some(id) = self.by_signal.get(key).cloned() else {
            return;
        };
        let quiet = chrono(self.settings.correlation.quiet_period);
        let Some(incident) = self.open.get_mut(&id) else {
            return;
        };
        let before = visible(incident);
        let Some(entry) = incident.signals.get_mut(&signal_id(key)) else {
            return;
        };
        if !entry.active {
            return;
        }
        entry.active = false;
        entry.cleared_at = Some(now);
        incident.updated_at = now;
        let all_clear = !incident.has_active_signals();
        if all_clear {
            incident.all_clear_since = Some(now);
        }
        incident.refresh_title();
        self.outbox.timeline(
            &id,
            TimelineEntry::new(now, TimelineKind::SignalCleared, format!("{key} cleared")),
        );
        if all_clear {
            self.schedule(now + quiet, &id);
        }
        self.finish_change(&id, before, true);
    }

    /// The watchers finished their initial list: what loaded incidents still hold as active
    /// but nobody saw again has cleared while we were away.
    pub(super) fn synced(&mut self, now: DateTime<Utc>) {
        let Some(seen) = self.reconfirmed.take() else {
            return;
        };
        let stale: Vec<SignalKey> = self
            .open
            .values()
            .flat_map(|i| i.active_signals().map(|s| s.key()))
            // Alerts are not re-listed from the cluster: Alertmanager says when they resolve.
            .filter(|k| k.name != crate::detect::SignalName::Alert && !seen.contains(k))
            .collect();
        for key in stale {
            self.clear(&key, now);
        }
    }

    // ------------------------------------------------------------------ timers and endings

    /// Announces after the settle window; resolves after the quiet period.
    pub(super) fn check(&mut self, id: &str, now: DateTime<Utc>) {
        let settle = chrono(self.settings.correlation.settle);
        let quiet = chrono(self.settings.correlation.quiet_period);
        let Some(incident) = self.open.get(id) else {
            return;
        };
        if !incident.is_announced() && incident.created_at + settle <= now {
            // A blip that cleared within the settle window is not worth a message.
            if incident.has_active_signals() {
                self.announce(id, now);
            }
        }
        let Some(incident) = self.open.get(id) else {
            return;
        };
        if let Some(since) = incident.all_clear_since
            && !incident.has_active_signals()
        {
            if since + quiet <= now {
                self.end(id, IncidentState::Resolved, None, now);
            } else {
                self.schedule(since + quiet, id);
            }
        }
    }

    pub(super) fn announce(&mut self, id: &str, now: DateTime<Utc>) {
        let Some(incident) = self.open.get_mut(id) else {
            return;
        };
        if incident.is_announced() {
            return;
        }
        incident.announced_at = Some(now);
        self.metrics.announced(incident.severity);
        self.outbox.timeline(
            id,
            TimelineEntry::new(now, TimelineKind::Announced, incident.title.clone()),
        );
        self.outbox.mark(id, true);
        self.outbox.event(id, IncidentEventKind::Created);
    }

    /// A state transition or a diagnosis from remediation.
    pub(super) fn change(
        &mut self,
        id: &str,
        change: super::IncidentChange,
        now: DateTime<Utc>,
    ) -> Result<Incident, String> {
        let Some(incident) = self.open.get_mut(id) else {
            return Err(format!("{id} is not an open incident"));
        };
        let before = visible(incident);
        match change {
            super::IncidentChange::Transition { to, note, by } => {
                if incident.state == to {
                    return Ok(incident.clone());
                }
                let from = incident.state;
                incident.state = from.go_to(to).map_err(|e| e.to_string())?;
                incident.updated_at = now;
                let mut entry = TimelineEntry::new(
                    now,
                    TimelineKind::Transition,
                    format!("{from} -> {to}: {note}"),
                );
                if let Some(by) = by {
                    entry = entry.by(by);
                }
                self.outbox.timeline(id, entry);
            }
            super::IncidentChange::Diagnosis(line) => {
                incident.diagnosis = Some(line);
                incident.updated_at = now;
            }
            super::IncidentChange::Acknowledge { by, name } => {
                if incident.acked.is_some() {
                    return Ok(incident.clone());
                }
                let who = crate::incident::silence::who(&by, name.as_deref());
                self.outbox.timeline(
                    id,
                    TimelineEntry::new(now, TimelineKind::Note, format!("acknowledged by {who}"))
                        .by(by.clone())
                        .with_data(json!({"event": "acknowledged",
                            "platform": super::silences::platform_of(&by)})),
                );
                incident.acked = Some(crate::incident::Acknowledgement { by, name, at: now });
                incident.updated_at = now;
            }
        }
        let snapshot = incident.clone();
        let changed = visible(&snapshot) != before || snapshot.diagnosis.is_some();
        self.outbox.mark(id, true);
        if changed && snapshot.is_announced() {
            self.outbox.event(id, IncidentEventKind::Updated);
        }
        Ok(snapshot)
    }

    pub(super) fn end_by_person(
        &mut self,
        id: &str,
        state: IncidentState,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Incident, String> {
        if !matches!(state, IncidentState::Resolved | IncidentState::Dismissed) {
            return Err(format!(
                "an incident can be resolved or dismissed, not {state}"
            ));
        }
        let Some(incident) = self.open.get(id) else {
            return Err(format!("{id} is not an open incident"));
        };
        incident.state.go_to(state).map_err(|e| e.to_string())?;
        self.end(id, state, Some(by), now);
        self.ended
            .get(id)
            .cloned()
            .ok_or_else(|| format!("{id} could not be ended"))
    }

    /// Ends an incident. Its dedup keys are released so a recurrence is seen at once — except,
    /// when a person ended it, for signals still firing: those stay claimed until they clear.
    pub(super) fn end(
        &mut self,
        id: &str,
        state: IncidentState,
        by: Option<&str>,
        now: DateTime<Utc>,
    ) {
        let Some(mut incident) = self.open.remove(id) else {
            return;
        };
        let from = incident.state;
        incident.state = state;
        incident.resolved_at = Some(now);
        incident.ended_by = by.map(str::to_string);
        incident.updated_at = now;
        let mut entry =
            TimelineEntry::new(now, TimelineKind::Transition, format!("{from} -> {state}"));
        if let Some(by) = by {
            entry = entry.by(by);
        }
        self.outbox.timeline(id, entry);
        for k in &incident.keys {
            if self.by_key.get(k).map(String::as_str) == Some(id) {
                self.by_key.remove(k);
                self.outbox.release_claim(format!("group:{k}"));
            }
        }
        for e in incident.signals.values() {
            let key = e.signal.key();
            if self.by_signal.get(&key).map(String::as_str) == Some(id) {
                self.by_signal.remove(&key);
            }
            if e.active && by.is_some() {
                self.suppressed.insert(key, id.to_string());
            } else {
                self.outbox
                    .release_claim(correlate::dedup_key(&self.settings.cluster, &key));
            }
        }
        self.timers.retain(|(_, t)| t != id);
        let announced = incident.is_announced();
        self.metrics.ended(state);
        self.ended.insert(id.to_string(), incident);
        self.outbox.mark(id, true);
        self.outbox.delist(id);
        if announced {
            self.outbox.event(id, IncidentEventKind::Resolved);
        }
    }

    /// Takes an incident loaded from the store into memory.
    pub(super) fn adopt(&mut self, incident: Incident, now: DateTime<Utc>) {
        let id = incident.id.clone();
        for k in &incident.keys {
            self.by_key.insert(k.clone(), id.clone());
        }
        for e in incident.signals.values() {
            self.by_signal.insert(e.signal.key(), id.clone());
        }
        if !incident.is_announced() {
            let at = incident.created_at + chrono(self.settings.correlation.settle);
            self.schedule(at.max(now), &id);
        }
        if let Some(since) = incident.all_clear_since {
            let at = since + chrono(self.settings.correlation.quiet_period);
            self.schedule(at.max(now), &id);
        }
        self.open.insert(id, incident);
    }
}

/// The keys a new incident claims: its owner, its node (node signals), its cause.
fn group_keys(keys: &SignalKeys) -> Vec<String> {
    let mut out = vec![keys.owner.clone()];
    out.extend(keys.node.clone());
    out.extend(keys.cause.clone());
    out
}
