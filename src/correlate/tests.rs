use std::collections::BTreeSet;

use super::*;
use crate::detect::{Evidence, Signal, SignalName};

fn pod_signal(name: SignalName, ns: &str, pod: &str, owner: &str, node: &str) -> Signal {
    Signal {
        name,
        object: ObjectRef::namespaced("Pod", ns, pod),
        owner: ObjectRef::namespaced("Deployment", ns, owner),
        node: Some(node.into()),
        cause: None,
        evidence: Evidence::default(),
    }
}

fn workload_signal(name: SignalName, ns: &str, deployment: &str) -> Signal {
    let d = ObjectRef::namespaced("Deployment", ns, deployment);
    Signal {
        name,
        object: d.clone(),
        owner: d,
        node: None,
        cause: None,
        evidence: Evidence::default(),
    }
}

fn node_signal(node: &str, pods_on_it: usize) -> Signal {
    let n = ObjectRef::cluster_scoped("Node", node);
    let mut evidence = Evidence::default();
    evidence
        .details
        .insert("pods".into(), pods_on_it.to_string());
    Signal {
        name: SignalName::NodeNotReady,
        object: n.clone(),
        owner: n,
        node: None,
        cause: None,
        evidence,
    }
}

fn severity_of(signals: &[Signal], production: &[&str]) -> Severity {
    let prod: BTreeSet<String> = production.iter().map(|s| s.to_string()).collect();
    Severity::from_score(score_signals(
        &CorrelationConfig::default(),
        signals.iter(),
        &prod,
    ))
}

/// A crash-looping Deployment also has unready pods and unavailable replicas: one fault.
fn crash_looping_deployment(ns: &str, replicas: usize, oom: bool) -> Vec<Signal> {
    let mut signals = vec![
        workload_signal(SignalName::ReplicasUnavailable, ns, "web"),
        workload_signal(SignalName::RolloutStuck, ns, "web"),
    ];
    for i in 0..replicas {
        let pod = format!("web-7d4b9-{i}");
        let node = format!("node-{}", i % 3);
        signals.push(pod_signal(SignalName::CrashLoop, ns, &pod, "web", &node));
        signals.push(pod_signal(SignalName::NotReady, ns, &pod, "web", &node));
        if oom {
            signals.push(pod_signal(SignalName::OomKilled, ns, &pod, "web", &node));
        }
    }
    signals
}

#[test]
fn calibration_crash_looping_deployment_in_a_plain_namespace_is_medium() {
    for replicas in [1, 3, 10, 50] {
        assert_eq!(
            severity_of(
                &crash_looping_deployment("shop", replicas, false),
                &["payments"]
            ),
            Severity::Medium,
            "{replicas} replicas"
        );
    }
}

#[test]
fn calibration_oom_crash_loop_in_a_production_namespace_is_high() {
    for replicas in [1, 3, 10] {
        assert_eq!(
            severity_of(
                &crash_looping_deployment("payments", replicas, true),
                &["payments"]
            ),
            Severity::High,
            "{replicas} replicas"
        );
    }
}

#[test]
fn calibration_not_ready_node_with_ten_or_more_pods_is_critical() {
    for pods in [10, 25, 110] {
        assert_eq!(
            severity_of(&[node_signal("node-1", pods)], &[]),
            Severity::Critical,
            "{pods} pods"
        );
    }
    // And the pods' own signals joining it do not change that.
    let mut signals = vec![node_signal("node-1", 12)];
    for i in 0..12 {
        signals.push(pod_signal(
            SignalName::NotReady,
            "shop",
            &format!("p{i}"),
            &format!("w{}", i % 4),
            "node-1",
        ));
    }
    assert_eq!(severity_of(&signals, &[]), Severity::Critical);
    // An empty NotReady node is serious, not critical.
    assert_eq!(
        severity_of(&[node_signal("node-2", 0)], &[]),
        Severity::High
    );
}

