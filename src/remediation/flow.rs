//! How a remediation moves: runbook first, then the diagnosis's plan, then the agentic loop;
//! every mutation through an approval; failures roll back and start another attempt with the
//! evidence; too many attempts, steps, actions or too much time escalate to the on-call.

use chrono::Utc;
use serde_json::{Value, json};
use tracing::{info, warn};

use super::engine::{Engine, Timer};
use super::jobs::{self, AgentMove, ExecError, JobResult};
use super::messages::{diagnosis_message, escalation_message, note};
use super::state::{
    FailureNote, Fixed, Path, REMEDIATIONS, RejectionNote, Remediation, Status, StepRecord,
};
use crate::approval::{ApprovalRequest, reason_of};
use crate::incident::tracker::IncidentChange;
use crate::incident::{Incident, IncidentState, TimelineEntry, TimelineKind};
use crate::store::{ApprovalRecord, Decision, StoreExt, Verdict};

impl Engine {
    pub(super) async fn start(&mut self, incident: Incident) {
        // One process remediates an incident (until leader election, a claim decides).
        if !self
            .claim_remediation(&format!("remediate:{}", incident.id), &incident.id)
            .await
        {
            return;
        }
        let now = self.d.clock.now();
        let r = Remediation::new(&incident.id, now, self.d.config.timeout);
        self.begin(r, incident).await;
    }

    /// Whether this process won `claim` to remediate `incident`; a store error loses it until
    /// the incident's next update.
    pub(super) async fn claim_remediation(&self, claim: &str, incident: &str) -> bool {
        match self.d.store.claim(claim, self.d.config.timeout * 2).await {
            Ok(won) => won,
            Err(error) => {
                warn!(%error, incident, "cannot claim the remediation; will retry with the next update");
                false
            }
        }
    }

    /// Investigates `incident` as the first step of `r`, within its deadline.
    pub(super) async fn begin(&mut self, r: Remediation, incident: Incident) {
        info!(incident = %incident.id, "remediation started");
        self.schedule(r.deadline, &incident.id, Timer::Deadline);
        self.transition(&incident.id, IncidentState::Analyzing, "investigating")
            .await;
        self.save(&r).await;
        self.running.insert(incident.id.clone(), r);
        self.incidents.insert(incident.id.clone(), incident.clone());
        jobs::investigate(self.d.clone(), self.jobs.clone(), incident);
    }

    /// Moves the incident's state (through Remediating when the state machine requires it).
    pub(super) async fn transition(&self, id: &str, to: IncidentState, note: &str) {
        let change = |to| IncidentChange::Transition {
            to,
            note: note.to_string(),
            by: None,
        };
        if self.d.tracker.update(id, change(to)).await.is_err()
            && matches!(
                to,
                IncidentState::AwaitingApproval | IncidentState::Verifying
            )
        {
            let _ = self
                .d
                .tracker
                .update(id, change(IncidentState::Remediating))
                .await;
            let _ = self.d.tracker.update(id, change(to)).await;
        }
    }

    pub(super) async fn timeline(
        &self,
        incident: &str,
        kind: TimelineKind,
        text: String,
        data: serde_json::Value,
    ) {
        let entry = TimelineEntry::new(self.d.clock.now(), kind, text).with_data(data);
        if let Err(e) = self.d.store.append_timeline_json(incident, &entry).await {
            warn!(error = %e, incident, "cannot append to the timeline");
        }
    }

    pub(super) fn update(&mut self, r: Remediation) {
        self.running.insert(r.incident.clone(), r);
    }

