//! Event classification and fact sets.

use super::*;

#[test]
fn a_real_failed_mount_event_becomes_a_mount_fact_with_its_missing_secret() {
    let event: Event =
        serde_json::from_str(include_str!("../../model/testdata/event.json")).unwrap();
    let fact = classify(&event).unwrap();
    assert_eq!(fact.kind, FactKind::MountFailed);
    assert_eq!(fact.reason, "FailedMount");
    assert_eq!(fact.count, 14);
    assert_eq!(
        fact.first_seen,
        "2024-05-01T09:58:14Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    );
    assert_eq!(
        fact.last_seen,
        "2024-05-01T10:08:30Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    );
    assert_eq!(
        fact.object_uid.as_deref(),
        Some("0b8f3c55-8f0e-4a43-b4a1-7e0c2d9f6a11")
    );
    assert_eq!(
        fact.cause.unwrap().to_string(),
        "missing Secret shop/checkout-tls"
    );
}

#[test]
fn a_new_style_probe_event_keeps_its_series_count_and_container() {
    let event: Event =
        serde_json::from_str(include_str!("../../model/testdata/event-series.json")).unwrap();
    let fact = classify(&event).unwrap();
    assert_eq!(fact.kind, FactKind::ProbeFailed);
    assert_eq!(fact.count, 31);
    assert_eq!(fact.container.as_deref(), Some("app"));
}

#[test]
fn events_detection_uses_are_classified_and_the_rest_ignored() {
    let cases = [
        (
            "Unhealthy",
            "Readiness probe failed: Get \"http://10.244.1.17:8080/ready\": dial tcp 10.244.1.17:8080: connect: connection refused",
            Some(FactKind::ProbeFailed),
        ),
        (
            "FailedAttachVolume",
            "Multi-Attach error for volume \"pvc-1\" Volume is already exclusively attached to one node and can't be attached to another",
            Some(FactKind::AttachFailed),
        ),
        (
            "FailedScheduling",
            "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu.",
            Some(FactKind::SchedulingFailed),
        ),
        (
            "FailedCreate",
            "Error creating: pods \"web-1\" is forbidden: error looking up service account shop/web: serviceaccount \"web\" not found",
            Some(FactKind::CreateFailed),
        ),
        (
            "Failed",
            "Failed to pull image \"nginx:1.99\": rpc error: code = NotFound desc = failed to pull and unpack image \"docker.io/library/nginx:1.99\": not found",
            Some(FactKind::PullFailed),
        ),
        (
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
            Some(FactKind::JobFailed),
        ),
        (
            "DeadlineExceeded",
            "Job was active longer than specified deadline",
            Some(FactKind::JobFailed),
        ),
        (
            "ProvisioningFailed",
            "failed to provision volume with StorageClass \"gp3\": rpc error: code = Internal",
            Some(FactKind::ProvisioningFailed),
        ),
        (
            "WaitForFirstConsumer",
            "waiting for first consumer to be created before binding",
            Some(FactKind::WaitingForConsumer),
        ),
        ("Failed", "Error: ErrImagePull", None),
        (
            "BackOff",
            "Back-off restarting failed container app in pod web-1_shop",
            None,
        ),
        (
            "Pulled",
            "Successfully pulled image \"nginx:1.25\" in 1.2s",
            None,
        ),
        ("Scheduled", "Successfully assigned shop/web-1 to n1", None),
        ("Killing", "Stopping container app", None),
    ];
    for (reason, message, kind) in cases {
        let fact = classify(&Event::warning(reason, message));
        assert_eq!(fact.map(|f| f.kind), kind, "{reason}: {message}");
    }
}

#[test]
fn causes_are_read_once_when_the_event_is_classified() {
    let refused = Event::warning(
        "FailedCreate",
        "Error creating: pods \"web-1\" is forbidden: exceeded quota: compute, requested: cpu=500m, used: cpu=4, limited: cpu=4",
    )
    .about("ReplicaSet", "shop", "web-7d4b9");
    assert_eq!(
        classify(&refused).unwrap().cause.unwrap().to_string(),
        "quota shop/compute exhausted"
    );

    let pull = Event::warning(
        "Failed",
        "Failed to pull image \"quay.io/acme/api:2.0\": rpc error: code = Unknown desc = dial tcp: lookup quay.io: no such host",
    );
    assert_eq!(
        classify(&pull).unwrap().cause.unwrap().to_string(),
        "registry quay.io: unreachable"
    );
}

#[test]
fn repeated_events_merge_into_one_fact_per_kind_and_object() {
    let first = Event::warning("Unhealthy", "Readiness probe failed: 503").seen(3, t(0), t(1));
    let again = Event::warning("Unhealthy", "Readiness probe failed: 500").seen(9, t(0), t(4));
    let other_pod =
        Event::warning("Unhealthy", "Readiness probe failed: 503").about("Pod", "default", "other");
    let set = facts(&[first, again, other_pod]);

    assert_eq!(set.len(), 2);
    let merged = &set[0];
    assert_eq!(
        (merged.count, merged.first_seen, merged.last_seen),
        (9, t(0), t(4))
    );
    assert_eq!(merged.message, "Readiness probe failed: 500");
}

#[test]
fn a_message_naming_the_cause_outlives_a_vaguer_later_one() {
    let named = Event::warning(
        "FailedMount",
        "MountVolume.SetUp failed for volume \"cfg\" : configmap \"app-config\" not found",
    )
    .seen(2, t(0), t(2));
    let vague = Event::warning("FailedMount", "Unable to attach or mount volumes: unmounted volumes=[cfg]: timed out waiting for the condition").seen(1, t(3), t(3));
    let set = facts(&[named, vague]);
    assert_eq!(set.len(), 1);
    assert!(
        set[0]
            .message
            .contains("configmap \"app-config\" not found")
    );
    assert_eq!(set[0].last_seen, t(3));
    assert_eq!(
        set[0].cause.as_ref().unwrap().to_string(),
        "missing ConfigMap default/app-config"
    );
}

#[test]
fn old_facts_are_pruned_and_ignored_by_detection() {
    let mut set =
        facts(&[Event::warning("Unhealthy", "Readiness probe failed: 503").seen(5, t(0), t(1))]);
    assert!(!set.prune(t(0)));
    assert!(set.prune(t(2)));
    assert!(set.is_empty());

    // Detection applies the window itself, whatever the caller kept.
    let pod = Pod::test("pod").not_ready_since(t(0));
    let stale =
        facts(&[Event::warning("Unhealthy", "Readiness probe failed: 503").seen(5, t(0), t(1))]);
    let d = detector().pod(&pod, &stale, &Cache::new(), t(20));
    assert_eq!(names(&d), ["not_ready"]);
}
