//! Changes people propose from a conversation. A conversation only reads; the model may
//! suggest a change, and a person who clicks "Propose" under it asks the engine to plan it as
//! a step of the incident's remediation. It then goes the way of every step: guards and a
//! dry-run, an approval request in the incident's thread, execution, verification, rollback.
//!
//! The engine takes it only when nothing else is under way for the incident (the remediation
//! is observing, done or escalated, or there is none yet), and says why not otherwise. Each
//! suggestion is proposed once (a claim in the store, so double clicks and other processes
//! cannot propose it twice). When the step is over (verified, rejected, expired, refused by a
//! guard, rolled back) the remediation goes back to where it was: a done or escalated one stays
//! so, an observing one carries on with its own path.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tracing::info;

use super::engine::{AUTOMATION, Engine, Timer};
use super::messages::note;
use super::state::{REMEDIATIONS, Remediation, Status, SuggestedStep};
use crate::incident::tracker::INCIDENTS;
use crate::incident::{Incident, IncidentState, TimelineKind};
use crate::store::StoreExt;

/// How long a suggestion stays "proposed" (longer than any approval lives).
const PROPOSED_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// A person's request to propose a suggested change for an incident.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    /// The stored suggestion (`SG-12`); proposed once.
    pub suggestion: String,
    /// The incident's full id.
    pub incident: String,
    pub action: String,
    pub params: Value,
    /// The model's reason for it.
    pub why: String,
    /// Who clicked (`slack:U0123`).
    pub by: String,
}

/// What the person is told: `Ok` it is being planned, `Err` why not.
pub type ProposalAnswer = Result<String, String>;

/// A proposal and where its answer goes.
pub struct ProposalRequest {
    pub proposal: Proposal,
    pub answer: oneshot::Sender<ProposalAnswer>,
}

/// Hands proposals to the engine; cheap to clone.
#[derive(Clone)]
pub struct Proposals(mpsc::UnboundedSender<ProposalRequest>);

/// The engine's end (see [`Engine::with_proposals`]).
pub struct ProposalInbox(mpsc::UnboundedReceiver<ProposalRequest>);

impl ProposalInbox {
    /// The next proposal; `None` once every [`Proposals`] is gone.
    pub async fn recv(&mut self) -> Option<ProposalRequest> {
        self.0.recv().await
    }
}

/// A connected pair: the sender for the chat side, the inbox for the engine.
pub fn proposals() -> (Proposals, ProposalInbox) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Proposals(tx), ProposalInbox(rx))
}

impl Proposals {
    /// Asks the engine; it answers at once (planning goes on in the background). `wait` bounds
    /// the wait for an engine that is not running yet (still finding the API server).
    pub async fn propose(&self, proposal: Proposal, wait: Duration) -> ProposalAnswer {
        const NOT_RUNNING: &str =
            "Remediation is not running here yet (it waits for the API server); try again shortly.";
        let (answer, answered) = oneshot::channel();
        if self.0.send(ProposalRequest { proposal, answer }).is_err() {
            return Err(NOT_RUNNING.into());
        }
        match tokio::time::timeout(wait, answered).await {
            Ok(Ok(answer)) => answer,
            _ => Err(NOT_RUNNING.into()),
        }
    }
}

/// Why nothing new can start for `id` now, if so.
pub(super) fn busy(r: &Remediation, id: &str) -> Option<String> {
    let working = |what: &str| {
        Some(format!(
            "Lookout is {what} {id} right now; try again in a minute."
        ))
    };
    let acting = |what: &str| {
        Some(format!(
            "An action for {id} is {what}; try again when it has finished."
        ))
    };
    match &r.status {
        Status::Investigating => working("investigating"),
        Status::Deciding | Status::Planning => working("planning the next step for"),
        Status::Awaiting { approval } => Some(format!(
            "{approval} is waiting for a decision in {id}'s thread; decide it first, then propose this."
        )),
        Status::Executing { .. } => acting("being executed"),
        Status::Verifying { .. } => acting("being verified"),
        Status::RollingBack { .. } => acting("being rolled back"),
        Status::Stopped => Some(format!("{id} has ended; nothing more is proposed for it.")),
        // Idle, unless a proposed change waits for a rejection's reason or an approved action
        // for automation to resume.
        Status::Observing { .. } | Status::Done | Status::Escalated => {
            if r.suggested.is_some() {
                Some(format!(
                    "Another suggested change for {id} is under way; try again when it is over."
                ))
            } else if r.held.is_some() {
                Some(format!(
                    "An approved action for {id} waits for automation to resume; `resume` first."
                ))
            } else {
                None
            }
        }
    }
}