    pub(super) async fn on_job(&mut self, id: &str, result: JobResult) {
        if !self.mine(id).await {
            return;
        }
        let Some(mut r) = self.running.get(id).cloned() else {
            return; // stopped meanwhile
        };
        let Some(incident) = self.incidents.get(id).cloned() else {
            return;
        };
        match result {
            JobResult::Investigated(inv, facts) => {
                let d = inv.diagnosis.clone();
                self.timeline(
                    id,
                    TimelineKind::Analysis,
                    format!("diagnosis: {}", d.one_line()),
                    json!(d),
                )
                .await;
                let _ = self
                    .d
                    .tracker
                    .update(id, IncidentChange::Diagnosis(d.one_line()))
                    .await;
                let redact = self.d.redact.clone();
                let attempt = r.attempt;
                self.say(id, &format!("diagnosis:{attempt}"), |_| {
                    diagnosis_message(&d, redact.as_ref())
                })
                .await;
                r.diagnosis = Some(d.clone());
                if r.attempt > 1 {
                    r.path = Path::Agent;
                } else if let Some(m) =
                    crate::runbook::select(&self.d.runbooks, &incident, &facts, self.d.clock.now())
                {
                    let name = m.runbook.name.clone();
                    match crate::runbook::instantiate(m.runbook, &incident, m.signal) {
                        Ok(steps) if steps.is_empty() => {
                            let text = crate::runbook::explain(m.runbook, &incident, m.signal)
                                .ok()
                                .flatten()
                                .unwrap_or_else(|| m.runbook.description.clone());
                            let redact = self.d.redact.clone();
                            self.say(id, "explain", |_| {
                                note(format!("Runbook {name}: {}", redact.redact(&text)))
                            })
                            .await;
                            self.timeline(
                                id,
                                TimelineKind::Note,
                                format!("runbook {name} explains; nothing to do"),
                                json!({"runbook": name}),
                            )
                            .await;
                            r.status = Status::Done;
                            self.save(&r).await;
                            self.update(r);
                            return;
                        }
                        Ok(steps) => {
                            info!(incident = id, runbook = %name, "runbook matches");
                            r.path = Path::Runbook {
                                name,
                                steps: steps.into_iter().map(StepRecord::from).collect(),
                                next: 0,
                            };
                        }
                        Err(e) => {
                            warn!(incident = id, error = %e, "runbook parameters could not be rendered")
                        }
                    }
                }
                if r.path == Path::Unset {
                    r.path = if !d.analysis.suggested_actions.is_empty() {
                        Path::Plan {
                            actions: d.analysis.suggested_actions.clone(),
                            next: 0,
                        }
                    } else if self.model_available() {
                        Path::Agent
                    } else {
                        self.update(r.clone());
                        return self
                            .escalate(r, "no runbook or suggested action fits, and no language model is configured")
                            .await;
                    };
                }
                self.next(r).await;
            }
            JobResult::Planned {
                source,
                why,
                action,
                params,
                result,
            } => match result {
                Ok(plan) => self.propose(r, *plan, why, source).await,
                Err(error) => {
                    info!(incident = id, %action, %error, "plan refused");
                    self.timeline(
                        id,
                        TimelineKind::Note,
                        format!("could not propose {action}: {error}"),
                        json!({"action": action, "params": params, "error": error}),
                    )
                    .await;
                    r.failures.push(FailureNote {
                        action: action.clone(),
                        params: params.clone(),
                        error: error.clone(),
                    });
                    r.remember(format!(
                        "{action} {params} refused before approval: {error}"
                    ));
                    if let Some(s) = r.suggested.take() {
                        return self.suggestion_dropped(r, s, Some(error)).await;
                    }
                    self.alternative(r).await;
                }
            },
            JobResult::Executed { approval, result } => {
                self.on_executed(r, &approval, result).await
            }
            JobResult::Verified { approval, result } => {
                let plan = r.plan.clone();
                let (healthy, detail) = match &result {
                    Ok(v) => (v.healthy(), v.detail.clone()),
                    Err(e) => (false, e.clone()),
                };
                let request = self.request(&approval).await;
                if healthy {
                    self.timeline(
                        id,
                        TimelineKind::Outcome,
                        format!("verified: {detail}"),
                        json!({"approval": approval, "what": "verified", "details": detail}),
                    )
                    .await;
                    if let (Some(req), Some(d)) = (&request, self.decision(&approval).await) {
                        self.d
                            .desk
                            .show_decision(
                                req,
                                &d,
                                Some(&format!("executed and verified: {detail}")),
                            )
                            .await;
                    }
                    if let Some(p) = plan {
                        r.fixed.push(Fixed {
                            action: p.action.clone(),
                            params: p.params.clone(),
                            summary: p.summary.clone(),
                        });
                        r.remember(format!(
                            "executed {}: verified healthy ({detail})",
                            p.summary
                        ));
                    }
                    r.plan = None;
                    if r.ended {
                        return self.wind_down(r).await;
                    }
                    if r.suggested.take().is_some() {
                        return self.suggestion_fixed(r).await;
                    }
                    match &mut r.path {
                        Path::Runbook { next, steps, .. } => {
                            *next += 1;
                            if *next < steps.len() {
                                self.transition(
                                    id,
                                    IncidentState::Remediating,
                                    "next runbook step",
                                )
                                .await;
                                return self.next(r).await;
                            }
                            self.finish(r, "all runbook steps done and verified").await;
                        }
                        Path::Plan { .. } => {
                            self.finish(r, "the proposed action is done and verified")
                                .await
                        }
                        _ => self.next(r).await,
                    }
                } else {
                    self.timeline(id, TimelineKind::Outcome, format!("verification failed: {detail}"), json!({"approval": approval, "what": "verification_failed", "details": detail})).await;
                    if let (Some(req), Some(d)) = (&request, self.decision(&approval).await) {
                        self.d
                            .desk
                            .show_decision(
                                req,
                                &d,
                                Some(&format!(
                                    "executed, but not healthy ({detail}); rolling back"
                                )),
                            )
                            .await;
                    }
                    if let Some(p) = plan {
                        r.failures.push(FailureNote {
                            action: p.action.clone(),
                            params: p.params.clone(),
                            error: format!("did not make it healthy: {detail}"),
                        });
                        r.status = Status::RollingBack {
                            approval: approval.clone(),
                        };
                        self.save(&r).await;
                        self.update(r);
                        jobs::rollback(
                            self.d.clone(),
                            self.jobs.clone(),
                            id.to_string(),
                            approval,
                            p,
                        );
                    } else {
                        self.after_failure(r).await;
                    }
                }
            }
            JobResult::RolledBack { approval, result } => {
                let (what, text) = match &result {
                    Ok(()) => ("rolled_back", "rolled back to the snapshot".to_string()),
                    Err(e) => ("rollback_failed", format!("rollback failed: {e}")),
                };
                self.timeline(
                    id,
                    TimelineKind::Outcome,
                    text.clone(),
                    json!({"approval": approval, "what": what, "details": text}),
                )
                .await;
                self.d
                    .audit
                    .record(
                        self.d
                            .audit
                            .event("outcome", "lookout", text)
                            .incident(id)
                            .approval(&approval),
                    )
                    .await;
                r.plan = None;
                self.after_failure(r).await;
            }
            JobResult::Moved(m) => self.on_move(r, m).await,
        }
    }

