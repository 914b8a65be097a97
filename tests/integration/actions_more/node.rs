//! Node actions against the real API server: cordon and uncordon, and drains that evict through
//! the Eviction API (policy/v1beta1 on 1.20, found by discovery), leave DaemonSet pods, respect
//! a PodDisruptionBudget (refused at planning; at execution, retried until the budget allows
//! and reported while it does not) and roll back by uncordoning.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use lookout::actions::{Outcome, guards};
use serde_json::json;

use super::{context, context_with, create_dynamic, dynamic_api, refusal, registry, stale, stored};
use crate::actions::wait_healthy;
use crate::sim::{SimTest, deployment, is_ready, labelled, node_of, pod};
use crate::support::unique;

async fn unschedulable(t: &SimTest, node: &str) -> Option<bool> {
    t.node(node).await.spec.and_then(|s| s.unschedulable)
}

async fn set_cordon(t: &SimTest, node: &str, on: bool) {
    let v = if on {
        json!(true)
    } else {
        serde_json::Value::Null
    };
    Api::<Node>::all(t.client.clone())
        .patch(
            node,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"unschedulable": v}})),
        )
        .await
        .expect("cordon by hand");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cordon_and_uncordon_plan_execute_verify_and_roll_back() {
    let t = SimTest::start(1).await;
    let ctx = context(&t).await;
    let (actions, _) = registry();
    let node = t.nodes[0].clone();
    let params = json!({"name": node});

    let plan = actions.plan(&ctx, "node.cordon", &params).await.unwrap();
    assert_eq!(
        plan.diff,
        format!(
            "--- Node {node} (live)\n+++ Node {node} (after change, server dry-run)\n@@ -0,0 +1,2 @@\n+spec:\n+  unschedulable: true\n"
        )
    );
    assert_eq!(
        unschedulable(&t, &node).await,
        None,
        "planning changes nothing"
    );
    assert!(!actions.landed(&ctx, &plan).await.unwrap());
    let plan = stored(plan);
    let execution = actions.execute(&ctx, &plan).await.unwrap();
    assert_eq!(unschedulable(&t, &node).await, Some(true));
    assert!(actions.landed(&ctx, &plan).await.unwrap());
    let v = actions.verify(&ctx, &plan, &execution).await.unwrap();
    assert_eq!(v.outcome, Outcome::Healthy, "{}", v.detail);
    assert_eq!(v.detail, "spec.unschedulable is true: cordoned");
    let (g, r) = refusal(actions.plan(&ctx, "node.cordon", &params).await);
    assert_eq!(
        (g, r),
        (
            guards::NO_CHANGE,
            format!("Node {node} is already cordoned")
        )
    );
    actions.rollback(&ctx, &plan).await.unwrap();
    assert_eq!(unschedulable(&t, &node).await, None, "rollback uncordons");

    set_cordon(&t, &node, true).await;
    let plan = actions.plan(&ctx, "node.uncordon", &params).await.unwrap();
    assert!(
        plan.diff.contains("-  unschedulable: true\n"),
        "{}",
        plan.diff
    );
    let execution = actions.execute(&ctx, &plan).await.unwrap();
    assert_eq!(unschedulable(&t, &node).await, None);
    let v = actions.verify(&ctx, &plan, &execution).await.unwrap();
    assert_eq!(v.outcome, Outcome::Healthy, "{}", v.detail);
    actions.rollback(&ctx, &plan).await.unwrap();
    assert_eq!(
        unschedulable(&t, &node).await,
        Some(true),
        "rollback cordons again"
    );

    // Someone uncordons between plan and execute: the approval is void.
    set_cordon(&t, &node, false).await;
    let plan = actions.plan(&ctx, "node.cordon", &params).await.unwrap();
    set_cordon(&t, &node, true).await;
    let reason = stale(actions.execute(&ctx, &plan).await);
    assert!(
        reason.contains("changed at /spec/unschedulable since the plan"),
        "{reason}"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_evicts_to_other_nodes_keeps_daemonset_pods_and_rolls_back() {
    let mark = unique("drain");
    let t = SimTest::start_with(3, |c| {
        c.nodes = c
            .nodes
            .iter()
            .map(|n| labelled(n, "sim-test", &mark))
            .collect();
    })
    .await;
    let ctx = context(&t).await;
    let (actions, _) = registry();
    let ns = t.ns.name.clone();
    let _: Deployment = t.create(deployment("web", 2, json!({}), json!({}))).await;
    let _: DaemonSet = t
        .create(json!({
            "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
            "spec": {"selector": {"matchLabels": {"app": "agent"}},
                     "template": {"metadata": {"labels": {"app": "agent"}},
                                  "spec": {"nodeSelector": {"sim-test": mark},
                                           "containers": [{"name": "agent", "image": "shop/agent:2"}]}}},
        }))
        .await;
    wait_healthy(&t, "web", 2).await;
    t.wait_for("an agent ready on each node", || async {
        (t.pods("agent").await.iter().filter(|p| is_ready(p)).count() == 3).then_some(())
    })
    .await;
    let victim = node_of(&t.pods("web").await[0]).to_string();
    let on_victim: Vec<String> = t
        .pods("web")
        .await
        .iter()
        .filter(|p| node_of(p) == victim)
        .map(|p| p.metadata.name.clone().unwrap())
        .collect();
    let agent = t
        .pods("agent")
        .await
        .into_iter()
        .find(|p| node_of(p) == victim)
        .unwrap()
        .metadata
        .name
        .unwrap();

    let plan = actions
        .plan(&ctx, "node.drain", &json!({"name": victim}))
        .await
        .unwrap();
    let n = on_victim.len();
    assert!(
        plan.summary.starts_with(&format!(
            "drain Node {victim}: cordon it, then evict {n} pod{} (PodDisruptionBudgets respected); staying: 1 DaemonSet",
            if n == 1 { "" } else { "s" }
        )),
        "{}",
        plan.summary
    );
    assert!(
        plan.diff
            .contains("-unschedulable: false\n+unschedulable: true\n"),
        "{}",
        plan.diff
    );
    assert!(
        plan.diff
            .contains(&format!("\n   {ns}/{agent} (DaemonSet agent)\n")),
        "{}",
        plan.diff
    );
    for p in &on_victim {
        assert!(
            plan.diff
                .contains(&format!("\n-  {ns}/{p} (ReplicaSet web-")),
            "{}",
            plan.diff
        );
    }
    assert_eq!(
        unschedulable(&t, &victim).await,
        None,
        "planning changes nothing"
    );
    assert!(!actions.landed(&ctx, &plan).await.unwrap());

    let plan = stored(plan);
    let execution = actions.execute(&ctx, &plan).await.unwrap();
    assert_eq!(unschedulable(&t, &victim).await, Some(true));
    let v = actions.verify(&ctx, &plan, &execution).await.unwrap();
    assert_eq!(v.outcome, Outcome::Healthy, "{}", v.detail);
    assert_eq!(
        v.detail,
        format!(
            "Node {victim} drained: {n} pod{} evicted, replacements ready elsewhere",
            if n == 1 { "" } else { "s" }
        )
    );
    assert!(actions.landed(&ctx, &plan).await.unwrap());
    let web = t.pods("web").await;
    let live: Vec<&Pod> = web
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect();
    assert_eq!(live.len(), 2);
    assert!(
        live.iter().all(|p| is_ready(p) && node_of(p) != victim),
        "replacements run elsewhere"
    );
    assert!(
        t.api::<Pod>().get_opt(&agent).await.unwrap().is_some(),
        "the DaemonSet pod stays"
    );

    actions.rollback(&ctx, &plan).await.unwrap();
    assert_eq!(unschedulable(&t, &victim).await, None, "rollback uncordons");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_respects_a_pod_disruption_budget_and_reports_what_it_could_not_evict() {
    let t = SimTest::start(2).await;
    let ctx = context(&t).await;
    let (actions, _) = registry();
    let ns = t.ns.name.clone();
    let _: Deployment = t.create(deployment("pay", 2, json!({}), json!({}))).await;
    wait_healthy(&t, "pay", 2).await;
    let ar = ctx
        .served
        .pod_disruption_budgets
        .clone()
        .expect("PDBs are served");
    assert_eq!(
        ar.api_version, "policy/v1beta1",
        "the 1.20 server's budgets"
    );
    let pdbs = dynamic_api(&t, &ar, true);
    let budget = |min: i64| {
        json!({"apiVersion": ar.api_version, "kind": "PodDisruptionBudget", "metadata": {"name": "pay"},
               "spec": {"minAvailable": min, "selector": {"matchLabels": {"app": "pay"}}}})
    };
    let computed = |allowed: i64| {
        let pdbs = pdbs.clone();
        async move {
            crate::support::eventually(Duration::from_secs(45), "the budget computed", || async {
                let p = pdbs.get("pay").await.ok()?;
                (p.data["status"]["currentHealthy"] == 2
                    && p.data["status"]["disruptionsAllowed"] == allowed)
                    .then_some(())
            })
            .await
        }
    };
    create_dynamic(&t, &ar, budget(2)).await;
    computed(0).await;
    let victim_pod = t.pods("pay").await[0].clone();
    let victim = node_of(&victim_pod).to_string();
    let pod_name = victim_pod.metadata.name.clone().unwrap();

    // Planning dry-runs every eviction: the budget refuses it, and nothing changes.
    let (g, r) = refusal(
        actions
            .plan(&ctx, "node.drain", &json!({"name": victim}))
            .await,
    );
    assert_eq!(g, guards::DISRUPTION_BUDGET);
    assert_eq!(
        r,
        format!(
            "evicting from Node {victim} would break a PodDisruptionBudget now: {ns}/{pod_name}: PodDisruptionBudget pay allows no disruption now (2 healthy, 2 required)"
        )
    );
    assert_eq!(unschedulable(&t, &victim).await, None);

    // Without the budget the drain plans; the budget is back before it executes: the eviction
    // is refused, the pod stays, verification retries and reports why it could not evict.
    pdbs.delete("pay", &DeleteParams::default()).await.unwrap();
    let plan = actions
        .plan(&ctx, "node.drain", &json!({"name": victim}))
        .await
        .unwrap();
    create_dynamic(&t, &ar, budget(2)).await;
    computed(0).await;
    let execution = actions.execute(&ctx, &plan).await.unwrap();
    assert_eq!(
        unschedulable(&t, &victim).await,
        Some(true),
        "cordoned all the same"
    );
    let short = context_with(&t, |c| c.verify_timeout = Duration::from_secs(3)).await;
    let v = actions.verify(&short, &plan, &execution).await.unwrap();
    assert_eq!(v.outcome, Outcome::TimedOut, "{}", v.detail);
    assert_eq!(
        v.detail,
        format!(
            "1 pod left on Node {victim}: could not evict {ns}/{pod_name}: PodDisruptionBudget pay allows no disruption now (2 healthy, 2 required)"
        )
    );
    let still = t.api::<Pod>().get(&pod_name).await.unwrap();
    assert!(
        still.metadata.deletion_timestamp.is_none(),
        "never deleted directly"
    );

    // The budget relents: the retried eviction goes through and the drain completes.
    pdbs.patch(
        "pay",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"minAvailable": 1}})),
    )
    .await
    .unwrap();
    let v = actions.verify(&ctx, &plan, &execution).await.unwrap();
    assert_eq!(v.outcome, Outcome::Healthy, "{}", v.detail);
    assert!(
        t.pods("pay")
            .await
            .iter()
            .all(|p| node_of(p) != victim || p.metadata.deletion_timestamp.is_some())
    );
    actions.rollback(&ctx, &plan).await.unwrap();
    assert_eq!(unschedulable(&t, &victim).await, None);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_refuses_pods_without_a_controller_and_goes_stale_when_the_node_moves() {
    let t = SimTest::start(2).await;
    let ctx = context(&t).await;
    let (actions, _) = registry();
    let _: Deployment = t.create(deployment("web", 1, json!({}), json!({}))).await;
    wait_healthy(&t, "web", 1).await;
    let victim = node_of(&t.pods("web").await[0]).to_string();

    let plan = actions
        .plan(&ctx, "node.drain", &json!({"name": victim}))
        .await
        .unwrap();
    set_cordon(&t, &victim, true).await;
    let reason = stale(actions.execute(&ctx, &plan).await);
    assert!(
        reason.contains("changed at /spec/unschedulable since the plan"),
        "{reason}"
    );
    assert_eq!(t.pods("web").await.len(), 1, "nothing evicted");

    // A bare pod on the node would be gone for good once evicted.
    let _: Pod = t
        .create(pod(
            "bare",
            json!({}),
            json!({}),
            json!({"nodeName": victim}),
        ))
        .await;
    let (g, r) = refusal(
        actions
            .plan(&ctx, "node.drain", &json!({"name": victim}))
            .await,
    );
    assert_eq!(g, guards::TARGET);
    assert!(
        r.contains(&format!("{}/bare", t.ns.name)) && r.contains("have no controller"),
        "{r}"
    );

    // A cordoned node with nothing to evict is already drained.
    let idle = t.nodes.iter().find(|n| **n != victim).unwrap().clone();
    set_cordon(&t, &idle, true).await;
    let (g, r) = refusal(
        actions
            .plan(&ctx, "node.drain", &json!({"name": idle}))
            .await,
    );
    assert_eq!(
        (g, r),
        (
            guards::NO_CHANGE,
            format!("Node {idle} is cordoned and has no pods to evict")
        )
    );
    t.stop().await;
}

