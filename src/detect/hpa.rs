//! HorizontalPodAutoscaler signals: at its maximum while wanting more, or unable to scale
//! (no metrics, target missing). The owner of an HPA's signals is its scale target, so they
//! join that workload's incident.

use chrono::{DateTime, Utc};

use crate::model::{HorizontalPodAutoscaler, MetaExt};

use super::detector::{Detection, Detector, Draft, Subject};
use super::owners::OwnerLookup;
use super::signal::{Evidence, ObjectRef, SignalName};

/// AbleToScale False for these reasons is the normal stabilisation window, not a failure.
const BACKOFF: &[&str] = &["BackoffBoth", "BackoffDownscale", "BackoffUpscale"];

impl Detector {
    pub fn hpa(
        &self,
        hpa: &HorizontalPodAutoscaler,
        lookup: &(impl OwnerLookup + ?Sized),
        now: DateTime<Utc>,
    ) -> Detection {
        let mut out = Detection::default();
        if hpa.is_deleting() || !self.scope.namespace_in_scope(hpa.namespace()) {
            return out;
        }
        let mut drafts = Vec::new();
        let (spec, status) = (&hpa.spec, &hpa.status);
        let target = &spec.scale_target_ref;
        let base = |reason: &str, message: &str, since| {
            Evidence::new(reason, message)
                .with_count(status.current_replicas)
                .with_since(since)
                .with_detail("min", spec.min_replicas.unwrap_or(1))
                .with_detail("max", spec.max_replicas)
                .with_detail("current", status.current_replicas)
                .with_detail("desired", status.desired_replicas)
                .with_detail("target", format!("{}/{}", target.kind, target.name))
        };

        let limited = hpa
            .condition("ScalingLimited")
            .filter(|c| c.is_true() && c.reason() == "TooManyReplicas");
        let wants_more = limited.is_some() || status.desired_replicas > spec.max_replicas;
        if spec.max_replicas > 0 && status.current_replicas >= spec.max_replicas && wants_more {
            let since = limited
                .and_then(|c| c.last_transition_time)
                .or(status.last_scale_time)
                .unwrap_or(now);
            if out.grace_over(since, self.config.hpa_grace, now) {
                let (reason, message) = match limited {
                    Some(c) => (c.reason(), c.message()),
                    None => (
                        "TooManyReplicas",
                        "the desired replica count is more than the maximum replica count",
                    ),
                };
                drafts.push(Draft::new(
                    SignalName::HpaMaxed,
                    base(reason, message, Some(since)),
                ));
            }
        }

        let unable = [
            hpa.condition("AbleToScale")
                .filter(|c| c.is_false() && !BACKOFF.contains(&c.reason())),
            hpa.condition("ScalingActive")
                .filter(|c| c.is_false() && c.reason() != "ScalingDisabled"),
        ]
        .into_iter()
        .flatten()
        .next();
        if let Some(c) = unable {
            let since = c.last_transition_time.unwrap_or(now);
            if out.grace_over(since, self.config.hpa_grace, now) {
                drafts.push(Draft::new(
                    SignalName::HpaUnable,
                    base(c.reason(), c.message(), Some(since)),
                ));
            }
        }

        let owner = if target.name.is_empty() {
            ObjectRef::namespaced("HorizontalPodAutoscaler", hpa.namespace(), hpa.name())
        } else {
            ObjectRef::namespaced(&target.kind, hpa.namespace(), &target.name)
        };
        let subject = Subject::new("HorizontalPodAutoscaler", hpa);
        self.finish_with_owner(&mut out, drafts, subject, owner, lookup);
        out
    }
}