    fn model_available(&self) -> bool {
        self.d.llm.as_ref().is_some_and(|l| l.enabled())
    }

    /// The next proposal of the current path.
    pub(super) async fn next(&mut self, mut r: Remediation) {
        let id = r.incident.clone();
        if r.executed >= self.d.config.action_budget {
            return self
                .escalate(r, "the per-incident action budget is spent")
                .await;
        }
        if self.paused().await {
            let until = self.d.clock.now()
                + chrono::Duration::from_std(self.d.config.observe_wait).unwrap_or_default();
            self.say(&id, "paused", |_| {
                note("Automation is paused: no actions are proposed until someone resumes it.")
            })
            .await;
            r.status = Status::Observing { until };
            self.schedule(until, &id, Timer::Observe);
            self.save(&r).await;
            return self.update(r);
        }
        if let Some(approval) = r.held.take() {
            return self.release_held(r, approval).await;
        }
        // A retry (the approval could not be numbered) or a restart mid-way: a change people
        // proposed is planned again, not the path's next step.
        if r.suggested.is_some() {
            return self.plan_suggested(r).await;
        }
        match r.path.clone() {
            Path::Runbook { name, steps, next } => match steps.get(next) {
                Some(step) => {
                    self.plan_step(
                        r,
                        step.action.clone(),
                        step.params.clone(),
                        step.why.clone(),
                        format!("runbook:{name}"),
                    )
                    .await;
                }
                None => self.finish(r, "all runbook steps done").await,
            },
            Path::Plan { actions, next } => match actions.get(next) {
                Some(a) => {
                    self.plan_step(
                        r,
                        a.action.clone(),
                        a.params.clone(),
                        a.reason.clone(),
                        "diagnosis".into(),
                    )
                    .await;
                }
                None => {
                    r.path = if self.model_available() {
                        Path::Agent
                    } else {
                        Path::Unset
                    };
                    if r.path == Path::Agent {
                        Box::pin(self.next(r)).await
                    } else {
                        self.escalate(r, "every suggested action was refused or rejected")
                            .await
                    }
                }
            },
            Path::Agent => {
                if r.steps >= self.d.config.max_steps {
                    let why = format!("{} steps without a fix", r.steps);
                    return self.escalate(r, &why).await;
                }
                r.status = Status::Deciding;
                self.save(&r).await;
                let incident = self.incidents.get(&id).cloned();
                self.update(r.clone());
                if let Some(incident) = incident {
                    jobs::agent_step(self.d.clone(), self.jobs.clone(), incident, r);
                }
            }
            Path::Unset => self.escalate(r, "nothing left to try").await,
        }
    }