impl Engine {
    pub(super) async fn on_proposal(&mut self, req: ProposalRequest) {
        // The clicker gave up waiting and was told to try again: taking it now would post an
        // approval nobody expects.
        if req.answer.is_closed() {
            info!(incident = %req.proposal.incident, suggestion = %req.proposal.suggestion, "a proposal came too late; dropped");
            return;
        }
        let answer = self.take_proposal(req.proposal).await;
        let _ = req.answer.send(answer);
    }

    async fn take_proposal(&mut self, p: Proposal) -> ProposalAnswer {
        let id = p.incident.clone();
        let store = self.d.store.clone();
        let incident: Option<Incident> = store
            .get_json(INCIDENTS, &id)
            .await
            .map_err(|e| format!("I cannot read {id} right now: {e}"))?;
        let Some(incident) = incident.filter(|i| i.is_open()) else {
            return Err(format!("{id} has ended; nothing more is proposed for it."));
        };
        const PAUSED: &str =
            "Automation is paused: nothing is proposed until someone runs `resume`.";
        if self.d.config.paused {
            return Err(PAUSED.into());
        }
        match store.get(AUTOMATION, super::engine::PAUSED).await {
            Ok(v) if v.as_deref() == Some("true") => return Err(PAUSED.into()),
            Ok(_) => {}
            Err(e) => return Err(format!("I cannot read the pause switch right now: {e}")),
        }
        let proposed = format!("proposed:{}", p.suggestion);
        let already = format!("This suggestion was already proposed for {id}.");
        if store.is_claimed(&proposed).await.unwrap_or(false) {
            return Err(already);
        }
        let mut r = self.remediation_for(&id).await?;
        if let Some(why) = busy(&r, &id) {
            return Err(why);
        }
        if r.executed >= self.d.config.action_budget {
            return Err(format!(
                "{id} has used its action budget ({} actions); further changes are for people to make.",
                r.executed
            ));
        }
        // Another process may have taken it since the check above.
        match store.claim(&proposed, PROPOSED_TTL).await {
            Ok(true) => {}
            Ok(false) => return Err(already),
            Err(e) => return Err(format!("I cannot record the proposal right now: {e}")),
        }
        info!(incident = %id, action = %p.action, by = %p.by, "a suggested change is proposed");
        self.unschedule(&id, &Timer::Observe);
        self.unschedule(&id, &Timer::Reason);
        let after_rejection = std::mem::take(&mut r.awaiting_reason);
        r.suggested = Some(SuggestedStep {
            after_rejection,
            suggestion: p.suggestion.clone(),
            by: p.by.clone(),
            action: p.action.clone(),
            params: p.params.clone(),
            why: p.why.clone(),
            before: r.status.clone(),
        });
        self.incidents.insert(id.clone(), incident);
        let text = format!("{} proposed {} from a conversation", p.by, p.action);
        self.timeline(
            &id,
            TimelineKind::Note,
            text.clone(),
            json!({"suggestion": p.suggestion, "action": p.action, "params": p.params,
                   "by": p.by, "why": p.why}),
        )
        .await;
        self.d
            .audit
            .record(
                self.d
                    .audit
                    .event("suggestion_proposed", &p.by, text)
                    .incident(&id)
                    .detail(
                        json!({"suggestion": p.suggestion, "action": p.action, "params": p.params}),
                    ),
            )
            .await;
        self.plan_suggested(r).await;
        Ok(format!(
            "Proposing {} for {id}: the approval request appears in its thread once the dry-run has run.",
            p.action
        ))
    }