/// A pod that only the drained node's labels admit has nowhere to go: the drain is refused at
/// planning, naming the pod and the label it needs, and nothing is cordoned or evicted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_is_refused_when_a_pod_could_go_nowhere_else() {
    let mark = unique("pin");
    let t = SimTest::start_with(2, |c| {
        c.nodes[0] = labelled(&c.nodes[0], "pin", &mark);
    })
    .await;
    let ctx = context(&t).await;
    let (actions, _) = registry();
    let mut pinned = deployment("pinned", 1, json!({}), json!({}));
    pinned["spec"]["template"]["spec"]["nodeSelector"] = json!({"pin": mark});
    let _: Deployment = t.create(pinned).await;
    wait_healthy(&t, "pinned", 1).await;
    let victim = node_of(&t.pods("pinned").await[0]).to_string();
    assert_eq!(victim, t.nodes[0], "the pod is pinned to the labelled node");

    let (g, r) = refusal(
        actions
            .plan(&ctx, "node.drain", &json!({"name": victim}))
            .await,
    );
    assert_eq!(g, lookout::actions::node::NO_OTHER_NODE);
    // Any other node's reason will do: the cluster is shared with other tests' nodes.
    assert!(
        r.contains(&format!("{}/pinned-", t.ns.name))
            && r.contains(&format!("lacks the label pin={mark} of its nodeSelector")),
        "{r}"
    );
    assert_eq!(unschedulable(&t, &victim).await, None, "nothing cordoned");
    assert_eq!(t.pods("pinned").await.len(), 1, "nothing evicted");
    t.stop().await;
}