    /// Automation resumed: the approved action held meanwhile runs if its approval has not
    /// expired (else it is planned and asked for again); execution re-checks the target.
    async fn release_held(&mut self, mut r: Remediation, approval: String) {
        let id = r.incident.clone();
        let (Some(request), Some(plan)) = (self.request(&approval).await, r.plan.clone()) else {
            r.plan = None;
            return Box::pin(self.next(r)).await;
        };
        if self.d.clock.now() >= request.expires_at {
            self.say(&id, &format!("held-expired:{approval}"), |_| {
                note(format!("{approval} was approved while automation was paused and has expired since; asking again."))
            })
            .await;
            return self
                .plan_step(
                    r,
                    plan.action.clone(),
                    plan.params.clone(),
                    request.why.clone(),
                    request.source.clone(),
                )
                .await;
        }
        r.status = Status::Executing {
            approval: approval.clone(),
        };
        self.save(&r).await;
        self.update(r);
        jobs::execute(self.d.clone(), self.jobs.clone(), id, approval, plan, false);
    }

    /// After a refused plan, a rejection or an expiry: the next option of the path, or the
    /// next path.
    pub(super) async fn alternative(&mut self, mut r: Remediation) {
        if let Some(s) = r.suggested.take() {
            return self.suggestion_dropped(r, s, None).await;
        }
        match &mut r.path {
            Path::Runbook { .. } => {
                let suggested = r
                    .diagnosis
                    .as_ref()
                    .map(|d| d.analysis.suggested_actions.clone())
                    .unwrap_or_default();
                r.path = if !suggested.is_empty() {
                    Path::Plan {
                        actions: suggested,
                        next: 0,
                    }
                } else if self.model_available() {
                    Path::Agent
                } else {
                    Path::Unset
                };
            }
            Path::Plan { next, .. } => *next += 1,
            Path::Agent | Path::Unset => {}
        }
        self.next(r).await
    }

    /// Plans `action` for approval (guards, dry-run) in a job; the result comes back as
    /// `JobResult::Planned`.
    pub(super) async fn plan_step(
        &mut self,
        mut r: Remediation,
        action: String,
        params: Value,
        why: String,
        source: String,
    ) {
        let id = r.incident.clone();
        r.status = Status::Planning;
        self.save(&r).await;
        self.update(r);
        jobs::plan(
            self.d.clone(),
            self.jobs.clone(),
            id,
            action,
            params,
            why,
            source,
        );
    }

    async fn propose(
        &mut self,
        mut r: Remediation,
        plan: crate::actions::Plan,
        why: String,
        source: String,
    ) {
        let id = r.incident.clone();
        let now = self.d.clock.now();
        let n = match self.d.store.incr("approval-seq", 1, None).await {
            Ok(n) => n,
            Err(error) => {
                warn!(%error, "cannot number an approval; retrying later");
                let until = now + chrono::Duration::seconds(10);
                r.status = Status::Observing { until };
                self.schedule(until, &id, Timer::Observe);
                self.save(&r).await;
                return self.update(r);
            }
        };
        let rule = self.d.approvals.rule(plan.risk);
        let request = ApprovalRequest {
            id: format!("A-{n}"),
            incident: id.clone(),
            plan: plan.clone(),
            why: why.clone(),
            source: source.clone(),
            approvers_needed: rule.approvers(),
            who_may_approve: self.d.approvals.who_may_approve(plan.risk),
            requested_at: now,
            expires_at: now
                + chrono::Duration::from_std(self.d.approvals.expires_after).unwrap_or_default(),
        };
        let record = ApprovalRecord {
            id: request.id.clone(),
            incident_id: id.clone(),
            request: json!(request),
            created_at: now,
            expires_at: request.expires_at,
        };
        if let Err(error) = self.d.store.create_approval(&record).await {
            warn!(%error, "cannot store an approval request");
            if let Some(s) = r.suggested.take() {
                let why = format!("the approval request could not be stored: {error}");
                return self.suggestion_dropped(r, s, Some(why)).await;
            }
            return self
                .escalate(r, &format!("the approval could not be stored: {error}"))
                .await;
        }
        r.plan = Some(plan.clone());
        r.status = Status::Awaiting {
            approval: request.id.clone(),
        };
        self.save(&r).await;
        self.update(r);
        self.post_approval(&request).await;
        self.timeline(&id, TimelineKind::Proposal, format!("proposed {}: {}", plan.action, plan.summary), json!({
            "approval": request.id, "action": plan.action, "params": plan.params, "summary": plan.summary,
            "risk": plan.risk, "why": why, "source": source,
        }))
        .await;
        self.d
            .audit
            .record(self.d.audit.event("proposal", "lookout", plan.summary.clone()).incident(&id).approval(&request.id).detail(json!({"action": plan.action, "params": plan.params, "risk": plan.risk, "source": source})))
            .await;
        self.d.metrics.proposed(&source);
        self.transition(
            &id,
            IncidentState::AwaitingApproval,
            &format!("{} awaits approval", request.id),
        )
        .await;
        self.schedule(request.expires_at, &id, Timer::Expiry(request.id.clone()));
    }