    /// Plans the change people proposed (`r.suggested`) as the remediation's next step.
    pub(super) async fn plan_suggested(&mut self, r: Remediation) {
        let Some(s) = r.suggested.clone() else {
            return;
        };
        let source = format!("conversation:{}", s.by);
        self.plan_step(r, s.action, s.params, s.why, source).await
    }

    /// The incident's remediation: this process's, another's (taken over, as a decision
    /// clicked here does), or a new one that starts idle (an incident without automatic
    /// remediation: below `min_severity`, outside `namespaces`, or remediation off).
    async fn remediation_for(&mut self, id: &str) -> Result<Remediation, String> {
        if self.running.contains_key(id)
            && self.mine(id).await
            && let Some(r) = self.running.get(id)
        {
            return Ok(r.clone());
        }
        let stored: Option<Remediation> = self
            .d
            .store
            .get_json(REMEDIATIONS, id)
            .await
            .map_err(|e| format!("I cannot read {id}'s remediation right now: {e}"))?;
        // Taken over only once the proposal is accepted (planning saves it as this process's).
        if let Some(r) = stored {
            return Ok(r);
        }
        let claim = format!("remediate:{id}");
        match self.d.store.claim(&claim, self.d.config.timeout * 2).await {
            Ok(true) => {}
            Ok(false) => {
                return Err(format!(
                    "Lookout is starting on {id} right now; try again in a minute."
                ));
            }
            Err(e) => return Err(format!("I cannot record the proposal right now: {e}")),
        }
        let mut r = Remediation::new(id, self.d.clock.now(), self.d.config.timeout);
        r.status = Status::Done;
        r.proposals_only = true;
        Ok(r)
    }

    /// The proposed step is over without a fix (refused by a guard, rejected, expired, failed
    /// or rolled back): back to where the remediation was. `why` is said in the thread when
    /// nobody saw it on an approval message (a guard's refusal).
    pub(super) async fn suggestion_dropped(
        &mut self,
        mut r: Remediation,
        s: SuggestedStep,
        why: Option<String>,
    ) {
        let id = r.incident.clone();
        if let Some(why) = why {
            let text = format!("Could not propose {} (from {}): {why}", s.action, s.by);
            self.say(&id, &format!("suggestion:{}", s.suggestion), |_| {
                note(text.clone())
            })
            .await;
        }
        if r.ended {
            return self.wind_down(r).await;
        }
        match s.before {
            Status::Observing { .. } => self.carry_on(r, s.after_rejection).await,
            before => {
                if before == Status::Escalated {
                    self.transition(
                        &id,
                        IncidentState::Escalated,
                        "the proposed change was not made",
                    )
                    .await;
                }
                r.status = before;
                r.plan = None;
                self.save(&r).await;
                self.update(r);
            }
        }
    }

    /// The proposed step was executed and verified healthy: the remediation is done (the
    /// incident resolves once its signals stay clear), whatever it was doing before.
    pub(super) async fn suggestion_fixed(&mut self, r: Remediation) {
        self.finish(r, "the proposed change is done and verified")
            .await
    }
}

impl Engine {
    /// Whether `r`, so far only people's proposals, now gets automatic remediation: the
    /// incident qualifies and nothing is under way.
    pub(super) fn automates(&self, r: &Remediation, incident: &Incident) -> bool {
        idle_proposals(r) && self.qualifies(incident)
    }

    /// Starts automatic remediation on a remediation that so far held people's proposals,
    /// keeping what they did (actions executed count against the budget).
    pub(super) async fn automate(&mut self, mut r: Remediation, incident: Incident) {
        if !self
            .claim_remediation(&format!("remediate:{}:auto", incident.id), &incident.id)
            .await
        {
            return;
        }
        let now = self.d.clock.now();
        r.proposals_only = false;
        r.status = Status::Investigating;
        r.path = super::state::Path::Unset;
        r.started_at = now;
        r.deadline = now
            + chrono::Duration::from_std(self.d.config.timeout).unwrap_or(chrono::Duration::MAX);
        self.begin(r, incident).await;
    }

