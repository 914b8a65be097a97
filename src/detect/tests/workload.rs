//! Deployment, ReplicaSet, StatefulSet and DaemonSet signals.

use super::*;

const QUOTA_REFUSAL: &str = "pods \"web-7d4b9-k8zt2\" is forbidden: exceeded quota: compute, requested: limits.memory=256Mi, used: limits.memory=1Gi, limited: limits.memory=1Gi";

#[test]
fn a_healthy_deployment_raises_nothing() {
    let d = detector().deployment(&Deployment::test("web"), &Cache::new(), t(60));
    assert_eq!(d, Detection::default());
}

#[test]
fn a_rollout_past_its_deadline_is_stuck() {
    let deployment = Deployment::test("web")
        .in_ns("shop")
        .unavailable(2, t(0))
        .progress_deadline_exceeded();
    let d = detector().deployment(&deployment, &Cache::new(), t(11));

    assert_eq!(names(&d), ["rollout_stuck", "replicas_unavailable"]);
    let s = &d.signals[0];
    assert_eq!(s.object, ObjectRef::namespaced("Deployment", "shop", "web"));
    assert_eq!(s.owner, s.object);
    assert_eq!(s.evidence.reason, "ProgressDeadlineExceeded");
    assert_eq!(
        s.evidence.message,
        "ReplicaSet \"web-8f5c6\" has timed out progressing."
    );
    assert_eq!(s.evidence.since, Some(t(10)));
    assert_eq!(s.evidence.count, Some(2));
    assert_eq!(
        s.evidence.detail("images"),
        Some("app=registry.example.com/shop/app:1.0")
    );
}

#[test]
fn unavailable_replicas_count_after_a_grace_period() {
    let deployment = Deployment::test("web").unavailable(3, t(0));

    let early = detector().deployment(&deployment, &Cache::new(), t(2));
    assert!(early.signals.is_empty());
    assert_eq!(early.recheck_at, Some(t(5)));

    let d = detector().deployment(&deployment, &Cache::new(), t(5));
    assert_eq!(names(&d), ["replicas_unavailable"]);
    let e = &d.signals[0].evidence;
    assert_eq!(
        (e.reason.as_str(), e.count),
        ("MinimumReplicasUnavailable", Some(3))
    );
    assert_eq!(e.detail("available"), Some("0"));
}

#[test]
fn a_rollout_in_progress_is_not_yet_a_problem() {
    let deployment = Deployment::test("web").unavailable(1, t(0)).rolling_out();
    assert!(
        detector()
            .deployment(&deployment, &Cache::new(), t(8))
            .signals
            .is_empty()
    );

    let mut unobserved = Deployment::test("web")
        .unavailable(1, t(0))
        .with_generation(2);
    unobserved.status.observed_generation = Some(1);
    assert!(
        detector()
            .deployment(&unobserved, &Cache::new(), t(8))
            .signals
            .is_empty()
    );
}

#[test]
fn a_deployment_refused_by_its_quota_is_a_replica_failure_of_that_quota() {
    let deployment = Deployment::test("web")
        .in_ns("shop")
        .replica_failure(QUOTA_REFUSAL);
    let d = detector().deployment(&deployment, &Cache::new(), t(1));
    assert_eq!(names(&d), ["replica_failure"]);
    assert_eq!(
        d.signals[0].cause,
        Some(Cause::QuotaExhausted {
            namespace: "shop".into(),
            name: "compute".into()
        })
    );
}

#[test]
fn a_replicaset_with_a_failure_condition_belongs_to_its_deployment() {
    let rs = ReplicaSet::test("web-7d4b9")
        .in_ns("shop")
        .owned_by("Deployment", "web")
        .lacking(0)
        .replica_failure(QUOTA_REFUSAL);
    let d = detector().replicaset(&rs, &[], &Cache::new(), t(1));
    assert_eq!(names(&d), ["replica_failure"]);
    let s = &d.signals[0];
    assert_eq!(s.owner, ObjectRef::namespaced("Deployment", "shop", "web"));
    assert_eq!(s.evidence.count, Some(2));
    assert_eq!(
        s.cause.as_ref().unwrap().to_string(),
        "quota shop/compute exhausted"
    );
}

