//! PersistentVolumeClaim signals.

use super::*;

#[test]
fn a_bound_claim_raises_nothing() {
    let pvc = PersistentVolumeClaim::test("data");
    assert_eq!(
        detector().pvc(&pvc, &[], &Cache::new(), t(60)),
        Detection::default()
    );
}

#[test]
fn a_claim_pending_past_the_grace_period_is_pending() {
    let pvc = PersistentVolumeClaim::test("data").in_ns("shop").pending();

    let early = detector().pvc(&pvc, &[], &Cache::new(), t(2));
    assert!(early.signals.is_empty());
    assert_eq!(early.recheck_at, Some(t(5)));

    let d = detector().pvc(&pvc, &[], &Cache::new(), t(5));
    assert_eq!(names(&d), ["pvc_pending"]);
    let s = &d.signals[0];
    assert_eq!(
        s.object,
        ObjectRef::namespaced("PersistentVolumeClaim", "shop", "data")
    );
    assert_eq!(s.evidence.detail("storage_class"), Some("standard"));
    assert_eq!(s.evidence.detail("requested"), Some("10Gi"));
    assert_eq!(s.evidence.since, Some(t(0)));
}

#[test]
fn a_provisioning_failure_explains_the_pending_claim() {
    let pvc = PersistentVolumeClaim::test("data").pending();
    let failed = Event::warning(
        "ProvisioningFailed",
        "storageclass.storage.k8s.io \"standard\" not found",
    )
    .about("PersistentVolumeClaim", "default", "data")
    .seen(6, t(0), t(5));
    let d = detector().pvc(&pvc, &facts(&[failed]), &Cache::new(), t(6));
    let e = &d.signals[0].evidence;
    assert_eq!(
        (e.reason.as_str(), e.count),
        ("ProvisioningFailed", Some(6))
    );
}

#[test]
fn a_claim_waiting_for_its_first_consumer_is_not_a_problem() {
    let pvc = PersistentVolumeClaim::test("data").pending();
    let waiting = Event::warning(
        "WaitForFirstConsumer",
        "waiting for first consumer to be created before binding",
    )
    .normal()
    .about("PersistentVolumeClaim", "default", "data")
    .seen(20, t(0), t(9));
    assert!(
        detector()
            .pvc(&pvc, &facts(&[waiting]), &Cache::new(), t(10))
            .signals
            .is_empty()
    );
}

#[test]
fn a_claim_that_lost_its_volume_is_lost() {
    let pvc = PersistentVolumeClaim::test("data").lost();
    let d = detector().pvc(&pvc, &[], &Cache::new(), t(0));
    assert_eq!(names(&d), ["pvc_lost"]);
    assert_eq!(d.signals[0].evidence.reason, "ClaimLost");
    assert_eq!(d.signals[0].evidence.detail("volume"), Some("pvc-data"));
}
