//! Node signals.

use super::*;

#[test]
fn a_ready_node_raises_nothing() {
    assert_eq!(
        detector().node(&Node::test("n1"), 30, t(0)),
        Detection::default()
    );
}

#[test]
fn a_not_ready_node_says_how_many_pods_it_carries() {
    let d = detector().node(&Node::test("n1").not_ready(), 12, t(1));
    assert_eq!(names(&d), ["node_not_ready"]);
    let s = &d.signals[0];
    assert_eq!(s.object, ObjectRef::cluster_scoped("Node", "n1"));
    assert_eq!(s.owner, s.object);
    let e = &s.evidence;
    assert_eq!(e.reason, "KubeletNotReady");
    assert_eq!(e.count, Some(12));
    assert_eq!(e.detail("pods"), Some("12"));
    assert_eq!(e.detail("ready"), Some("False"));
    assert_eq!(e.since, Some(t(0)));
}

#[test]
fn a_cordoned_node_with_no_pods_left_is_out_of_service_not_an_incident() {
    let mut cordoned = Node::test("n1").not_ready();
    cordoned.spec.unschedulable = true;
    // Cordoned, still carrying pods: still a problem (the drain has not happened yet).
    assert_eq!(
        names(&detector().node(&cordoned, 2, t(1))),
        ["node_not_ready"]
    );
    // Drained: nothing depends on it; maintenance does not page.
    assert_eq!(detector().node(&cordoned, 0, t(1)), Detection::default());
    // Not cordoned and empty: a node that died is still news.
    let empty = Node::test("n2").not_ready();
    assert_eq!(names(&detector().node(&empty, 0, t(1))), ["node_not_ready"]);
}

#[test]
fn only_nodes_with_the_configured_labels_are_watched() {
    let config = DetectConfig::default();
    let mut scope = ScopeConfig::default();
    scope.node_labels.insert("pool".into(), "web".into());
    let d = Detector::new(config.clone(), &scope);
    let mut web = Node::test("n1").not_ready();
    web.metadata.labels = Some([("pool".to_string(), "web".to_string())].into());
    let mut batch = Node::test("n2").not_ready();
    batch.metadata.labels = Some([("pool".to_string(), "batch".to_string())].into());
    assert_eq!(names(&d.node(&web, 1, t(1))), ["node_not_ready"]);
    assert_eq!(d.node(&batch, 1, t(1)), Detection::default());
    assert_eq!(
        d.node(&Node::test("n3").not_ready(), 1, t(1)),
        Detection::default()
    );
    let all = Detector::new(config, &ScopeConfig::default());
    assert_eq!(names(&all.node(&batch, 1, t(1))), ["node_not_ready"]);
}

#[test]
fn a_node_that_stopped_reporting_is_not_ready_and_its_pressures_unknown() {
    let d = detector().node(
        &Node::test("n1")
            .under("DiskPressure")
            .unreachable()
            .cordoned(),
        3,
        t(1),
    );
    assert_eq!(names(&d), ["node_not_ready"]);
    let e = &d.signals[0].evidence;
    assert_eq!(e.reason, "NodeStatusUnknown");
    assert_eq!(e.message, "Kubelet stopped posting node status.");
    assert_eq!(e.detail("ready"), Some("Unknown"));
    assert_eq!(e.detail("cordoned"), Some("true"));
}

#[test]
fn pressures_make_one_signal_that_names_them() {
    let node = Node::test("n1")
        .under("MemoryPressure")
        .under("DiskPressure");
    let d = detector().node(&node, 8, t(1));
    assert_eq!(names(&d), ["node_pressure"]);
    let e = &d.signals[0].evidence;
    assert_eq!(e.reason, "MemoryPressure");
    assert_eq!(e.detail("pressures"), Some("MemoryPressure,DiskPressure"));
    assert_eq!(
        e.message,
        "kubelet has MemoryPressure; kubelet has DiskPressure"
    );

    let pid = detector().node(&Node::test("n1").under("PIDPressure"), 1, t(1));
    assert_eq!(
        pid.signals[0].evidence.detail("pressures"),
        Some("PIDPressure")
    );
    let network = detector().node(&Node::test("n1").under("NetworkUnavailable"), 1, t(1));
    assert_eq!(names(&network), ["node_pressure"]);
}

#[test]
fn a_configured_grace_delays_node_not_ready() {
    let config = DetectConfig {
        node_not_ready_grace: std::time::Duration::from_secs(60),
        ..DetectConfig::default()
    };
    let detector = Detector::new(config, &ScopeConfig::default());
    let node = Node::test("n1").not_ready();
    let early = detector.node(&node, 1, ts(30));
    assert!(early.signals.is_empty());
    assert_eq!(early.recheck_at, Some(t(1)));
    assert!(detector.node(&node, 1, t(1)).has(SignalName::NodeNotReady));
}

#[test]
fn an_opted_out_node_raises_nothing() {
    let node = Node::test("n1").not_ready().ignored_by_lookout();
    assert!(detector().node(&node, 5, t(1)).signals.is_empty());
}
