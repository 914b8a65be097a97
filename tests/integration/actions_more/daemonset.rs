//! `daemonset.restart` against the real API server: every node's pod replaced and Ready,
//! rollback restores the template; OnDelete refused; a moved template voids the plan.

use k8s_openapi::api::apps::v1::DaemonSet;
use lookout::actions::Outcome;
use serde_json::{Value, json};

use super::{context, refusal, registry, stale, stored};
use crate::sim::{SimTest, is_ready, labelled};
use crate::support::unique;

fn daemonset(name: &str, mark: &str, strategy: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name},
        "spec": {"selector": {"matchLabels": {"app": name}},
                 "updateStrategy": {"type": strategy},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"nodeSelector": {"sim-test": mark},
                                       "terminationGracePeriodSeconds": 1,
                                       "containers": [{"name": "agent", "image": "shop/agent:2"}]}}},
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemonset_restart_replaces_every_nodes_pod_and_rolls_back() {
    let mark = unique("ds");
    let t = SimTest::start_with(2, |c| {
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
    let _: DaemonSet = t.create(daemonset("agent", &mark, "RollingUpdate")).await;
    let _: DaemonSet = t.create(daemonset("manual", &mark, "OnDelete")).await;
    t.wait_for("an agent ready on each node", || async {
        let ds = t.api::<DaemonSet>().get("agent").await.ok()?.status?;
        let ready = t.pods("agent").await.iter().filter(|p| is_ready(p)).count();
        (ds.number_ready == 2 && ds.desired_number_scheduled == 2 && ready == 2).then_some(())
    })
    .await;
    let before: Vec<String> = t
        .pods("agent")
        .await
        .iter()
        .map(|p| p.metadata.uid.clone().unwrap())
        .collect();

    let params = json!({"namespace": ns, "name": "agent"});
    let plan = actions
        .plan(&ctx, "daemonset.restart", &params)
        .await
        .unwrap();
    assert_eq!(
        plan.summary,
        format!("restart all 2 pods of DaemonSet {ns}/agent (rolling)")
    );
    assert!(
        plan.diff
            .contains("+        kubectl.kubernetes.io/restartedAt: "),
        "{}",
        plan.diff
    );
    let plan = stored(plan);
    let execution = actions.execute(&ctx, &plan).await.unwrap();
    assert!(actions.landed(&ctx, &plan).await.unwrap());
    let v = actions.verify(&ctx, &plan, &execution).await.unwrap();
    assert_eq!(
        (v.outcome, v.detail.as_str()),
        (Outcome::Healthy, "2/2 restarted pods ready, no restarts")
    );
    let after = t.pods("agent").await;
    assert!(
        after
            .iter()
            .all(|p| !before.contains(p.metadata.uid.as_ref().unwrap()))
    );
    actions.rollback(&ctx, &plan).await.unwrap();
    assert!(
        !actions.landed(&ctx, &plan).await.unwrap(),
        "the stamp is gone again"
    );

    let (g, r) = refusal(
        actions
            .plan(
                &ctx,
                "daemonset.restart",
                &json!({"namespace": ns, "name": "manual"}),
            )
            .await,
    );
    assert_eq!(g, "update_strategy");
    assert!(r.contains("OnDelete"), "{r}");

    let plan = actions
        .plan(&ctx, "daemonset.restart", &params)
        .await
        .unwrap();
    t.patch::<DaemonSet>(
        "agent",
        json!({"spec": {"template": {"spec": {"containers": [{"name": "agent", "image": "shop/agent:3"}]}}}}),
    )
    .await;
    let reason = stale(actions.execute(&ctx, &plan).await);
    assert!(
        reason.contains("changed at /spec/template since the plan"),
        "{reason}"
    );
    t.stop().await;
}
