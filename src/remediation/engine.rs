//! The remediation engine: one task that owns every remediation's state machine. It reacts to
//! incidents (announced, updated, ended), to decisions (approved, rejected, expired, a
//! rejection's reason), to timers (expiry, observation, the wall-time limit) and to the results
//! of the work it starts (investigations, plans, executions, verifications, model steps),
//! which run as tasks and report back here. The state is written to the store after every
//! change, so another start continues it.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::config::{EscalationConfig, RemediationConfig};
use super::jobs::JobResult;
use super::metrics::RemediationMetrics;
use super::state::{REMEDIATIONS, Remediation};
use super::suggest::{ProposalInbox, ProposalRequest};
use crate::actions::{ActionContext, Registry};
use crate::agent::Investigator;
use crate::approval::{ApprovalEvent, ApprovalsConfig, Desk};
use crate::audit::Audit;
use crate::chat::outbound::Outbound;
use crate::chat::redact::SharedRedact;
use crate::clock::SharedClock;
use crate::incident::postmortem::PostmortemTemplate;
use crate::incident::tracker::TrackerHandle;
use crate::incident::{Incident, IncidentEvent, IncidentEventKind};
use crate::llm::{LlmClient, Prompts};
use crate::runbook::Runbook;
use crate::store::{SharedStore, StoreExt};

/// The global pause switch, in the store.
pub const AUTOMATION: &str = "automation";
pub const PAUSED: &str = "paused";

/// Whether automation is paused: by config, or by the runtime switch in the store (the
/// `pause` command). A store error reads as paused: no mutation without knowing it may run.
pub(super) async fn paused(d: &Deps) -> bool {
    if d.config.paused {
        return true;
    }
    match d.store.get(AUTOMATION, PAUSED).await {
        Ok(v) => v.as_deref() == Some("true"),
        Err(error) => {
            warn!(%error, "cannot read the pause switch; holding mutations");
            true
        }
    }
}

/// Everything the engine works with.
pub struct Deps {
    pub config: RemediationConfig,
    pub escalation: EscalationConfig,
    pub approvals: ApprovalsConfig,
    pub cluster: String,
    pub store: SharedStore,
    pub clock: SharedClock,
    pub tracker: TrackerHandle,
    pub outbound: Outbound,
    pub desk: Arc<Desk>,
    pub registry: Arc<Registry>,
    pub actions: ActionContext,
    pub investigator: Arc<Investigator>,
    pub runbooks: Arc<Vec<Runbook>>,
    pub redact: SharedRedact,
    pub audit: Audit,
    pub metrics: RemediationMetrics,
    pub llm: Option<LlmClient>,
    pub prompts: Arc<Prompts>,
    pub postmortem: Arc<PostmortemTemplate>,
}

/// What the engine reacts to.
pub(super) enum Input {
    Incident(IncidentEvent),
    Lagged,
    Approval(ApprovalEvent),
    Job { incident: String, result: JobResult },
    Proposal(super::suggest::ProposalRequest),
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Timer {
    /// The pending approval expires.
    Expiry(String),
    /// Observation is over; decide again.
    Observe,
    /// The wait for a rejection's reason is over; go on without it.
    Reason,
    /// The wall-time limit.
    Deadline,
}

pub struct Engine {
    pub(super) d: Arc<Deps>,
    /// This process, as written in the remediations it owns.
    pub(super) instance: String,
    pub(super) running: HashMap<String, Remediation>,
    /// The latest known incident of each running remediation.
    pub(super) incidents: HashMap<String, Incident>,
    pub(super) timers: BTreeSet<(DateTime<Utc>, String, Timer)>,
    pub(super) jobs: mpsc::UnboundedSender<Input>,
    inbox: mpsc::UnboundedReceiver<Input>,
    /// Changes people propose from conversations; none without [`Engine::with_proposals`].
    proposals: Option<ProposalInbox>,
}

impl Engine {
    pub fn new(deps: Deps) -> Self {
        let (jobs, inbox) = mpsc::unbounded_channel();
        Self {
            d: Arc::new(deps),
            instance: format!("{:016x}", rand::random::<u64>()),
            running: HashMap::new(),
            incidents: HashMap::new(),
            timers: BTreeSet::new(),
            jobs,
            inbox,
            proposals: None,
        }
    }

    /// Takes the proposals of the chat side's [`super::Proposals`].
    pub fn with_proposals(mut self, inbox: ProposalInbox) -> Self {
        self.proposals = Some(inbox);
        self
    }

