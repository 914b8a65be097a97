//! HorizontalPodAutoscaler signals.

use super::*;

#[test]
fn an_autoscaler_within_its_range_raises_nothing() {
    let hpa = HorizontalPodAutoscaler::test("web");
    assert_eq!(
        detector().hpa(&hpa, &Cache::new(), t(60)),
        Detection::default()
    );
}

#[test]
fn an_autoscaler_at_its_maximum_that_wants_more_is_maxed_and_joins_its_target() {
    let hpa = HorizontalPodAutoscaler::test("web")
        .in_ns("shop")
        .maxed_out();

    let early = detector().hpa(&hpa, &Cache::new(), t(1));
    assert!(early.signals.is_empty());
    assert_eq!(early.recheck_at, Some(t(5)));

    let d = detector().hpa(&hpa, &Cache::new(), t(5));
    assert_eq!(names(&d), ["hpa_maxed"]);
    let s = &d.signals[0];
    assert_eq!(
        s.object,
        ObjectRef::namespaced("HorizontalPodAutoscaler", "shop", "web")
    );
    assert_eq!(s.owner, ObjectRef::namespaced("Deployment", "shop", "web"));
    assert_eq!(s.evidence.reason, "TooManyReplicas");
    assert_eq!(s.evidence.count, Some(10));
    assert_eq!(s.evidence.detail("max"), Some("10"));
}

#[test]
fn an_autoscaler_at_its_maximum_that_is_content_raises_nothing() {
    let mut hpa = HorizontalPodAutoscaler::test("web");
    hpa.status.current_replicas = 10;
    hpa.status.desired_replicas = 10;
    assert!(
        detector()
            .hpa(&hpa, &Cache::new(), t(60))
            .signals
            .is_empty()
    );
}

#[test]
fn an_autoscaler_without_metrics_is_unable_to_scale() {
    let message = "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)";
    let hpa = HorizontalPodAutoscaler::test("web").failing(
        "ScalingActive",
        "FailedGetResourceMetric",
        message,
    );
    let d = detector().hpa(&hpa, &Cache::new(), t(5));
    assert_eq!(names(&d), ["hpa_unable"]);
    assert_eq!(d.signals[0].evidence.reason, "FailedGetResourceMetric");
    assert_eq!(d.signals[0].evidence.message, message);

    let no_target = HorizontalPodAutoscaler::test("web").failing(
        "AbleToScale",
        "FailedGetScale",
        "the HPA controller was unable to get the target's current scale: deployments/scale.apps \"web\" not found",
    );
    assert_eq!(
        names(&detector().hpa(&no_target, &Cache::new(), t(5))),
        ["hpa_unable"]
    );
}

#[test]
fn stabilisation_and_disabled_scaling_are_not_failures() {
    let backoff = HorizontalPodAutoscaler::test("web").failing(
        "AbleToScale",
        "BackoffBoth",
        "the time since the previous scale is still within both the downscale and upscale forbidden windows",
    );
    assert!(
        detector()
            .hpa(&backoff, &Cache::new(), t(60))
            .signals
            .is_empty()
    );

    let disabled = HorizontalPodAutoscaler::test("web").failing(
        "ScalingActive",
        "ScalingDisabled",
        "scaling is disabled since the replica count of the target is zero",
    );
    assert!(
        detector()
            .hpa(&disabled, &Cache::new(), t(60))
            .signals
            .is_empty()
    );
}
