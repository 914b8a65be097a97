//! Objects to facts: pods (states, trouble, which logs to fetch), events (merged, ordered),
//! rollout history.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Event, Pod};
use serde_json::json;

use crate::context::StateFacts;
use crate::context::events::merge_events;
use crate::context::pods::{log_targets, pod_facts, sort_pods};
use crate::context::rollout::rollout_facts;

fn oom_pod(name: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "shop", "creationTimestamp": "2024-05-01T11:48:00Z",
                     "managedFields": [{"manager": "kube-controller-manager"}]},
        "spec": {"nodeName": "node-1",
            "initContainers": [{"name": "migrate", "image": "shop/migrate:1"}],
            "containers": [
                {"name": "app", "image": "shop/catalog:2",
                 "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}}},
                {"name": "proxy", "image": "envoy:1.30"}]},
        "status": {"phase": "Running",
            "conditions": [
                {"type": "Initialized", "status": "True"},
                {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                 "message": "containers with unready status: [app]", "lastTransitionTime": "2024-05-01T11:48:10Z"}],
            "initContainerStatuses": [{"name": "migrate", "image": "shop/migrate:1", "imageID": "", "ready": true,
                "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}],
            "containerStatuses": [
                {"name": "app", "image": "shop/catalog:2", "imageID": "", "ready": false, "restartCount": 6,
                 "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container=app pod=catalog-1_shop(0b6d3c4e-5f1a-4c1e-9d7e-2a3b4c5d6e7f)"}},
                 "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled",
                     "startedAt": "2024-05-01T11:58:00Z", "finishedAt": "2024-05-01T11:58:12Z"}}},
                {"name": "proxy", "image": "envoy:1.30", "imageID": "", "ready": true, "restartCount": 0,
                 "state": {"running": {"startedAt": "2024-05-01T11:48:05Z"}}}]}
    }))
    .unwrap()
}

fn healthy_pod(name: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"containers": [{"name": "app", "image": "shop/catalog:2"}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "app", "image": "shop/catalog:2", "imageID": "", "ready": true,
                "restartCount": 0, "state": {"running": {}}}]}
    }))
    .unwrap()
}

#[test]
fn a_crash_looping_pod_shows_its_oom_kill_limits_and_restarts() {
    let p = pod_facts(&oom_pod("catalog-1"));
    assert_eq!(p.trouble, 2);
    assert_eq!(p.phase, "Running");
    assert_eq!(p.node.as_deref(), Some("node-1"));
    let names: Vec<&str> = p.containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["app", "proxy"],
        "a completed init container is noise"
    );
    let app = &p.containers[0];
    assert!(app.failing && !app.ready);
    assert_eq!(app.restarts, 6);
    assert_eq!(
        app.resources_line(),
        "requests cpu=100m memory=64Mi; limits memory=128Mi"
    );
    assert!(matches!(
        &app.last_state,
        Some(StateFacts::Terminated { reason, exit_code: 137, .. }) if reason == "OOMKilled"
    ));
    assert!(matches!(
        &app.state,
        Some(StateFacts::Waiting { message, .. }) if message == "back-off 40s restarting failed container=app"
    ));
    assert!(!p.containers[1].failing);
    let not_true: Vec<&str> = p.conditions.iter().map(|c| c.type_.as_str()).collect();
    assert_eq!(not_true, ["Ready"]);
}

#[test]
fn unhealthy_pods_sort_first_and_logs_are_not_fetched_twice_for_one_failure() {
    let mut pods = vec![
        pod_facts(&healthy_pod("catalog-0")),
        pod_facts(&oom_pod("catalog-2")),
        pod_facts(&oom_pod("catalog-1")),
    ];
    sort_pods(&mut pods);
    let order: Vec<&str> = pods.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(order, ["catalog-1", "catalog-2", "catalog-0"]);
    let targets = log_targets(&pods, 2);
    assert_eq!(targets.len(), 1, "both pods fail alike: one log tells it");
    let t = &targets[0];
    assert_eq!((t.pod.as_str(), t.container.as_str()), ("catalog-1", "app"));
    assert!(t.previous);
    assert_eq!(t.instance, "OOMKilled exit 137");
}

