//! The approval desk: answers Approve and Reject clicks, exactly once whatever happens — double
//! clicks, two people at the same instant, the same click reaching two processes: the
//! decision is a claim in the store (`decide` sets it only if unset, atomically), so one caller
//! wins and everyone else is told who decided first. Unauthorised clicks get a private refusal
//! and an audit entry. Two-approver actions collect distinct votes first. The decided message
//! is edited everywhere it was posted, and the remediation loop is told.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;
use tokio::sync::mpsc;
use tracing::{info, warn};

use super::policy::ApprovalsConfig;
use super::request::{APPROVE, ApprovalRequest, REJECT};
use crate::audit::Audit;
use crate::chat::handler::{ClickHandler, ClickReply, ReplyHandler};
use crate::chat::notifier::ROUTES;
use crate::chat::outbound::Outbound;
use crate::chat::redact::SharedRedact;
use crate::chat::routing::Target;
use crate::chat::{Action, ActionCodec, Click, Inbound, Message};
use crate::clock::SharedClock;
use crate::incident::{TimelineEntry, TimelineKind};
use crate::store::{DecideOutcome, Decision, SharedStore, StoreExt, Verdict};

/// Told to the remediation loop.
#[derive(Debug, Clone, PartialEq)]
pub enum ApprovalEvent {
    Decided {
        request: Box<ApprovalRequest>,
        decision: Decision,
    },
    /// A reason given after a rejection (a thread reply).
    Reason { approval: String, reason: String },
}

/// Where the reason of a rejection is awaited: (platform user) -> approval.
const AWAITING_REASON: &str = "approval-awaiting-reason";
const REASONS: &str = "approval-reasons";

pub fn message_key(approval: &str, target: &Target) -> String {
    format!("approval:{approval}:{}", target.key())
}

pub struct Desk {
    pub store: SharedStore,
    pub clock: SharedClock,
    pub policy: ApprovalsConfig,
    pub outbound: Outbound,
    pub codec: ActionCodec,
    pub redact: SharedRedact,
    pub audit: Audit,
    pub events: mpsc::UnboundedSender<ApprovalEvent>,
}

impl Desk {
    async fn request(
        &self,
        id: &str,
    ) -> Result<Option<(ApprovalRequest, Option<Decision>)>, String> {
        let stored = self.store.approval(id).await.map_err(|e| e.to_string())?;
        let Some(stored) = stored else {
            return Ok(None);
        };
        let request: ApprovalRequest =
            serde_json::from_value(stored.record.request).map_err(|e| e.to_string())?;
        Ok(Some((request, stored.decision)))
    }

