//! PersistentVolumeClaim signals: Pending beyond a grace period (provisioning failed, no
//! matching volume), Lost (its volume is gone).

use chrono::{DateTime, Utc};

use crate::model::{MetaExt, PersistentVolumeClaim};

use super::detector::{Detection, Detector, Draft, Subject};
use super::events::{EventFact, FactKind};
use super::owners::OwnerLookup;
use super::signal::{Evidence, SignalName};

impl Detector {
    /// A claim whose storage class binds on first use (`WaitForFirstConsumer`) and that no pod
    /// uses yet is waiting normally: it raises nothing until provisioning fails.
    pub fn pvc(
        &self,
        pvc: &PersistentVolumeClaim,
        facts: &[EventFact],
        lookup: &(impl OwnerLookup + ?Sized),
        now: DateTime<Utc>,
    ) -> Detection {
        let mut out = Detection::default();
        if pvc.is_deleting() || !self.scope.namespace_in_scope(pvc.namespace()) {
            return out;
        }
        let mut drafts = Vec::new();
        let details = |e: Evidence| {
            e.with_detail(
                "storage_class",
                pvc.spec.storage_class_name.as_deref().unwrap_or_default(),
            )
            .with_detail("requested", pvc.requested_storage().unwrap_or_default())
            .with_detail(
                "volume",
                pvc.spec.volume_name.as_deref().unwrap_or_default(),
            )
        };
        match pvc.phase() {
            "Lost" => {
                let message =
                    "Bound claim has lost its PersistentVolume. Data on the volume is lost!";
                drafts.push(Draft::new(
                    SignalName::PvcLost,
                    details(Evidence::new("ClaimLost", message)),
                ));
            }
            "Pending" => {
                let since = pvc.created().unwrap_or(now);
                let uid = pvc.uid();
                let failed = self.latest_fact(facts, uid, &[FactKind::ProvisioningFailed], now);
                let waiting = self.latest_fact(facts, uid, &[FactKind::WaitingForConsumer], now);
                let waits_for_pod =
                    waiting.is_some_and(|w| failed.is_none_or(|f| f.last_seen < w.last_seen));
                if !waits_for_pod && out.grace_over(since, self.config.pvc_pending_grace, now) {
                    let evidence = match failed {
                        Some(f) => Evidence::new(f.reason, &f.message).with_count(f.count),
                        None => Evidence::new("Pending", "the claim is not bound to a volume"),
                    };
                    drafts.push(Draft::new(
                        SignalName::PvcPending,
                        details(evidence.with_since(Some(since))),
                    ));
                }
            }
            _ => {}
        }
        let subject = Subject::new("PersistentVolumeClaim", pvc);
        self.finish(&mut out, drafts, subject, pvc, lookup);
        out
    }
}