#[test]
fn failed_create_events_make_a_replica_failure_while_pods_are_missing() {
    let rs = ReplicaSet::test("web-7d4b9")
        .owned_by("Deployment", "web")
        .lacking(1);
    let refused = Event::warning("FailedCreate", &format!("Error creating: {QUOTA_REFUSAL}"))
        .about("ReplicaSet", "default", "web-7d4b9")
        .seen(5, t(0), t(2));
    let facts = facts(&[refused]);

    let d = detector().replicaset(&rs, &facts, &Cache::new(), t(3));
    assert_eq!(names(&d), ["replica_failure"]);
    assert_eq!(
        d.signals[0].cause.as_ref().unwrap().to_string(),
        "quota default/compute exhausted"
    );
    assert_eq!(d.signals[0].evidence.detail("missing_pods"), Some("1"));
    assert_eq!(d.recheck_at, Some(t(17)));

    let complete = ReplicaSet::test("web-7d4b9").owned_by("Deployment", "web");
    assert!(
        detector()
            .replicaset(&complete, &facts, &Cache::new(), t(3))
            .signals
            .is_empty()
    );
    assert!(
        detector()
            .replicaset(&rs, &facts, &Cache::new(), t(17))
            .signals
            .is_empty(),
        "the event aged out"
    );
}

#[test]
fn a_statefulset_with_pods_not_ready_counts_after_the_grace_period_this_process_saw() {
    let sts = StatefulSet::test("postgres").in_ns("shop").ready(1);

    let first = detector().statefulset(&sts, &[], &Cache::new(), None, t(0));
    assert!(first.signals.is_empty());
    assert_eq!(first.unready_since, Some(t(0)));
    assert_eq!(first.recheck_at, Some(t(5)));

    let later = detector().statefulset(&sts, &[], &Cache::new(), first.unready_since, t(5));
    assert_eq!(names(&later), ["statefulset_not_ready"]);
    let e = &later.signals[0].evidence;
    assert_eq!(
        (e.reason.as_str(), e.count, e.since),
        ("ReplicasNotReady", Some(2), Some(t(0)))
    );
    assert_eq!(e.message, "2 of 3 replicas are not ready");

    let recovered = detector().statefulset(
        &StatefulSet::test("postgres"),
        &[],
        &Cache::new(),
        Some(t(0)),
        t(6),
    );
    assert_eq!(
        recovered,
        Detection::default(),
        "ready again: nothing, and the onset is forgotten"
    );
}

#[test]
fn a_statefulset_rollout_gets_the_longer_rollout_grace() {
    let sts = StatefulSet::test("postgres").ready(2).rolling();
    let d = detector().statefulset(&sts, &[], &Cache::new(), Some(t(0)), t(6));
    assert!(d.signals.is_empty());
    assert_eq!(d.recheck_at, Some(t(10)));
    let d = detector().statefulset(&sts, &[], &Cache::new(), Some(t(0)), t(10));
    assert_eq!(d.signals[0].evidence.reason, "RolloutNotReady");
}

#[test]
fn a_daemonset_with_pods_not_ready_counts_after_a_grace_period() {
    let ds = DaemonSet::test("log-agent").ready(3);
    let d = detector().daemonset(&ds, &[], &Cache::new(), Some(t(0)), t(5));
    assert_eq!(names(&d), ["daemonset_not_ready"]);
    let e = &d.signals[0].evidence;
    assert_eq!((e.count, e.detail("desired")), (Some(2), Some("5")));
    assert_eq!(d.unready_since, Some(t(0)));

    let rolling = DaemonSet::test("log-agent").ready(4).rolling();
    assert!(
        detector()
            .daemonset(&rolling, &[], &Cache::new(), Some(t(0)), t(5))
            .signals
            .is_empty()
    );

    let healthy = detector().daemonset(
        &DaemonSet::test("log-agent"),
        &[],
        &Cache::new(),
        None,
        t(5),
    );
    assert_eq!(healthy, Detection::default());
}

#[test]
fn a_workload_whose_template_opts_out_raises_nothing() {
    let mut ds = DaemonSet::test("log-agent").ready(0);
    ds.spec.template.metadata.annotations =
        Some([(IGNORE_ANNOTATION.to_string(), "true".to_string())].into());
    assert!(
        detector()
            .daemonset(&ds, &[], &Cache::new(), Some(t(0)), t(30))
            .signals
            .is_empty()
    );

    let deployment = Deployment::test("web")
        .unavailable(3, t(0))
        .ignored_by_lookout();
    assert!(
        detector()
            .deployment(&deployment, &Cache::new(), t(30))
            .signals
            .is_empty()
    );
}