    /// Where an incident's messages go (the routed targets of its card).
    pub async fn targets(&self, incident: &str) -> Vec<Target> {
        self.store
            .get_json::<Vec<Target>>(ROUTES, incident)
            .await
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// Shows the message of a request everywhere, with the current votes (used before a
    /// decision).
    pub async fn show_votes(&self, request: &ApprovalRequest, votes: &[String]) {
        let diff = self.redact.redact(&request.plan.diff);
        let message = request.message(&self.codec, &diff, votes);
        self.edit_everywhere(request, message).await;
    }

    /// Edits the request's message everywhere to show the decision and an outcome.
    pub async fn show_decision(
        &self,
        request: &ApprovalRequest,
        decision: &Decision,
        outcome: Option<&str>,
    ) {
        let diff = self.redact.redact(&request.plan.diff);
        let message = request.decided_message(&diff, decision, outcome);
        self.edit_everywhere(request, message).await;
    }

    async fn edit_everywhere(&self, request: &ApprovalRequest, message: Message) {
        for t in self.targets(&request.incident).await {
            self.outbound
                .edit(
                    &message_key(&request.id, &t),
                    &t.platform,
                    &t.channel,
                    message.clone(),
                )
                .await;
        }
    }

    /// Decides `id` with `decision` if nobody did; on success updates everything.
    pub async fn decide(
        &self,
        request: &ApprovalRequest,
        decision: Decision,
    ) -> Result<DecideOutcome, String> {
        let outcome = self
            .store
            .decide(&request.id, &decision)
            .await
            .map_err(|e| e.to_string())?;
        if let DecideOutcome::Decided(_) = &outcome {
            self.after_decision(request, &decision).await;
        }
        Ok(outcome)
    }

    async fn after_decision(&self, request: &ApprovalRequest, decision: &Decision) {
        info!(approval = %request.id, incident = %request.incident, verdict = ?decision.verdict, by = %decision.by, "decision");
        self.show_decision(request, decision, None).await;
        let verdict = match decision.verdict {
            Verdict::Approved => "approved",
            Verdict::Rejected => "rejected",
            Verdict::Expired => "expired",
        };
        let platform = decision
            .by
            .split(':')
            .next()
            .unwrap_or_default()
            .to_string();
        let mut entry = TimelineEntry::new(
            decision.at,
            TimelineKind::Decision,
            format!("{} {verdict} by {}", request.plan.summary, decision.by),
        )
        .with_data(json!({
            "approval": request.id, "verdict": verdict, "by": decision.by,
            "platform": platform, "reason": decision.reason,
        }));
        if decision.verdict != Verdict::Expired {
            entry = entry.by(decision.by.clone());
        }
        if let Err(e) = self
            .store
            .append_timeline_json(&request.incident, &entry)
            .await
        {
            warn!(error = %e, "cannot append the decision to the timeline");
        }
        self.audit
            .record(
                self.audit
                    .event("decision", &decision.by, format!("{verdict}: {}", request.plan.summary))
                    .incident(&request.incident)
                    .approval(&request.id)
                    .detail(json!({"verdict": verdict, "action": request.plan.action, "params": request.plan.params})),
            )
            .await;
        let _ = self.events.send(ApprovalEvent::Decided {
            request: Box::new(request.clone()),
            decision: decision.clone(),
        });
    }

    async fn refuse(&self, click: &Click, request: &ApprovalRequest, why: String) -> ClickReply {
        warn!(user = %click.user.identity(), approval = %request.id, %why, "click refused");
        self.audit
            .record(
                self.audit
                    .event("refused_click", &click.user.identity(), why.clone())
                    .incident(&request.incident)
                    .approval(&request.id),
            )
            .await;
        ClickReply::Private(format!("{why}. Ask {}.", request.who_may_approve))
    }
}

#[async_trait]
impl ClickHandler for Desk {
    async fn click(&self, click: &Click, action: &Action) -> ClickReply {
        let (request, decision) = match self.request(&action.arg).await {
            Ok(Some(r)) => r,
            Ok(None) => return ClickReply::Private(crate::chat::handler::EXPIRED.into()),
            Err(e) => {
                warn!(error = %e, "cannot read an approval");
                return ClickReply::Private(
                    "I cannot read this proposal right now; try again in a moment.".into(),
                );
            }
        };
        if let Some(d) = decision {
            return ClickReply::Private(already(&d));
        }
        let now = self.clock.now();
        let user = click.user.identity();
        if now >= request.expires_at {
            let expiry = Decision {
                verdict: Verdict::Expired,
                by: "lookout".into(),
                at: now,
                reason: None,
            };
            return match self.decide(&request, expiry).await {
                Ok(DecideOutcome::AlreadyDecided(s)) => ClickReply::Private(already(
                    &s.decision.unwrap_or_else(|| unreachable_decision(now)),
                )),
                _ => ClickReply::Private("This proposal has expired.".into()),
            };
        }
        if let Err(refusal) = self.policy.authorize(&click.user, request.plan.risk) {
            return self.refuse(click, &request, refusal.to_string()).await;
        }
        match action.verb.as_str() {
            REJECT => {
                let decision = Decision {
                    verdict: Verdict::Rejected,
                    by: user.clone(),
                    at: now,
                    reason: None,
                };
                match self.decide(&request, decision).await {
                    Ok(DecideOutcome::Decided(_)) => {
                        let key = format!("{}:{}", click.platform, click.user.id);
                        let _ = self
                            .store
                            .put(
                                AWAITING_REASON,
                                &key,
                                &request.id,
                                Some(std::time::Duration::from_secs(30 * 60)),
                            )
                            .await;
                        ClickReply::Private("Rejected. Reply in this thread with the reason; it helps find another way.".into())
                    }
                    Ok(DecideOutcome::AlreadyDecided(s)) => ClickReply::Private(already(
                        &s.decision.unwrap_or_else(|| unreachable_decision(now)),
                    )),
                    Ok(DecideOutcome::NotFound) => {
                        ClickReply::Private(crate::chat::handler::EXPIRED.into())
                    }
                    Err(e) => ClickReply::Private(format!(
                        "Your decision could not be recorded ({e}); try again."
                    )),
                }
            }
            APPROVE => {
                let by = if request.approvers_needed > 1 {
                    let votes = match self.store.add_vote(&request.id, &user).await {
                        Ok(v) => v,
                        Err(e) => {
                            return ClickReply::Private(format!(
                                "Your approval could not be recorded ({e}); try again."
                            ));
                        }
                    };
                    if votes.len() < request.approvers_needed {
                        self.audit
                            .record(
                                self.audit
                                    .event(
                                        "vote",
                                        &user,
                                        format!("approves {}", request.plan.summary),
                                    )
                                    .incident(&request.incident)
                                    .approval(&request.id),
                            )
                            .await;
                        self.show_votes(&request, &votes).await;
                        return ClickReply::Private(format!(
                            "Your approval is recorded ({} of {}); it needs another approver.",
                            votes.len(),
                            request.approvers_needed
                        ));
                    }
                    votes.join(" and ")
                } else {
                    user.clone()
                };
                let decision = Decision {
                    verdict: Verdict::Approved,
                    by,
                    at: now,
                    reason: None,
                };
                match self.decide(&request, decision).await {
                    Ok(DecideOutcome::Decided(_)) => ClickReply::Done,
                    Ok(DecideOutcome::AlreadyDecided(s)) => ClickReply::Private(already(
                        &s.decision.unwrap_or_else(|| unreachable_decision(now)),
                    )),
                    Ok(DecideOutcome::NotFound) => {
                        ClickReply::Private(crate::chat::handler::EXPIRED.into())
                    }
                    Err(e) => ClickReply::Private(format!(
                        "Your decision could not be recorded ({e}); try again."
                    )),
                }
            }
            _ => ClickReply::Private(crate::chat::handler::EXPIRED.into()),
        }
    }
}

/// A decided record without a decision cannot happen; this keeps the message sensible anyway.
fn unreachable_decision(now: chrono::DateTime<chrono::Utc>) -> Decision {
    Decision {
        verdict: Verdict::Expired,
        by: "someone".into(),
        at: now,
        reason: None,
    }
}

fn already(d: &Decision) -> String {
    match d.verdict {
        Verdict::Approved => format!("Already approved by {}.", d.by),
        Verdict::Rejected => format!("Already rejected by {}.", d.by),
        Verdict::Expired => "This proposal has expired.".into(),
    }
}

/// The reason of a rejection, given as a thread reply by the person who rejected.
#[async_trait]
impl ReplyHandler for Desk {
    async fn reply(&self, m: &Inbound) -> Option<Message> {
        let key = format!("{}:{}", m.platform, m.user.id);
        let approval = self.store.get(AWAITING_REASON, &key).await.ok()??;
        let _ = self.store.delete(AWAITING_REASON, &key).await;
        let reason = m.text.trim().to_string();
        if reason.is_empty() {
            return None;
        }
        let _ = self.store.put(REASONS, &approval, &reason, None).await;
        if let Ok(Some((request, Some(decision)))) = self.request(&approval).await {
            let with_reason = Decision {
                reason: Some(reason.clone()),
                ..decision
            };
            self.show_decision(&request, &with_reason, None).await;
            let entry = TimelineEntry::new(
                self.clock.now(),
                TimelineKind::Note,
                format!("rejection reason: {reason}"),
            )
            .by(m.user.identity())
            .with_data(json!({"approval": approval, "reason": reason}));
            let _ = self
                .store
                .append_timeline_json(&request.incident, &entry)
                .await;
        }
        let _ = self.events.send(ApprovalEvent::Reason {
            approval: approval.clone(),
            reason,
        });
        Some(Message::text(format!(
            "Noted the reason for rejecting {approval}."
        )))
    }
}

/// The reason given for a rejection, if any.
pub async fn reason_of(store: &SharedStore, approval: &str) -> Option<String> {
    store.get(REASONS, approval).await.ok().flatten()
}

/// Shared handle.
pub type SharedDesk = Arc<Desk>;