    /// Runs until `shutdown`, resuming the remediations stored before.
    pub async fn run(
        mut self,
        mut incidents: broadcast::Receiver<IncidentEvent>,
        mut approvals: mpsc::UnboundedReceiver<ApprovalEvent>,
        shutdown: CancellationToken,
    ) {
        self.resume().await;
        loop {
            let now = self.d.clock.now();
            let wait = self
                .timers
                .first()
                .map(|(at, _, _)| (*at - now).to_std().unwrap_or(Duration::ZERO));
            let clock = self.d.clock.clone();
            let timer = async move {
                match wait {
                    Some(d) => clock.sleep(d).await,
                    None => futures::future::pending().await,
                }
            };
            let input = tokio::select! {
                _ = shutdown.cancelled() => return,
                e = incidents.recv() => match e {
                    Ok(e) => Input::Incident(e),
                    Err(broadcast::error::RecvError::Lagged(_)) => Input::Lagged,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                a = approvals.recv() => match a {
                    Some(a) => Input::Approval(a),
                    None => continue,
                },
                j = self.inbox.recv() => match j {
                    Some(j) => j,
                    None => continue,
                },
                p = next_proposal(&mut self.proposals) => match p {
                    Some(p) => Input::Proposal(p),
                    // The chat side is gone: no more proposals.
                    None => {
                        self.proposals = None;
                        continue;
                    }
                },
                _ = timer => {
                    self.fire_timers().await;
                    continue;
                }
            };
            self.handle(input).await;
        }
    }

    async fn handle(&mut self, input: Input) {
        match input {
            Input::Incident(e) => self.on_incident(e).await,
            Input::Lagged => warn!(
                "remediation fell behind the incident bus; updates resume with the next event"
            ),
            Input::Approval(ApprovalEvent::Decided { request, decision }) => {
                self.on_decision(*request, decision).await
            }
            Input::Approval(ApprovalEvent::Reason { approval, reason }) => {
                self.on_reason(&approval, reason).await
            }
            Input::Job { incident, result } => self.on_job(&incident, result).await,
            Input::Proposal(p) => self.on_proposal(p).await,
        }
    }

    async fn on_incident(&mut self, e: IncidentEvent) {
        let incident = (*e.incident).clone();
        match e.kind {
            IncidentEventKind::Created | IncidentEventKind::Updated => {
                if let Some(r) = self.running.get(&incident.id).cloned() {
                    self.incidents.insert(incident.id.clone(), incident.clone());
                    if self.automates(&r, &incident) {
                        self.automate(r, incident).await;
                    }
                } else if self.qualifies(&incident) {
                    // Another process (or an earlier run) may own it.
                    let stored: Option<Remediation> = self
                        .d
                        .store
                        .get_json(REMEDIATIONS, &incident.id)
                        .await
                        .ok()
                        .flatten();
                    match stored {
                        None => self.start(incident).await,
                        Some(r) if self.automates(&r, &incident) => {
                            self.automate(r, incident).await
                        }
                        Some(_) => {}
                    }
                }
            }
            IncidentEventKind::Merged { .. } | IncidentEventKind::Resolved => {
                self.on_ended(incident).await;
            }
        }
    }

    /// Whether an incident gets automatic remediation (unless it has had it already).
    pub(super) fn qualifies(&self, incident: &Incident) -> bool {
        let c = &self.d.config;
        if !c.enabled || !incident.is_open() || incident.severity < c.min_severity {
            return false;
        }
        let namespaces: Vec<&str> = incident.namespaces().into_iter().collect();
        c.covers(&namespaces)
    }

    /// Whether automation is paused (config, or the runtime switch).
    pub(super) async fn paused(&self) -> bool {
        paused(&self.d).await
    }

    pub(super) async fn save(&self, r: &Remediation) {
        let mut r = r.clone();
        r.owner = self.instance.clone();
        if let Err(error) = self
            .d
            .store
            .put_json(REMEDIATIONS, &r.incident, &r, None)
            .await
        {
            warn!(%error, incident = %r.incident, "cannot store the remediation's state");
        }
    }

    /// Whether this process still runs the remediation of `id`: another that took it over
    /// (a decision clicked there) wrote itself as the owner, and this one lets go. A store
    /// error keeps it (the store being down stops the other one too).
    pub(super) async fn mine(&mut self, id: &str) -> bool {
        if !self.running.contains_key(id) {
            return false;
        }
        let stored: Option<Remediation> =
            self.d.store.get_json(REMEDIATIONS, id).await.ok().flatten();
        match stored {
            Some(r) if !r.owner.is_empty() && r.owner != self.instance => {
                info!(incident = id, owner = %r.owner, "another process took this remediation over");
                self.running.remove(id);
                self.incidents.remove(id);
                self.timers.retain(|(_, i, _)| i != id);
                false
            }
            _ => true,
        }
    }

    pub(super) fn schedule(&mut self, at: DateTime<Utc>, incident: &str, timer: Timer) {
        self.timers.insert((at, incident.to_string(), timer));
    }

    pub(super) fn unschedule(&mut self, incident: &str, timer: &Timer) {
        self.timers
            .retain(|(_, i, t)| !(i == incident && t == timer));
    }

    async fn fire_timers(&mut self) {
        let now = self.d.clock.now();
        while let Some((at, incident, timer)) = self.timers.first().cloned() {
            if at > now {
                break;
            }
            self.timers.remove(&(at, incident.clone(), timer.clone()));
            self.on_timer(&incident, timer).await;
        }
    }

    /// Picks up remediations a previous run left unfinished.
    async fn resume(&mut self) {
        let ids = match self.d.store.list(REMEDIATIONS).await {
            Ok(ids) => ids,
            Err(error) => {
                warn!(%error, "cannot read stored remediations; starting without them");
                return;
            }
        };
        for id in ids {
            let Ok(Some(r)) = self
                .d
                .store
                .get_json::<Remediation>(REMEDIATIONS, &id)
                .await
            else {
                continue;
            };
            if r.status.is_final() {
                continue;
            }
            let incident: Option<Incident> = self
                .d
                .store
                .get_json(crate::incident::tracker::INCIDENTS, &id)
                .await
                .ok()
                .flatten();
            let Some(incident) = incident.filter(|i| i.is_open()) else {
                continue;
            };
            info!(incident = %id, status = ?r.status, "resuming a remediation");
            self.incidents.insert(id.clone(), incident);
            self.running.insert(id.clone(), r.clone());
            // This process carries it on now (the one that wrote it is gone).
            self.save(&r).await;
            self.schedule(r.deadline, &id, Timer::Deadline);
            self.reconcile(r).await;
        }
    }
}

async fn next_proposal(inbox: &mut Option<ProposalInbox>) -> Option<ProposalRequest> {
    match inbox {
        Some(inbox) => inbox.recv().await,
        None => futures::future::pending().await,
    }
}
