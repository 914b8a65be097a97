//! The scheduler: FailedScheduling with kube-scheduler's message format, PodScheduled
//! conditions, and pods that schedule once capacity frees up.

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::json;

use super::{SimTest, is_ready, node_of, pod};

fn requesting(cpu: &str, memory: &str) -> serde_json::Value {
    json!({"resources": {"requests": {"cpu": cpu, "memory": memory}}})
}

/// The PodScheduled condition's (status, reason, message).
fn scheduled(p: &Pod) -> Option<(String, Option<String>, Option<String>)> {
    let c = p
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "PodScheduled")?
        .clone();
    Some((c.status, c.reason, c.message))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unschedulable_pods_get_the_real_failed_scheduling_message() {
    let t = SimTest::start_with(2, |c| {
        for n in &mut c.nodes {
            *n = n.clone().with_cpu("1").with_memory("1Gi");
        }
    })
    .await;

    let _: Pod = t
        .create(pod("huge", requesting("100m", "2Gi"), json!({}), json!({})))
        .await;
    let message = "0/2 nodes are available: 2 Insufficient memory.";
    let e = t
        .event_where("huge", "FailedScheduling", |e| {
            e.message.as_deref() == Some(message)
        })
        .await;
    assert_eq!(e.type_.as_deref(), Some("Warning"));
    assert_eq!(
        e.source.as_ref().unwrap().component.as_deref(),
        Some("default-scheduler")
    );
    let p = t
        .pod_where("huge", "PodScheduled=False", |p| {
            scheduled(p).is_some_and(|s| s.0 == "False")
        })
        .await;
    assert_eq!(
        scheduled(&p),
        Some((
            "False".into(),
            Some("Unschedulable".into()),
            Some(message.into())
        ))
    );
    assert!(node_of(&p).is_empty());
    // Retries aggregate into the same event.
    t.event_where("huge", "FailedScheduling", |e| e.count.unwrap_or(0) >= 2)
        .await;

    // Cordon one node: each node gives its own reason.
    Api::<Node>::all(t.client.clone())
        .patch(
            &t.nodes[0],
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"unschedulable": true}})),
        )
        .await
        .unwrap();
    let _: Pod = t
        .create(pod("greedy", requesting("2", "64Mi"), json!({}), json!({})))
        .await;
    t.event_where("greedy", "FailedScheduling", |e| {
        e.message.as_deref()
            == Some("0/2 nodes are available: 1 Insufficient cpu, 1 node(s) were unschedulable.")
    })
    .await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_pod_schedules_once_capacity_frees_up() {
    let t = SimTest::start_with(1, |c| c.nodes[0] = c.nodes[0].clone().with_memory("1Gi")).await;
    let _: Pod = t
        .create(pod(
            "first",
            requesting("100m", "700Mi"),
            json!({}),
            json!({}),
        ))
        .await;
    t.pod_where("first", "first running", is_ready).await;

    let _: Pod = t
        .create(pod(
            "second",
            requesting("100m", "700Mi"),
            json!({}),
            json!({}),
        ))
        .await;
    t.event_where("second", "FailedScheduling", |e| {
        e.message.as_deref() == Some("0/1 nodes are available: 1 Insufficient memory.")
    })
    .await;

    t.api::<Pod>()
        .delete("first", &DeleteParams::default())
        .await
        .unwrap();
    let p = t.pod_where("second", "second running", is_ready).await;
    assert_eq!(node_of(&p), t.nodes[0]);
    // The deleted pod was finalised by the kubelet, not left Terminating.
    assert!(t.pods("first").await.is_empty());
    t.stop().await;
}