    pub(super) async fn request(&self, approval: &str) -> Option<ApprovalRequest> {
        let stored = self.d.store.approval(approval).await.ok()??;
        serde_json::from_value(stored.record.request).ok()
    }

    async fn decision(&self, approval: &str) -> Option<Decision> {
        self.d.store.approval(approval).await.ok()??.decision
    }

    pub(super) async fn on_decision(&mut self, request: ApprovalRequest, decision: Decision) {
        let id = request.incident.clone();
        let mine = self.mine(&id).await;
        let mut r = match self.running.get(&id).cloned().filter(|_| mine) {
            Some(r) => r,
            // Decided through another process: take the remediation over from the store.
            None => match self
                .d
                .store
                .get_json::<Remediation>(REMEDIATIONS, &id)
                .await
                .ok()
                .flatten()
            {
                Some(r) if !r.status.is_final() => {
                    if let Ok(Some(i)) = self
                        .d
                        .store
                        .get_json::<Incident>(crate::incident::tracker::INCIDENTS, &id)
                        .await
                    {
                        self.incidents.insert(id.clone(), i);
                    }
                    r
                }
                _ => return,
            },
        };
        if r.status
            != (Status::Awaiting {
                approval: request.id.clone(),
            })
        {
            return;
        }
        self.unschedule(&id, &Timer::Expiry(request.id.clone()));
        let verdict = match decision.verdict {
            Verdict::Approved => "approved",
            Verdict::Rejected => "rejected",
            Verdict::Expired => "expired",
        };
        self.d.metrics.decided(verdict);
        match decision.verdict {
            Verdict::Approved => {
                r.status = Status::Executing {
                    approval: request.id.clone(),
                };
                self.save(&r).await;
                self.update(r);
                self.transition(
                    &id,
                    IncidentState::Remediating,
                    &format!("{} approved by {}", request.id, decision.by),
                )
                .await;
                self.d
                    .desk
                    .show_decision(&request, &decision, Some("executing…"))
                    .await;
                jobs::execute(
                    self.d.clone(),
                    self.jobs.clone(),
                    id,
                    request.id,
                    request.plan,
                    false,
                );
            }
            Verdict::Rejected | Verdict::Expired => {
                let reason = match decision.verdict {
                    Verdict::Expired => "it expired without a decision".to_string(),
                    _ => reason_of(&self.d.store, &request.id)
                        .await
                        .unwrap_or_else(|| "(no reason given yet)".into()),
                };
                r.rejections.push(RejectionNote {
                    approval: request.id.clone(),
                    action: request.plan.action.clone(),
                    params: request.plan.params.clone(),
                    by: decision.by.clone(),
                    reason: reason.clone(),
                });
                r.remember(format!(
                    "{} was {verdict} by {}: {reason}",
                    request.plan.summary, decision.by
                ));
                r.plan = None;
                self.transition(
                    &id,
                    IncidentState::Remediating,
                    &format!("{} {verdict}", request.id),
                )
                .await;
                // A change people proposed while Lookout had nothing more to try goes back
                // to that at once: no model step waits for the reason.
                let back_to_idle = r.suggested.as_ref().is_some_and(|s| s.before.is_final());
                let reason_pending = decision.verdict == Verdict::Rejected
                    && !back_to_idle
                    && reason_of(&self.d.store, &request.id).await.is_none();
                if reason_pending && !self.d.config.reason_wait.is_zero() {
                    // The model does better knowing why: give the rejecter a moment to say.
                    let until = self.d.clock.now()
                        + chrono::Duration::from_std(self.d.config.reason_wait).unwrap_or_default();
                    r.awaiting_reason = true;
                    r.status = Status::Observing { until };
                    self.schedule(until, &id, Timer::Reason);
                    self.save(&r).await;
                    return self.update(r);
                }
                self.alternative(r).await;
            }
        }
    }