    /// Back to the remediation's own path after a proposed step that did not fix it: past the
    /// step people rejected just before when they proposed this one (it was waiting for the
    /// reason), unless its time ran out meanwhile (the deadline waits while people's step runs).
    async fn carry_on(&mut self, mut r: Remediation, after_rejection: bool) {
        r.plan = None;
        if self.d.clock.now() >= r.deadline {
            let why = format!("no fix within {:?}", self.d.config.timeout);
            return self.escalate(r, &why).await;
        }
        if after_rejection {
            return Box::pin(self.alternative(r)).await;
        }
        self.next(r).await
    }
}

/// A remediation that so far held only people's proposals, none under way.
fn idle_proposals(r: &Remediation) -> bool {
    r.proposals_only && r.status == Status::Done && r.suggested.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn remediation(status: Status) -> Remediation {
        let mut r = Remediation::new("c/INC-1", Utc::now(), Duration::from_secs(60));
        r.status = status;
        r
    }

    #[test]
    fn a_proposal_waits_for_whatever_is_under_way() {
        let id = "c/INC-1";
        for status in [
            Status::Observing { until: Utc::now() },
            Status::Done,
            Status::Escalated,
        ] {
            assert_eq!(busy(&remediation(status.clone()), id), None, "{status:?}");
        }
        let awaiting = busy(
            &remediation(Status::Awaiting {
                approval: "A-3".into(),
            }),
            id,
        )
        .unwrap();
        assert!(
            awaiting.contains("A-3 is waiting for a decision"),
            "{awaiting}"
        );
        for status in [
            Status::Investigating,
            Status::Deciding,
            Status::Planning,
            Status::Executing {
                approval: "A-3".into(),
            },
            Status::Verifying {
                approval: "A-3".into(),
            },
            Status::RollingBack {
                approval: "A-3".into(),
            },
            Status::Stopped,
        ] {
            assert!(
                busy(&remediation(status.clone()), id).is_some(),
                "{status:?}"
            );
        }
        let mut held = remediation(Status::Observing { until: Utc::now() });
        held.held = Some("A-2".into());
        assert!(busy(&held, id).unwrap().contains("resume"));
        let mut another = remediation(Status::Done);
        another.suggested = Some(SuggestedStep {
            suggestion: "S-1".into(),
            by: "slack:U1".into(),
            action: "deployment.scale".into(),
            params: json!({}),
            why: String::new(),
            before: Status::Done,
            after_rejection: false,
        });
        assert!(
            busy(&another, id)
                .unwrap()
                .contains("Another suggested change")
        );
    }

    #[test]
    fn automatic_remediation_takes_over_only_idle_proposals() {
        let mut r = remediation(Status::Done);
        assert!(!idle_proposals(&r), "Lookout's own remediation");
        r.proposals_only = true;
        assert!(idle_proposals(&r));
        r.status = Status::Awaiting {
            approval: "A-1".into(),
        };
        assert!(!idle_proposals(&r), "a proposal waits for a decision");
        r.status = Status::Stopped;
        assert!(!idle_proposals(&r));
    }

    #[tokio::test]
    async fn an_engine_that_is_not_running_is_said_so() {
        let (proposals, inbox) = proposals();
        drop(inbox);
        let p = Proposal {
            suggestion: "S-1".into(),
            incident: "c/INC-1".into(),
            action: "deployment.scale".into(),
            params: json!({}),
            why: String::new(),
            by: "slack:U1".into(),
        };
        let e = proposals
            .propose(p.clone(), Duration::from_millis(50))
            .await
            .unwrap_err();
        assert!(e.contains("not running"), "{e}");
        let (proposals, _inbox) = super::proposals();
        let e = proposals
            .propose(p, Duration::from_millis(50))
            .await
            .unwrap_err();
        assert!(e.contains("not running"), "{e}");
    }
}
