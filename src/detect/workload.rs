//! apps/v1 workload signals: a Deployment rollout past its deadline, replicas unavailable,
//! pods the controller cannot create (quota), StatefulSets and DaemonSets with pods not ready.
//! A rollout in progress is not yet a problem: Deployments have their progress deadline,
//! StatefulSets and DaemonSets get `rollout_grace`.

use chrono::{DateTime, Utc};

use crate::model::{DaemonSet, Deployment, MetaExt, ReplicaSet, StatefulSet};

use super::causes::exhausted_quota;
use super::detector::{Detection, Detector, Draft, Subject};
use super::events::{EventFact, FactKind};
use super::owners::OwnerLookup;
use super::signal::{Evidence, SignalName};

impl Detector {
    pub fn deployment(
        &self,
        deployment: &Deployment,
        lookup: &(impl OwnerLookup + ?Sized),
        now: DateTime<Utc>,
    ) -> Detection {
        let mut out = Detection::default();
        let d = deployment;
        if d.is_deleting() || !self.scope.namespace_in_scope(d.namespace()) {
            return out;
        }
        let mut drafts = Vec::new();
        let desired = d.desired_replicas();
        let unavailable = d
            .status
            .unavailable_replicas
            .max(desired - d.status.available_replicas)
            .max(0);
        let base = |reason: &str, message: &str, since| {
            Evidence::new(reason, message)
                .with_count(unavailable)
                .with_since(since)
                .with_detail("desired", desired)
                .with_detail("updated", d.status.updated_replicas)
                .with_detail("ready", d.status.ready_replicas)
                .with_detail("available", d.status.available_replicas)
                .with_detail("images", d.spec.template.images())
        };

        let progressing = d.condition("Progressing");
        if let Some(c) =
            progressing.filter(|c| c.is_false() && c.reason() == "ProgressDeadlineExceeded")
        {
            let evidence = base(c.reason(), c.message(), c.last_transition_time);
            drafts.push(Draft::new(SignalName::RolloutStuck, evidence));
        }

        let rolling_out = d.status.observed_generation < d.metadata.generation
            || progressing.is_some_and(|c| c.is_true() && c.reason() != "NewReplicaSetAvailable");
        if let Some(c) = d.condition("Available").filter(|c| c.is_false())
            && desired > 0
            && !rolling_out
        {
            let since = c.last_transition_time.unwrap_or(now);
            if out.grace_over(since, self.config.replicas_unavailable_grace, now) {
                let evidence = base(c.reason(), c.message(), Some(since));
                drafts.push(Draft::new(SignalName::ReplicasUnavailable, evidence));
            }
        }

        if let Some(c) = d.condition("ReplicaFailure").filter(|c| c.is_true()) {
            let evidence = base(c.reason(), c.message(), c.last_transition_time);
            let cause = exhausted_quota(c.message(), d.namespace());
            drafts.push(Draft::new(SignalName::ReplicaFailure, evidence).with_cause(cause));
        }

        let subject = Subject::new("Deployment", d).opted_out_if(d.spec.template.opted_out());
        self.finish(&mut out, drafts, subject, d, lookup);
        out
    }

    /// A ReplicaSet's `replica_failure`: its ReplicaFailure condition, or recent FailedCreate
    /// events while it lacks pods.
    pub fn replicaset(
        &self,
        rs: &ReplicaSet,
        facts: &[EventFact],
        lookup: &(impl OwnerLookup + ?Sized),
        now: DateTime<Utc>,
    ) -> Detection {
        let mut out = Detection::default();
        if rs.is_deleting() || !self.scope.namespace_in_scope(rs.namespace()) {
            return out;
        }
        let mut drafts = Vec::new();
        let missing = rs.desired_replicas() - rs.status.replicas;
        if let Some(c) = rs.condition("ReplicaFailure").filter(|c| c.is_true()) {
            let evidence = Evidence::new(c.reason(), c.message())
                .with_count(missing.max(0))
                .with_since(c.last_transition_time);
            let cause = exhausted_quota(c.message(), rs.namespace());
            drafts.push(Draft::new(SignalName::ReplicaFailure, evidence).with_cause(cause));
        } else if missing > 0 {
            drafts.extend(self.create_failed(rs.uid(), facts, missing, now, &mut out));
        }
        self.finish(&mut out, drafts, Subject::new("ReplicaSet", rs), rs, lookup);
        out
    }