    pub(super) async fn on_reason(&mut self, approval: &str, reason: String) {
        let Some((id, mut r)) = self
            .running
            .iter()
            .find(|(_, r)| r.rejections.iter().any(|x| x.approval == approval))
            .map(|(k, v)| (k.clone(), v.clone()))
        else {
            return;
        };
        for x in r.rejections.iter_mut().filter(|x| x.approval == approval) {
            x.reason = reason.clone();
        }
        r.remember(format!(
            "the reason given for rejecting {approval}: {reason}"
        ));
        if r.awaiting_reason {
            r.awaiting_reason = false;
            self.unschedule(&id, &Timer::Reason);
            return self.alternative(r).await;
        }
        self.save(&r).await;
        self.running.insert(id, r);
    }

    async fn on_executed(
        &mut self,
        mut r: Remediation,
        approval: &str,
        result: Result<crate::actions::Execution, ExecError>,
    ) {
        let id = r.incident.clone();
        let Some(plan) = r.plan.clone() else {
            return;
        };
        let request = self.request(approval).await;
        let decision = self.decision(approval).await;
        let desk = self.d.desk.clone();
        let show = |text: String| {
            let desk = desk.clone();
            let (request, decision) = (request.clone(), decision.clone());
            async move {
                if let (Some(req), Some(d)) = (request, decision) {
                    desk.show_decision(&req, &d, Some(&text)).await;
                }
            }
        };
        match result {
            Ok(execution) => {
                r.executed += 1;
                r.execution = Some(execution.clone());
                r.status = Status::Verifying {
                    approval: approval.to_string(),
                };
                self.save(&r).await;
                self.update(r);
                self.timeline(&id, TimelineKind::Action, format!("executed {}", plan.summary), json!({"approval": approval, "action": plan.action, "summary": plan.summary, "result": "ok"})).await;
                self.d.audit.record(self.d.audit.event("action", "lookout", format!("executed {}", plan.summary)).incident(&id).approval(approval).detail(json!({"action": plan.action, "params": plan.params, "result": "ok"}))).await;
                show("executed; verifying…".into()).await;
                self.transition(
                    &id,
                    IncidentState::Verifying,
                    &format!("{} executed", plan.action),
                )
                .await;
                jobs::verify(
                    self.d.clone(),
                    self.jobs.clone(),
                    id,
                    approval.to_string(),
                    plan,
                    execution,
                );
            }
            Err(ExecError::Stale(reason)) => {
                self.timeline(&id, TimelineKind::Action, format!("not executed: {reason}"), json!({"approval": approval, "action": plan.action, "summary": plan.summary, "result": "stale", "error": reason})).await;
                if r.ended {
                    show(format!(
                        "void: {reason}; the incident has ended, so nothing more is asked"
                    ))
                    .await;
                    return self.wind_down(r).await;
                }
                show(format!("void: {reason}; a fresh approval follows")).await;
                let source = request
                    .as_ref()
                    .map(|q| q.source.clone())
                    .unwrap_or_else(|| "agent".into());
                let why = request.as_ref().map(|q| q.why.clone()).unwrap_or_default();
                self.plan_step(
                    r,
                    plan.action.clone(),
                    plan.params.clone(),
                    format!("{why} (the target changed since the last approval)"),
                    source,
                )
                .await;
            }
            Err(ExecError::Paused) => {
                show(
                    "approved; held while automation is paused — it runs on resume if still valid"
                        .into(),
                )
                .await;
                let until = self.d.clock.now()
                    + chrono::Duration::from_std(self.d.config.observe_wait).unwrap_or_default();
                r.held = Some(approval.to_string());
                r.status = Status::Observing { until };
                self.schedule(until, &id, Timer::Observe);
                self.save(&r).await;
                self.update(r);
            }
            Err(ExecError::Claimed) => {
                info!(incident = %id, approval, "another process executes this approval");
                self.running.remove(&id);
            }
            Err(ExecError::Failed(error)) => {
                self.timeline(&id, TimelineKind::Action, format!("failed: {error}"), json!({"approval": approval, "action": plan.action, "summary": plan.summary, "result": "failed", "error": error})).await;
                self.d
                    .audit
                    .record(
                        self.d
                            .audit
                            .event(
                                "action",
                                "lookout",
                                format!("failed {}: {error}", plan.summary),
                            )
                            .incident(&id)
                            .approval(approval),
                    )
                    .await;
                show(format!("failed: {error}")).await;
                r.failures.push(FailureNote {
                    action: plan.action.clone(),
                    params: plan.params.clone(),
                    error,
                });
                r.plan = None;
                self.after_failure(r).await;
            }
        }
    }

