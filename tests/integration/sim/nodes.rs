//! Nodes: registration as the API server's log proxy needs it, the heartbeat, NotReady through
//! the Node annotation (the kubelet is down: its pods freeze), eviction under memory pressure
//! through the handle.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, NodeCondition, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use lookout::sim::NodeProblem;
use serde_json::json;

use super::{SimTest, deployment, is_ready, node_of, phase, pod};

fn condition(n: &Node, kind: &str) -> Option<NodeCondition> {
    n.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == kind)
        .cloned()
}

fn has_taint(n: &Node, key: &str) -> bool {
    n.spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .is_some_and(|t| t.iter().any(|t| t.key == key))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_register_with_only_a_loopback_address_and_keep_a_heartbeat() {
    let t = SimTest::start_with(2, |c| {
        c.nodes[1] = c.nodes[1].clone().with_memory("2Gi").with_cpu("2")
    })
    .await;
    let n = t.node(&t.nodes[1]).await;
    let labels = n.metadata.labels.clone().unwrap();
    assert_eq!(
        labels.get("sim.lookout.dev/simulated").map(String::as_str),
        Some("true")
    );
    assert_eq!(labels.get("kubernetes.io/hostname"), Some(&t.nodes[1]));
    let s = n.status.clone().unwrap();
    let addresses: Vec<(String, String)> = s
        .addresses
        .unwrap()
        .into_iter()
        .map(|a| (a.type_, a.address))
        .collect();
    assert_eq!(
        addresses,
        [("InternalIP".to_string(), "127.0.0.1".to_string())]
    );
    let port = s.daemon_endpoints.unwrap().kubelet_endpoint.unwrap().port;
    assert_eq!(port, i32::from(t.sim().log_port()));
    let capacity = s.capacity.unwrap();
    assert_eq!(capacity["memory"].0, "2Gi");
    assert_eq!(capacity["cpu"].0, "2");
    assert_eq!(s.node_info.unwrap().kubelet_version, "v1.20.2");
    let ready = condition(&n, "Ready").unwrap();
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_deref()),
        ("True", Some("KubeletReady"))
    );

    let first = ready.last_heartbeat_time.unwrap();
    t.wait_for("a newer heartbeat", || async {
        let beat = condition(&t.node(&t.nodes[1]).await, "Ready")?.last_heartbeat_time?;
        (beat.0 > first.0).then_some(())
    })
    .await;

    let names = t.nodes.clone();
    let client = t.client.clone();
    t.stop().await;
    for name in names {
        let gone = Api::<Node>::all(client.clone())
            .get_opt(&name)
            .await
            .unwrap();
        assert!(gone.is_none(), "node {name} deleted on stop");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_ready_annotation_takes_the_kubelet_down_and_back() {
    let t = SimTest::start(2).await;
    let (down, other) = (t.nodes[0].clone(), t.nodes[1].clone());
    let pinned = |name: &str| {
        pod(
            name,
            json!({}),
            json!({}),
            json!({"nodeSelector": {"kubernetes.io/hostname": down}}),
        )
    };
    let _: Pod = t.create(pinned("before")).await;
    t.pod_where("before", "running on the node", is_ready).await;

    // Another process breaks the node through the API.
    let nodes = Api::<Node>::all(t.client.clone());
    let annotate = |value: serde_json::Value| json!({"metadata": {"annotations": {"sim.lookout.dev/condition": value}}});
    nodes
        .patch(
            &down,
            &PatchParams::default(),
            &Patch::Merge(annotate(json!("NotReady"))),
        )
        .await
        .unwrap();
    let n = t
        .wait_for("node NotReady", || async {
            let n = t.node(&down).await;
            let ready = condition(&n, "Ready")?;
            (ready.status == "Unknown" && has_taint(&n, "node.kubernetes.io/unreachable"))
                .then_some(n)
        })
        .await;
    let ready = condition(&n, "Ready").unwrap();
    assert_eq!(ready.reason.as_deref(), Some("NodeStatusUnknown"));
    assert_eq!(
        ready.message.as_deref(),
        Some("Kubelet stopped posting node status.")
    );

    // Like the node controller, the sim marks the node's pods not ready.
    t.pod_where("before", "pod marked not ready", |p| !is_ready(p))
        .await;
    let e = t.event_where("before", "NodeNotReady", |_| true).await;
    assert_eq!(e.message.as_deref(), Some("Node is not ready"));
    assert_eq!(
        e.source.unwrap().component.as_deref(),
        Some("node-controller")
    );

    // Its kubelet no longer finalises deletions; the scheduler avoids it.
    t.api::<Pod>()
        .delete("before", &DeleteParams::default())
        .await
        .unwrap();
    let _: Pod = t.create(pinned("after")).await;
    t.event_where("after", "FailedScheduling", |e| {
        e.message.as_deref()
            == Some(
                "0/2 nodes are available: 1 node(s) didn't match node selector, \
                 1 node(s) had taint {node.kubernetes.io/unreachable: }, that the pod didn't tolerate.",
            )
    })
    .await;
    let stuck = t.api::<Pod>().get("before").await.unwrap();
    assert!(
        stuck.metadata.deletion_timestamp.is_some(),
        "still terminating"
    );
    assert_eq!(node_of(&stuck), down);

    // The kubelet comes back: the deletion completes, the new pod runs there.
    nodes
        .patch(
            &down,
            &PatchParams::default(),
            &Patch::Merge(annotate(serde_json::Value::Null)),
        )
        .await
        .unwrap();
    let p = t
        .pod_where("after", "pod runs once the node is back", is_ready)
        .await;
    assert_eq!(node_of(&p), down);
    t.wait_for("terminating pod finalised", || async {
        t.api::<Pod>()
            .get_opt("before")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    let n = t.node(&down).await;
    assert_eq!(condition(&n, "Ready").unwrap().status, "True");
    assert!(!has_taint(&n, "node.kubernetes.io/unreachable"));
    assert_ne!(other, down);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_pressure_evicts_pods_to_another_node() {
    let t = SimTest::start(2).await;
    let (pressed, spare) = (t.nodes[0].clone(), t.nodes[1].clone());
    let _: Deployment = t
        .create(deployment(
            "search",
            2,
            json!({}),
            json!({"sim.lookout.dev/memory-need": "300Mi"}),
        ))
        .await;
    t.wait_for("one ready pod per node", || async {
        let pods = t.pods("search").await;
        let on = |n: &str| pods.iter().any(|p| node_of(p) == n && is_ready(p));
        (pods.len() == 2 && on(&pressed) && on(&spare)).then_some(())
    })
    .await;

    t.sim()
        .set_node_condition(&pressed, NodeProblem::MemoryPressure, true)
        .unwrap();

    let evicted = t
        .pod_where("search", "an evicted pod", |p| {
            p.status.as_ref().and_then(|s| s.reason.as_deref()) == Some("Evicted")
        })
        .await;
    assert_eq!(phase(&evicted), "Failed");
    assert_eq!(node_of(&evicted), pressed);
    let message = "The node was low on resource: memory. Container app was using 300Mi, which exceeds its request of 64Mi. ";
    assert_eq!(
        evicted.status.as_ref().unwrap().message.as_deref(),
        Some(message)
    );
    assert!(!is_ready(&evicted));
    let name = evicted.metadata.name.clone().unwrap();
    let e = t.event_where(&name, "Evicted", |_| true).await;
    assert_eq!(e.message.as_deref(), Some(message));
    assert_eq!(e.type_.as_deref(), Some("Warning"));

    let n = t.node(&pressed).await;
    let mem = condition(&n, "MemoryPressure").unwrap();
    assert_eq!(
        (mem.status.as_str(), mem.reason.as_deref()),
        ("True", Some("KubeletHasInsufficientMemory"))
    );
    assert!(has_taint(&n, "node.kubernetes.io/memory-pressure"));

    // The ReplicaSet's replacement lands on the healthy node.
    t.wait_for("two ready replicas on the spare node", || async {
        let pods = t.pods("search").await;
        let ready: Vec<&Pod> = pods.iter().filter(|p| is_ready(p)).collect();
        (ready.len() == 2 && ready.iter().all(|p| node_of(p) == spare)).then_some(())
    })
    .await;

    t.sim()
        .set_node_condition(&pressed, NodeProblem::MemoryPressure, false)
        .unwrap();
    t.wait_for("pressure relieved", || async {
        let n = t.node(&pressed).await;
        (condition(&n, "MemoryPressure")?.status == "False"
            && !has_taint(&n, "node.kubernetes.io/memory-pressure"))
        .then_some(())
    })
    .await;
    t.stop().await;
}