    /// `unready_since` is the value the previous detection of this StatefulSet returned.
    pub fn statefulset(
        &self,
        sts: &StatefulSet,
        facts: &[EventFact],
        lookup: &(impl OwnerLookup + ?Sized),
        unready_since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Detection {
        let mut out = Detection::default();
        if sts.is_deleting() || !self.scope.namespace_in_scope(sts.namespace()) {
            return out;
        }
        let mut drafts = Vec::new();
        let s = &sts.status;
        let desired = sts.desired_replicas();
        let not_ready = desired - s.ready_replicas;
        if desired > 0 && not_ready > 0 {
            let rolling = sts.status.observed_generation < sts.metadata.generation
                || s.replicas < desired
                || (s.update_revision.is_some() && s.current_revision != s.update_revision);
            let since = unready_since.unwrap_or(now);
            out.unready_since = Some(since);
            let grace = if rolling {
                self.config.rollout_grace
            } else {
                self.config.replicas_unavailable_grace
            };
            if out.grace_over(since, grace, now) {
                let message = format!("{} of {desired} replicas are not ready", not_ready);
                let evidence = Evidence::new(
                    if rolling {
                        "RolloutNotReady"
                    } else {
                        "ReplicasNotReady"
                    },
                    message,
                )
                .with_count(not_ready)
                .with_since(Some(since))
                .with_detail("desired", desired)
                .with_detail("ready", s.ready_replicas)
                .with_detail("current", s.current_replicas)
                .with_detail("updated", s.updated_replicas)
                .with_detail("images", sts.spec.template.images());
                drafts.push(Draft::new(SignalName::StatefulsetNotReady, evidence));
            }
        }
        if s.replicas < desired {
            drafts.extend(self.create_failed(
                sts.uid(),
                facts,
                desired - s.replicas,
                now,
                &mut out,
            ));
        }
        let subject = Subject::new("StatefulSet", sts).opted_out_if(sts.spec.template.opted_out());
        self.finish(&mut out, drafts, subject, sts, lookup);
        out
    }

    /// `unready_since` is the value the previous detection of this DaemonSet returned.
    pub fn daemonset(
        &self,
        ds: &DaemonSet,
        facts: &[EventFact],
        lookup: &(impl OwnerLookup + ?Sized),
        unready_since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Detection {
        let mut out = Detection::default();
        if ds.is_deleting() || !self.scope.namespace_in_scope(ds.namespace()) {
            return out;
        }
        let mut drafts = Vec::new();
        let s = &ds.status;
        let desired = s.desired_number_scheduled;
        let unavailable = s.number_unavailable.max(desired - s.number_ready);
        if desired > 0 && unavailable > 0 {
            let rolling = s.observed_generation < ds.metadata.generation
                || s.updated_number_scheduled < desired;
            let since = unready_since.unwrap_or(now);
            out.unready_since = Some(since);
            let grace = if rolling {
                self.config.rollout_grace
            } else {
                self.config.replicas_unavailable_grace
            };
            if out.grace_over(since, grace, now) {
                let message = format!("{unavailable} of {desired} daemon pods are not ready");
                let evidence = Evidence::new(
                    if rolling {
                        "RolloutNotReady"
                    } else {
                        "PodsNotReady"
                    },
                    message,
                )
                .with_count(unavailable)
                .with_since(Some(since))
                .with_detail("desired", desired)
                .with_detail("ready", s.number_ready)
                .with_detail("available", s.number_available)
                .with_detail("updated", s.updated_number_scheduled)
                .with_detail("misscheduled", s.number_misscheduled)
                .with_detail("images", ds.spec.template.images());
                drafts.push(Draft::new(SignalName::DaemonsetNotReady, evidence));
            }
        }
        if s.current_number_scheduled < desired {
            let missing = desired - s.current_number_scheduled;
            drafts.extend(self.create_failed(ds.uid(), facts, missing, now, &mut out));
        }
        let subject = Subject::new("DaemonSet", ds).opted_out_if(ds.spec.template.opted_out());
        self.finish(&mut out, drafts, subject, ds, lookup);
        out
    }

    /// `replica_failure` from a recent FailedCreate event of a controller that lacks pods.
    pub(super) fn create_failed(
        &self,
        uid: Option<&str>,
        facts: &[EventFact],
        missing: i32,
        now: DateTime<Utc>,
        out: &mut Detection,
    ) -> Option<Draft> {
        let fact = self.latest_fact(facts, uid, &[FactKind::CreateFailed], now)?;
        out.still_recent(fact.last_seen, self.config.event_window, now);
        let evidence = Evidence::new(fact.reason, &fact.message)
            .with_count(fact.count)
            .with_since(Some(fact.first_seen))
            .with_detail("missing_pods", missing);
        Some(Draft::new(SignalName::ReplicaFailure, evidence).with_cause(fact.cause.clone()))
    }
}