    /// A strategy failed: another attempt with the evidence (re-analysis), or escalation.
    async fn after_failure(&mut self, mut r: Remediation) {
        if r.ended {
            return self.wind_down(r).await;
        }
        if let Some(s) = r.suggested.take() {
            return self.suggestion_dropped(r, s, None).await;
        }
        r.attempt += 1;
        if r.attempt > self.d.config.max_attempts {
            return self
                .escalate(
                    r,
                    &format!("{} attempts failed", self.d.config.max_attempts),
                )
                .await;
        }
        if !self.model_available() {
            return self.escalate(r, "the runbook's action did not fix it and no language model is configured to try another way").await;
        }
        let id = r.incident.clone();
        self.transition(
            &id,
            IncidentState::Remediating,
            "re-analysing after a failure",
        )
        .await;
        r.status = Status::Investigating;
        r.path = Path::Agent;
        self.save(&r).await;
        self.update(r);
        if let Some(incident) = self.incidents.get(&id).cloned() {
            jobs::investigate(self.d.clone(), self.jobs.clone(), incident);
        }
    }

    async fn on_move(&mut self, mut r: Remediation, m: AgentMove) {
        let id = r.incident.clone();
        r.steps += 1;
        self.d.metrics.step();
        match m {
            AgentMove::Looked(line) => {
                r.remember(line);
                self.next(r).await;
            }
            AgentMove::Nothing(why) => {
                r.remember(format!("no move: {why}"));
                self.next(r).await;
            }
            AgentMove::Act {
                action,
                params,
                why,
            } => {
                self.plan_step(r, action, params, why, "agent".into()).await;
            }
            AgentMove::Wait { seconds, reason } => {
                let until = self.d.clock.now() + chrono::Duration::seconds(seconds.min(600) as i64);
                r.remember(format!("waited {seconds}s: {reason}"));
                r.status = Status::Observing { until };
                self.schedule(until, &id, Timer::Observe);
                self.save(&r).await;
                self.update(r);
            }
            AgentMove::Resolved(summary) => {
                self.timeline(
                    &id,
                    TimelineKind::Outcome,
                    format!("the model sees it resolved: {summary}"),
                    json!({"what": "resolved", "details": summary}),
                )
                .await;
                self.transition(&id, IncidentState::Verifying, "the workload looks healthy")
                    .await;
                self.finish(r, &summary).await;
            }
            AgentMove::Escalate(reason) => self.escalate(r, &reason).await,
        }
    }

    pub(super) async fn on_timer(&mut self, id: &str, timer: Timer) {
        if !self.mine(id).await {
            return;
        }
        let Some(r) = self.running.get(id).cloned() else {
            return;
        };
        match timer {
            Timer::Expiry(approval) => {
                if let Some(request) = self.request(&approval).await {
                    let expiry = Decision {
                        verdict: Verdict::Expired,
                        by: "lookout".into(),
                        at: self.d.clock.now(),
                        reason: None,
                    };
                    // The decision comes back as an event if this expiry won.
                    let _ = self.d.desk.decide(&request, expiry).await;
                }
            }
            Timer::Observe => {
                if matches!(r.status, Status::Observing { .. }) {
                    self.next(r).await;
                }
            }
            Timer::Reason => {
                if r.awaiting_reason {
                    let mut r = r;
                    r.awaiting_reason = false;
                    self.alternative(r).await;
                }
            }
            Timer::Deadline => {
                // A change people proposed is theirs to see through; the limit is for
                // Lookout's own attempts.
                if !r.status.is_final() && r.suggested.is_none() {
                    self.escalate(r, &format!("no fix within {:?}", self.d.config.timeout))
                        .await;
                }
            }
        }
    }

    pub(super) async fn finish(&mut self, mut r: Remediation, why: &str) {
        info!(incident = %r.incident, why, "remediation done; the incident resolves once its signals stay clear");
        r.status = Status::Done;
        r.suggested = None;
        self.save(&r).await;
        self.update(r);
    }

