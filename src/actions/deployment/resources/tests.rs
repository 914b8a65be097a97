use super::*;

fn deployment(resources: Value) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": "cart", "namespace": "shop"},
        "spec": {
            "selector": {"matchLabels": {"app": "cart"}},
            "template": {"spec": {"containers": [
                {"name": "app", "image": "shop/cart:1", "resources": resources},
                {"name": "sidecar", "image": "envoy"},
            ]}},
        },
    }))
    .unwrap()
}

fn params(f: impl FnOnce(&mut Params)) -> Params {
    let mut p = Params {
        namespace: "shop".into(),
        name: "cart".into(),
        container: "app".into(),
        ..Params::default()
    };
    f(&mut p);
    p
}

fn target() -> ObjectRef {
    ObjectRef::namespaced("Deployment", "shop", "cart")
}

fn oom_deployment() -> Deployment {
    deployment(json!({"requests": {"memory": "64Mi", "cpu": "100m"}, "limits": {"memory": "64Mi"}}))
}

#[test]
fn raising_the_memory_limit_is_a_minimal_strategic_patch() {
    let p = params(|p| p.memory_limit = Some("128Mi".into()));
    let proposal = propose(&ActionsConfig::default(), &target(), &oom_deployment(), &p).unwrap();
    assert_eq!(proposal.patch_type, PatchType::Strategic);
    assert_eq!(
        proposal.patch,
        json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "resources": {"limits": {"memory": "128Mi"}}}
        ]}}}})
    );
    assert_eq!(
        proposal.summary,
        "raise memory limit of container app from 64Mi to 128Mi"
    );
}

#[test]
fn several_values_at_once_and_new_ones() {
    let p = params(|p| {
        p.memory_request = Some("96Mi".into());
        p.memory_limit = Some("0.125Gi".into());
        p.cpu_limit = Some("400m".into());
    });
    let proposal = propose(&ActionsConfig::default(), &target(), &oom_deployment(), &p).unwrap();
    assert_eq!(
        proposal.patch["spec"]["template"]["spec"]["containers"][0]["resources"],
        json!({"requests": {"memory": "96Mi"}, "limits": {"memory": "128Mi", "cpu": "400m"}})
    );
    assert_eq!(
        proposal.summary,
        "raise memory request of container app from 64Mi to 96Mi; \
         raise memory limit of container app from 64Mi to 128Mi; \
         set cpu limit of container app to 400m"
    );
}

fn refusal(p: Params) -> (&'static str, String) {
    match propose(&ActionsConfig::default(), &target(), &oom_deployment(), &p) {
        Err(ActionError::Refused { guard, reason }) => (guard, reason),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn guards_refuse_with_reasons() {
    let (g, r) = refusal(params(|p| p.memory_limit = Some("1Gi".into())));
    assert_eq!(g, guards::RESOURCE_FACTOR);
    assert!(r.contains("from 64Mi to 1Gi is a factor of 16.0"), "{r}");

    let (g, r) = refusal(params(|p| p.memory_request = Some("128Mi".into())));
    assert_eq!(g, guards::LIMITS_BELOW_REQUESTS);
    assert_eq!(
        r,
        "memory limit 64Mi of container app would be below its request 128Mi"
    );

    let (g, r) = refusal(params(|p| {
        p.container = "db".into();
        p.memory_limit = Some("128Mi".into());
    }));
    assert_eq!(g, guards::TARGET);
    assert!(
        r.contains("no container db (containers: app, sidecar)"),
        "{r}"
    );

    let (g, _) = refusal(params(|p| p.memory_limit = Some("64Mi".into())));
    assert_eq!(g, guards::NO_CHANGE);

    // A CPU limit far above the request it is measured against when there is no limit yet.
    let (g, _) = refusal(params(|p| p.cpu_limit = Some("4".into())));
    assert_eq!(g, guards::RESOURCE_FACTOR);
}

#[test]
fn bad_or_missing_values_are_invalid_params() {
    let err = propose(
        &ActionsConfig::default(),
        &target(),
        &oom_deployment(),
        &params(|p| p.memory_limit = Some("lots".into())),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("memory_limit: `lots` is not a memory quantity"),
        "{err}"
    );
    let err = propose(
        &ActionsConfig::default(),
        &target(),
        &oom_deployment(),
        &params(|_| {}),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("at least one of"), "{err}");
}
