//! Scope: namespace lists and opt-out annotations.

use super::*;

fn scope(include: &[&str], exclude: &[&str]) -> Scope {
    Scope::new(&ScopeConfig {
        include_namespaces: include.iter().map(|s| s.to_string()).collect(),
        exclude_namespaces: exclude.iter().map(|s| s.to_string()).collect(),
        production_namespaces: vec!["payments".into()],
        node_labels: Default::default(),
    })
}

#[test]
fn kube_system_is_excluded_by_default_and_everything_else_included() {
    let s = Scope::new(&ScopeConfig::default());
    assert!(!s.namespace_in_scope("kube-system"));
    assert!(s.namespace_in_scope("shop"));
}

#[test]
fn an_include_list_limits_and_exclusion_wins() {
    let s = scope(&["shop", "team-*"], &["team-sandbox"]);
    assert!(s.namespace_in_scope("shop"));
    assert!(s.namespace_in_scope("team-payments"));
    assert!(!s.namespace_in_scope("team-sandbox"), "exclude wins");
    assert!(!s.namespace_in_scope("default"));
    assert!(s.is_production("payments") && !s.is_production("shop"));
}

#[test]
fn namespace_lists_apply_to_every_detection() {
    let detector = Detector::new(
        DetectConfig::default(),
        &ScopeConfig {
            include_namespaces: vec!["shop".into()],
            ..ScopeConfig::default()
        },
    );
    let elsewhere = Pod::test("web-1").in_ns("billing").crashlooping("app");
    assert!(
        detector
            .pod(&elsewhere, &[], &Cache::new(), t(10))
            .signals
            .is_empty()
    );
    let deployment = Deployment::test("web")
        .in_ns("billing")
        .progress_deadline_exceeded();
    assert!(
        detector
            .deployment(&deployment, &Cache::new(), t(11))
            .signals
            .is_empty()
    );
    let here = Pod::test("web-1").in_ns("shop").crashlooping("app");
    assert!(
        detector
            .pod(&here, &[], &Cache::new(), t(10))
            .has(SignalName::CrashLoop)
    );
}

#[test]
fn an_opted_out_namespace_or_root_workload_silences_its_pods() {
    let pod = Pod::test("web-7d4b9-x2x1")
        .in_ns("shop")
        .owned_by_replicaset("web-7d4b9")
        .crashlooping("app");

    let namespace_out = Cache::new().opting_out("Namespace", None, "shop");
    assert!(
        detector()
            .pod(&pod, &[], &namespace_out, t(10))
            .signals
            .is_empty()
    );

    let deployment_out = Cache::new().opting_out("Deployment", Some("shop"), "web");
    assert!(
        detector()
            .pod(&pod, &[], &deployment_out, t(10))
            .signals
            .is_empty()
    );

    let other_out = Cache::new().opting_out("Deployment", Some("shop"), "api");
    assert!(
        detector()
            .pod(&pod, &[], &other_out, t(10))
            .has(SignalName::CrashLoop)
    );
}

#[test]
fn the_pod_template_annotation_opts_pods_out() {
    let pod = Pod::test("web-1").ignored_by_lookout().crashlooping("app");
    assert!(
        detector()
            .pod(&pod, &[], &Cache::new(), t(10))
            .signals
            .is_empty()
    );

    let mut deployment = Deployment::test("web").progress_deadline_exceeded();
    deployment.spec.template.metadata.annotations =
        Some([(IGNORE_ANNOTATION.to_string(), "true".to_string())].into());
    assert!(
        detector()
            .deployment(&deployment, &Cache::new(), t(11))
            .signals
            .is_empty()
    );
}