    pub(super) async fn escalate(&mut self, mut r: Remediation, reason: &str) {
        let id = r.incident.clone();
        warn!(incident = %id, reason, "escalating");
        r.status = Status::Escalated;
        r.suggested = None;
        self.save(&r).await;
        self.update(r.clone());
        self.d.metrics.escalated();
        let _ = self
            .d
            .tracker
            .update(
                &id,
                IncidentChange::Transition {
                    to: IncidentState::Escalated,
                    note: reason.to_string(),
                    by: None,
                },
            )
            .await;
        let on_call = self.d.escalation.on_call.clone();
        let tried = r.history.clone();
        self.say(&id, "escalation", |t| {
            escalation_message(on_call.for_platform(&t.platform), reason, &tried)
        })
        .await;
        self.timeline(
            &id,
            TimelineKind::Outcome,
            format!("escalated: {reason}"),
            json!({"what": "escalated", "details": reason}),
        )
        .await;
        self.d
            .audit
            .record(
                self.d
                    .audit
                    .event("escalation", "lookout", reason.to_string())
                    .incident(&id),
            )
            .await;
        self.postmortem(&id);
    }

    /// The incident ended: stop, void a pending approval, and write the postmortem; an action
    /// already touching the cluster is seen through first.
    pub(super) async fn on_ended(&mut self, incident: Incident) {
        let id = incident.id.clone();
        if incident.state == IncidentState::Resolved {
            let d = (incident.resolved_at.unwrap_or_else(Utc::now) - incident.created_at)
                .to_std()
                .unwrap_or_default();
            self.d.metrics.resolved_after(d);
        }
        let mine = self.mine(&id).await;
        let Some(mut r) = self.running.get(&id).cloned().filter(|_| mine) else {
            self.postmortem(&id);
            return;
        };
        self.incidents.insert(id.clone(), incident);
        if r.status.in_flight() {
            info!(incident = %id, status = ?r.status, "the incident ended during an action; seeing it through first");
            r.ended = true;
            self.save(&r).await;
            return self.update(r);
        }
        if let Status::Awaiting { approval } = &r.status
            && let Some(request) = self.request(approval).await
        {
            let void = Decision {
                verdict: Verdict::Expired,
                by: "lookout".into(),
                at: self.d.clock.now(),
                reason: Some("no longer needed: the incident ended".into()),
            };
            let _ = self.d.desk.decide(&request, void).await;
        }
        self.wind_down(r).await;
    }

    /// Stops a remediation whose incident ended, learns from an agentic fix, and writes the
    /// postmortem.
    pub(super) async fn wind_down(&mut self, mut r: Remediation) {
        let id = r.incident.clone();
        self.running.remove(&id);
        self.timers.retain(|(_, i, _)| i != &id);
        let incident = self.incidents.remove(&id);
        if let Some(incident) = &incident
            && r.path == Path::Agent
            && !r.fixed.is_empty()
            && incident.state == IncidentState::Resolved
        {
            super::learn::save(&self.d, incident, &r).await;
        }
        r.status = Status::Stopped;
        r.suggested = None;
        self.save(&r).await;
        self.postmortem(&id);
    }

    /// After a restart: carry on from the stored status.
    pub(super) async fn reconcile(&mut self, r: Remediation) {
        let id = r.incident.clone();
        match r.status.clone() {
            Status::Investigating => {
                if let Some(incident) = self.incidents.get(&id).cloned() {
                    jobs::investigate(self.d.clone(), self.jobs.clone(), incident);
                }
            }
            Status::Deciding | Status::Planning => self.next(r).await,
            Status::Awaiting { approval } => match (
                self.request(&approval).await,
                self.decision(&approval).await,
            ) {
                (Some(request), Some(decision)) => self.on_decision(request, decision).await,
                (Some(request), None) => {
                    self.schedule(request.expires_at, &id, Timer::Expiry(approval))
                }
                _ => self.next(r).await,
            },
            Status::Executing { approval } => {
                if let Some(plan) = r.plan.clone() {
                    jobs::execute(self.d.clone(), self.jobs.clone(), id, approval, plan, true);
                }
            }
            Status::Verifying { approval } => {
                if let (Some(plan), Some(execution)) = (r.plan.clone(), r.execution.clone()) {
                    jobs::verify(
                        self.d.clone(),
                        self.jobs.clone(),
                        id,
                        approval,
                        plan,
                        execution,
                    );
                }
            }
            Status::RollingBack { approval } => {
                if let Some(plan) = r.plan.clone() {
                    jobs::rollback(self.d.clone(), self.jobs.clone(), id, approval, plan);
                }
            }
            Status::Observing { until } if r.awaiting_reason => {
                self.schedule(until, &id, Timer::Reason)
            }
            Status::Observing { until } => self.schedule(until, &id, Timer::Observe),
            Status::Done | Status::Escalated | Status::Stopped => {}
        }
    }
}
