//! Node problems and what they do to pods: a node whose kubelet stops reporting (its pods are
//! marked not ready, their Deployment loses availability), and memory pressure that evicts a
//! pod to another node.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use lookout::detect::SignalName;
use lookout::sim::NodeProblem;
use serde_json::json;

use super::{Scanner, Watcher, annotations, set};
use crate::sim::{SimTest, deployment, is_ready, labelled, node_of};
use crate::support::unique;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_down_and_a_node_under_memory_pressure_are_found_with_their_pods() {
    // Node 1 goes down with `web` on it; `cache` lands on one of the pool nodes (2 and 3),
    // which then comes under memory pressure; its replacement goes to the other.
    let pool = unique("pool");
    let t = SimTest::start_with(3, |c| {
        for n in &mut c.nodes[1..] {
            *n = labelled(n, "signals-pool", &pool);
        }
    })
    .await;
    let mut bot = Watcher::start(&t).await;
    let down = t.nodes[0].clone();
    let _: Deployment = t
        .create(set(
            deployment("web", 1, json!({}), json!({})),
            "/spec/template/spec/nodeSelector",
            json!({"kubernetes.io/hostname": down}),
        ))
        .await;
    let _: Deployment = t
        .create(set(
            deployment(
                "cache",
                1,
                json!({}),
                annotations(&[("sim.lookout.dev/memory-need", "300Mi")]),
            ),
            "/spec/template/spec/nodeSelector",
            json!({"signals-pool": pool}),
        ))
        .await;
    // `web` must have been available for its loss of availability to count (a rollout that
    // never completed is the progress deadline's business).
    t.wait_for("web available", || async {
        let d = t.api::<Deployment>().get("web").await.ok()?;
        (d.status?.available_replicas == Some(1)).then_some(())
    })
    .await;
    let cache = t.pod_where("cache", "cache running", is_ready).await;
    let pressed = node_of(&cache).to_string();

    // Another process takes node 1's kubelet down through the API; the test's handle puts
    // the other node under memory pressure.
    Api::<Node>::all(t.client.clone())
        .patch(
            &down,
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"annotations": {"sim.lookout.dev/condition": "NotReady"}}}),
            ),
        )
        .await
        .expect("annotate node");
    t.sim()
        .set_node_condition(&pressed, NodeProblem::MemoryPressure, true)
        .expect("memory pressure");

    let scanner = Scanner::new(&t).await;
    let found = scanner
        .until_exactly(
            "both node problems and their pods",
            &[
                &format!("node_not_ready Node/{down} <- Node/{down}"),
                "not_ready Pod/web-* <- Deployment/web",
                "replicas_unavailable Deployment/web <- Deployment/web",
                &format!("node_pressure Node/{pressed} <- Node/{pressed}"),
                // The replacement pod may be bound to the node before its taint is written,
                // and be evicted in turn.
                "evicted Pod/cache-* <- Deployment/cache (one or more)",
            ],
        )
        .await;
    found.says(
        &format!("node_not_ready Node/{down} <- Node/{down}"),
        "NodeStatusUnknown",
        "Kubelet stopped posting node status.",
    );
    // The node controller only flips the pod's Ready condition; it writes no reason.
    found.says("not_ready Pod/web-* <- Deployment/web", "NotReady", "");
    found.says(
        "replicas_unavailable Deployment/web <- Deployment/web",
        "MinimumReplicasUnavailable",
        "Deployment does not have minimum availability.",
    );
    found.says(
        &format!("node_pressure Node/{pressed} <- Node/{pressed}"),
        "MemoryPressure",
        "kubelet has insufficient memory available",
    );
    for f in found.all("evicted Pod/cache-* <- Deployment/cache") {
        assert_eq!(f.reason, "Evicted", "{f:#?}");
        assert_eq!(
            f.message,
            "The node was low on resource: memory. Container app was using 300Mi, which \
             exceeds its request of 64Mi. "
        );
    }

    // The evidence a finding does not show: how many pods the node carries (once the bot's pod
    // watch has caught up with its node watch), and the node of a pod signal.
    let node = bot
        .signal("the node's signal", |s| {
            s.name == SignalName::NodeNotReady
                && s.object.name == down
                && s.evidence.count == Some(1)
        })
        .await;
    assert_eq!(node.evidence.count, Some(1), "{node:#?}");
    assert_eq!(node.evidence.detail("pods"), Some("1"), "{node:#?}");
    let pod = bot
        .signal("web's pod signal", |s| {
            s.name == SignalName::NotReady && s.object.name.starts_with("web-")
        })
        .await;
    assert_eq!(pod.node.as_deref(), Some(down.as_str()), "{pod:#?}");
    bot.stop().await;

    // Both nodes recover: the kubelet reports again and the pod is Ready; the eviction still
    // counts for a while, until the evicted pod is deleted.
    Api::<Node>::all(t.client.clone())
        .patch(
            &down,
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"annotations": {"sim.lookout.dev/condition": null}}}),
            ),
        )
        .await
        .expect("clear node annotation");
    t.sim()
        .set_node_condition(&pressed, NodeProblem::MemoryPressure, false)
        .expect("pressure relieved");
    let left = scanner
        .until_exactly(
            "the nodes recovered",
            &["evicted Pod/cache-* <- Deployment/cache (one or more)"],
        )
        .await;
    for f in left.all("evicted Pod/cache-* <- Deployment/cache") {
        t.api::<Pod>()
            .delete(&f.name, &DeleteParams::default())
            .await
            .expect("delete evicted pod");
    }
    scanner.until_exactly("nothing left", &[]).await;
    t.stop().await;
}