#[test]
fn calibration_one_pending_pvc_is_low() {
    let pvc = ObjectRef::namespaced("PersistentVolumeClaim", "shop", "data");
    let s = Signal {
        name: SignalName::PvcPending,
        object: pvc.clone(),
        owner: pvc,
        node: None,
        cause: None,
        evidence: Evidence::default(),
    };
    assert_eq!(severity_of(&[s], &[]), Severity::Low);
}

#[test]
fn consequences_do_not_inflate_but_breadth_does() {
    let one = crash_looping_deployment("shop", 1, false);
    let base = score_signals(&CorrelationConfig::default(), one.iter(), &BTreeSet::new());
    // The same pod's consequences (not ready, replicas unavailable, rollout stuck) add nothing
    // beyond the crash loop's own weight.
    assert_eq!(base, default_weight(SignalName::CrashLoop));

    // Five workloads failing on one missing Secret is worse than one.
    let mut many = Vec::new();
    for w in 0..5 {
        many.push(pod_signal(
            SignalName::ContainerConfigError,
            "shop",
            &format!("p{w}"),
            &format!("w{w}"),
            "node-1",
        ));
    }
    let wide = score_signals(&CorrelationConfig::default(), many.iter(), &BTreeSet::new());
    assert!(wide >= base + 15, "{wide} vs {base}");
}

#[test]
fn every_signal_name_has_a_default_weight_and_overrides_apply() {
    for n in SignalName::ALL {
        let w = default_weight(n);
        assert!((1..=100).contains(&w), "{n}: {w}");
    }
    let mut cfg = CorrelationConfig::default();
    cfg.weights.insert(SignalName::PvcPending, 70);
    let pvc = ObjectRef::namespaced("PersistentVolumeClaim", "shop", "data");
    let s = Signal {
        name: SignalName::PvcPending,
        object: pvc.clone(),
        owner: pvc,
        node: None,
        cause: None,
        evidence: Evidence::default(),
    };
    assert_eq!(weight(&cfg, &s), 70);
}

#[test]
fn alerts_weigh_by_their_severity_label() {
    let group = ObjectRef::cluster_scoped("AlertGroup", "g1");
    let mut s = Signal {
        name: SignalName::Alert,
        object: ObjectRef::cluster_scoped("Alert", "HighLatency"),
        owner: group,
        node: None,
        cause: None,
        evidence: Evidence::default(),
    };
    let cfg = CorrelationConfig::default();
    assert_eq!(weight(&cfg, &s), 40);
    s.evidence
        .details
        .insert("severity".into(), "critical".into());
    assert_eq!(weight(&cfg, &s), 65);
    s.evidence.details.insert("severity".into(), "info".into());
    assert_eq!(weight(&cfg, &s), 20);
}

#[test]
fn thresholds_are_exact() {
    assert_eq!(Severity::from_score(39), Severity::Low);
    assert_eq!(Severity::from_score(40), Severity::Medium);
    assert_eq!(Severity::from_score(59), Severity::Medium);
    assert_eq!(Severity::from_score(60), Severity::High);
    assert_eq!(Severity::from_score(79), Severity::High);
    assert_eq!(Severity::from_score(80), Severity::Critical);
    assert_eq!(Severity::from_score(100), Severity::Critical);
}

#[test]
fn keys_and_dedup_keys() {
    let s = pod_signal(SignalName::CrashLoop, "shop", "web-1", "web", "node-1");
    let k = keys(&s);
    assert_eq!(k.owner, "owner:Deployment/shop/web");
    assert_eq!(k.node, None);
    assert_eq!(k.on_node.as_deref(), Some("node:node-1"));
    let n = keys(&node_signal("node-1", 3));
    assert_eq!(n.node.as_deref(), Some("node:node-1"));
    assert_eq!(n.on_node, None);

    let d1 = dedup_key("prod", &s.key());
    assert_eq!(d1, dedup_key("prod", &s.key()), "deterministic");
    assert_ne!(d1, dedup_key("staging", &s.key()), "cluster is part of it");
    assert!(d1.starts_with("dedup:") && d1.len() == "dedup:".len() + 64);
}
