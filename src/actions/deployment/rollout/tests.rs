use super::*;
use serde_json::{Value, json};

fn deployment(generation: i64, observed: i64, status: Value) -> Deployment {
    let mut s = json!({"observedGeneration": observed});
    crate::actions::diff::merge_into(&mut s, status);
    serde_json::from_value(json!({
        "metadata": {"name": "cart", "uid": "d1", "generation": generation,
                     "annotations": {REVISION: "2"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "cart"}},
                 "template": {"metadata": {"labels": {"app": "cart"}}}},
        "status": s,
    }))
    .unwrap()
}

fn done() -> Value {
    json!({"replicas": 2, "updatedReplicas": 2, "availableReplicas": 2, "readyReplicas": 2})
}

fn rs(revision: &str, hash: &str) -> ReplicaSet {
    serde_json::from_value(json!({
        "metadata": {"name": format!("cart-{hash}"), "labels": {"pod-template-hash": hash},
                     "annotations": {REVISION: revision},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                          "name": "cart", "uid": "d1", "controller": true}]},
        "spec": {"selector": {}},
    }))
    .unwrap()
}

fn pod(name: &str, hash: &str, ready: bool, restarts: i32) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": "cart", "pod-template-hash": hash}},
        "status": {
            "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
            "containerStatuses": [{"name": "app", "image": "x", "imageID": "", "ready": ready,
                                   "restartCount": restarts}],
        },
    }))
    .unwrap()
}

fn waiting(look: Look) -> String {
    match look {
        Look::Waiting(why) => why,
        Look::Healthy(h) => panic!("expected waiting, got healthy: {h}"),
    }
}

#[test]
fn a_rollout_is_healthy_when_every_new_pod_is_ready_without_restarts() {
    let sets = [rs("1", "old"), rs("2", "new")];
    let pods = [pod("a", "new", true, 0), pod("b", "new", true, 0)];
    let d = deployment(5, 5, done());
    assert_eq!(
        rollout_look(Some(&d), &sets, &pods, Some(5)),
        Look::Healthy("2/2 pods of revision 2 ready, no restarts".into())
    );
}

#[test]
fn a_rollout_waits_for_the_controller_the_counts_and_each_pod() {
    let sets = [rs("1", "old"), rs("2", "new")];
    let healthy = [pod("a", "new", true, 0), pod("b", "new", true, 0)];
    let stale = deployment(6, 5, done());
    assert!(waiting(rollout_look(Some(&stale), &sets, &healthy, Some(6))).contains("generation 6"));

    let rolling = deployment(
        5,
        5,
        json!({"replicas": 3, "updatedReplicas": 1, "availableReplicas": 2}),
    );
    assert_eq!(
        waiting(rollout_look(Some(&rolling), &sets, &healthy, Some(5))),
        "rolling out: 1/2 updated, 2/2 available, 3 in total"
    );

    let d = deployment(5, 5, done());
    let oom = [pod("a", "new", true, 0), pod("b", "new", false, 1)];
    assert!(
        waiting(rollout_look(Some(&d), &sets, &oom, Some(5)))
            .contains("new pod b (not ready, 1 restart)")
    );
    let unready = [pod("a", "new", true, 0), pod("b", "new", false, 0)];
    assert_eq!(
        waiting(rollout_look(Some(&d), &sets, &unready, Some(5))),
        "1/2 new pods ready"
    );
    assert!(waiting(rollout_look(Some(&d), &sets[..1], &healthy, Some(5))).contains("ReplicaSet"));
    assert!(waiting(rollout_look(None, &sets, &healthy, Some(5))).contains("gone"));
}

#[test]
fn a_scale_is_healthy_when_the_count_is_available() {
    let d = deployment(3, 3, json!({"replicas": 2, "availableReplicas": 2}));
    assert_eq!(
        scale_look(Some(&d), Some(3), 2),
        Look::Healthy("2/2 replicas available".into())
    );
    let d = deployment(3, 3, json!({"replicas": 3, "availableReplicas": 1}));
    assert_eq!(
        waiting(scale_look(Some(&d), Some(3), 3)),
        "1/3 available, 3 in total"
    );
    assert!(waiting(scale_look(Some(&d), Some(4), 3)).contains("generation 4"));
}
