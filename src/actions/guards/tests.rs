use super::*;

fn config() -> ActionsConfig {
    ActionsConfig::default()
}

fn guard_of<T: std::fmt::Debug>(r: Result<T>) -> (&'static str, String) {
    match r {
        Err(ActionError::Refused { guard, reason }) => (guard, reason),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn protected_namespaces_are_refused_by_name() {
    let (g, reason) = guard_of(namespace_allowed(&config(), Some("kube-system")));
    assert_eq!(g, PROTECTED_NAMESPACE);
    assert!(reason.contains("kube-system"), "{reason}");
    namespace_allowed(&config(), Some("shop")).unwrap();
    namespace_allowed(&config(), None).unwrap();
}

#[test]
fn replicas_never_zero_never_unbounded_and_must_change() {
    let c = config();
    let (g, reason) = guard_of(replicas(&c, "Deployment shop/cart", 3, 0));
    assert_eq!(g, SCALE_TO_ZERO);
    assert!(reason.contains("to 0"), "{reason}");
    assert_eq!(guard_of(replicas(&c, "d", 3, 51)).0, REPLICA_BOUND);
    let (g, reason) = guard_of(replicas(&c, "d", 2, 7));
    assert_eq!(g, REPLICA_BOUND);
    assert!(reason.contains("at most 6"), "{reason}");
    assert_eq!(guard_of(replicas(&c, "d", 2, 2)).0, NO_CHANGE);
    replicas(&c, "d", 2, 6).unwrap();
    replicas(&c, "d", 0, 3).unwrap();
    replicas(&c, "d", 5, 1).unwrap();
}

#[test]
fn resource_changes_are_bounded_both_ways() {
    let c = config();
    let mi = |n: i64| n << 20;
    resource_factor(&c, Resource::Memory, "memory limit", Some(mi(64)), mi(256)).unwrap();
    let (g, reason) = guard_of(resource_factor(
        &c,
        Resource::Memory,
        "memory limit of container app",
        Some(mi(64)),
        mi(1024),
    ));
    assert_eq!(g, RESOURCE_FACTOR);
    assert!(
        reason.contains("from 64Mi to 1Gi is a factor of 16.0"),
        "{reason}"
    );
    assert_eq!(
        guard_of(resource_factor(&c, Resource::Cpu, "cpu", Some(1000), 200)).0,
        RESOURCE_FACTOR
    );
    resource_factor(&c, Resource::Cpu, "cpu", None, 64_000).unwrap();
}

#[test]
fn limits_must_cover_requests() {
    let (g, reason) = guard_of(limit_covers_request(
        Resource::Memory,
        "app",
        Some(256 << 20),
        Some(128 << 20),
    ));
    assert_eq!(g, LIMITS_BELOW_REQUESTS);
    assert_eq!(
        reason,
        "memory limit 128Mi of container app would be below its request 256Mi"
    );
    limit_covers_request(Resource::Cpu, "app", Some(100), Some(100)).unwrap();
    limit_covers_request(Resource::Cpu, "app", Some(100), None).unwrap();
}

fn pod(name: &str, ready: bool, terminating: bool) -> PodFacts {
    PodFacts {
        name: name.into(),
        ready,
        terminating,
    }
}

#[test]
fn the_last_pod_and_the_last_ready_pod_stay() {
    let w = "Deployment shop/cart";
    let (g, reason) = guard_of(not_last_pod(w, &[pod("a", true, false)], "a"));
    assert_eq!(g, LAST_POD);
    assert!(reason.contains("only pod"), "{reason}");
    // A pod already terminating does not count as one that stays.
    assert_eq!(
        guard_of(not_last_pod(
            w,
            &[pod("a", false, false), pod("b", true, true)],
            "a"
        ))
        .0,
        LAST_POD
    );
    let (_, reason) = guard_of(not_last_pod(
        w,
        &[pod("a", true, false), pod("b", false, false)],
        "a",
    ));
    assert!(reason.contains("only ready pod"), "{reason}");
    not_last_pod(w, &[pod("a", false, false), pod("b", true, false)], "a").unwrap();
    not_last_pod(w, &[pod("a", true, false), pod("b", true, false)], "a").unwrap();
}

#[test]
fn budgets_with_no_disruption_left_refuse_ready_pods_only() {
    let spent = BudgetFacts {
        name: "cart-pdb".into(),
        disruptions_allowed: 0,
        current_healthy: 2,
        desired_healthy: 2,
    };
    let (g, reason) = guard_of(within_budgets("cart-1", true, std::slice::from_ref(&spent)));
    assert_eq!(g, DISRUPTION_BUDGET);
    assert!(
        reason.contains("cart-pdb allows no disruption now (2 healthy, 2 required)"),
        "{reason}"
    );
    within_budgets("cart-1", false, std::slice::from_ref(&spent)).unwrap();
    let ok = BudgetFacts {
        disruptions_allowed: 1,
        ..spent
    };
    within_budgets("cart-1", true, &[ok]).unwrap();
}