#[test]
fn a_container_that_never_started_has_no_log_to_fetch() {
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "web-1", "namespace": "shop"},
        "spec": {"containers": [{"name": "app", "image": "shop/web:9-typo"}]},
        "status": {"phase": "Pending", "containerStatuses": [{"name": "app", "image": "shop/web:9-typo",
            "imageID": "", "ready": false, "restartCount": 0,
            "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}}}]}
    }))
    .unwrap();
    let p = pod_facts(&pod);
    assert_eq!(p.trouble, 2);
    assert!(p.containers[0].failing);
    assert!(log_targets(&[p], 2).is_empty());
}

fn event(uid: &str, pod: &str, reason: &str, count: i32, last: &str) -> Event {
    serde_json::from_value(json!({
        "metadata": {"name": format!("{pod}.{uid}"), "namespace": "shop", "uid": uid},
        "involvedObject": {"kind": "Pod", "name": pod, "namespace": "shop"},
        "type": if reason == "BackOff" { "Warning" } else { "Normal" },
        "reason": reason,
        "message": if reason == "BackOff" { "Back-off restarting failed container" } else { "Started container app" },
        "count": count,
        "firstTimestamp": "2024-05-01T11:48:00Z",
        "lastTimestamp": last
    }))
    .unwrap()
}

#[test]
fn events_merge_by_reason_and_message_newest_first_in_any_listing_order() {
    let events = vec![
        event("u1", "catalog-1", "BackOff", 10, "2024-05-01T11:59:00Z"),
        event("u2", "catalog-2", "BackOff", 7, "2024-05-01T11:59:30Z"),
        event("u3", "catalog-1", "Started", 6, "2024-05-01T11:58:00Z"),
        event("u1", "catalog-1", "BackOff", 10, "2024-05-01T11:59:00Z"),
    ];
    let merged = merge_events(&events);
    assert_eq!(merged.len(), 2);
    let backoff = &merged[0];
    assert_eq!(backoff.reason, "BackOff");
    assert_eq!(backoff.count, 17, "u1 listed twice counts once");
    assert_eq!(backoff.objects, ["pod/catalog-1", "pod/catalog-2"]);
    assert_eq!(merged[1].reason, "Started");
    let mut reversed = events.clone();
    reversed.reverse();
    assert_eq!(merge_events(&reversed), merged);
}

#[test]
fn rollout_history_orders_revisions_and_keeps_only_the_deployments_replicasets() {
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "shop", "uid": "d-uid"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {}}
    }))
    .unwrap();
    let rs = |name: &str, rev: &str, owner: &str, image: &str| -> ReplicaSet {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "shop",
                "annotations": {"deployment.kubernetes.io/revision": rev},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                    "uid": owner, "controller": true}]},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                "template": {"spec": {"containers": [{"name": "app", "image": image}]}}},
            "status": {"replicas": 1, "readyReplicas": 1}
        }))
        .unwrap()
    };
    let list = vec![
        rs("web-a", "1", "d-uid", "web:1"),
        rs("web-c", "3", "d-uid", "web:3"),
        rs("web-old", "9", "another-uid", "web:0"),
        rs("web-b", "2", "d-uid", "web:2"),
    ];
    let r = rollout_facts(&d, &list, 2);
    assert_eq!(r.deployment, "shop/web");
    assert_eq!(r.total, 3);
    let revisions: Vec<(u64, &str)> = r
        .revisions
        .iter()
        .map(|v| (v.revision, v.images[0].1.as_str()))
        .collect();
    assert_eq!(revisions, [(3, "web:3"), (2, "web:2")]);
}
