//! StatefulSet and DaemonSet actions against the real API server: scale, rolling restart and
//! delete one pod end to end; guards (never to zero, not behind an autoscaler, OnDelete
//! strategy, last pod); a plan overtaken by someone else's change is stale.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::PostParams;
use kube::core::DynamicObject;
use lookout::actions::{ActionError, Outcome, guards};
use serde_json::{Value, json};

use super::{context, refusal, registry, resource, stale, stored};
use crate::sim::{SimTest, is_ready};

/// A StatefulSet of one container `app` labelled `app=<name>`, pods managed in parallel.
pub fn statefulset(name: &str, replicas: i32, spec: Value) -> Value {
    let mut s = json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas, "serviceName": name, "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "shop/db:3",
                                         "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}],
                         "terminationGracePeriodSeconds": 1},
            },
        },
    });
    if let (Some(base), Value::Object(extra)) = (s["spec"].as_object_mut(), spec) {
        base.extend(extra);
    }
    s
}

async fn sts_json(t: &SimTest, name: &str) -> Value {
    serde_json::to_value(t.api::<StatefulSet>().get(name).await.unwrap()).unwrap()
}

/// Waits until the StatefulSet has exactly `n` live pods, all Ready, and no rollout under way
/// (the controller saw the latest generation and every pod is of the current revision): right
/// after a template change the old pods are still Ready for a moment.
pub async fn wait_ready(t: &SimTest, name: &str, n: usize) {
    t.wait_for(&format!("{name} with {n} ready pods"), || async {
        let pods = t.pods(name).await;
        let live: Vec<&Pod> = pods
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .collect();
        let sts = t.api::<StatefulSet>().get(name).await.ok()?;
        let s = sts.status?;
        let settled = s.observed_generation == sts.metadata.generation
            && s.update_revision.is_some()
            && s.current_revision == s.update_revision
            && s.updated_replicas == Some(n as i32);
        (settled
            && live.len() == n
            && live.iter().all(|p| is_ready(p))
            && s.ready_replicas == Some(n as i32))
        .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statefulset_scale_restart_and_delete_pod_end_to_end() {
    let t = SimTest::start(2).await;
    let ctx = context(&t).await;
    let (actions, _) = registry();
    let ns = t.ns.name.clone();
    let _: StatefulSet = t.create(statefulset("db", 2, json!({}))).await;
    wait_ready(&t, "db", 2).await;

    // Scale.
    let params = json!({"namespace": ns, "name": "db", "replicas": 3});
    let plan = actions
        .plan(&ctx, "statefulset.scale", &params)
        .await
        .unwrap();
    assert_eq!(
        plan.summary,
        format!("scale up StatefulSet {ns}/db from 2 to 3 replicas")
    );
    assert!(
        plan.diff.contains("-  replicas: 2\n+  replicas: 3\n"),
        "{}",
        plan.diff
    );
    assert!(!actions.landed(&ctx, &plan).await.unwrap());
    let plan = stored(plan);
    let execution = actions.execute(&ctx, &plan).await.unwrap();
    assert_eq!(sts_json(&t, "db").await["spec"]["replicas"], 3);
    assert!(actions.landed(&ctx, &plan).await.unwrap());
    let v = actions.verify(&ctx, &plan, &execution).await.unwrap();
    assert_eq!(
        (v.outcome, v.detail.as_str()),
        (Outcome::Healthy, "3/3 replicas ready")
    );
    actions.rollback(&ctx, &plan).await.unwrap();
    assert_eq!(sts_json(&t, "db").await["spec"]["replicas"], 2);
    wait_ready(&t, "db", 2).await;

    // Rolling restart.
    let params = json!({"namespace": ns, "name": "db"});
    let plan = actions
        .plan(&ctx, "statefulset.restart", &params)
        .await
        .unwrap();
    assert_eq!(
        plan.summary,
        format!("restart all 2 pods of StatefulSet {ns}/db (rolling)")
    );
    assert!(
        plan.diff
            .contains("+        kubectl.kubernetes.io/restartedAt: "),
        "{}",
        plan.diff
    );
    let execution = actions.execute(&ctx, &plan).await.unwrap();
    let v = actions.verify(&ctx, &plan, &execution).await.unwrap();
    assert_eq!(
        (v.outcome, v.detail.as_str()),
        (Outcome::Healthy, "2/2 restarted pods ready, no restarts")
    );
    let stamp = sts_json(&t, "db").await["spec"]["template"]["metadata"]["annotations"]
        ["kubectl.kubernetes.io/restartedAt"]
        .clone();
    for p in t.pods("db").await {
        assert_eq!(
            p.metadata.annotations.unwrap()["kubectl.kubernetes.io/restartedAt"],
            stamp.as_str().unwrap(),
            "every pod was replaced"
        );
    }
    actions.rollback(&ctx, &plan).await.unwrap();
    assert!(
        sts_json(&t, "db")
            .await
            .pointer("/spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt")
            .is_none(),
        "rollback restores the template"
    );
    wait_ready(&t, "db", 2).await;

    // Delete one pod: it comes back under the same name with a new uid.
    let old = t.api::<Pod>().get("db-0").await.unwrap();
    let params = json!({"namespace": ns, "name": "db", "pod": "db-0"});
    let plan = actions
        .plan(&ctx, "statefulset.delete_pod", &params)
        .await
        .unwrap();
    assert!(
        plan.summary.starts_with("delete pod db-0 (ready)"),
        "{}",
        plan.summary
    );
    let execution = actions.execute(&ctx, &plan).await.unwrap();
    let v = actions.verify(&ctx, &plan, &execution).await.unwrap();
    assert_eq!(
        (v.outcome, v.detail.as_str()),
        (Outcome::Healthy, "replacement pod db-0 is ready")
    );
    let new = t.api::<Pod>().get("db-0").await.unwrap();
    assert_ne!(new.metadata.uid, old.metadata.uid);
    assert!(matches!(
        actions.rollback(&ctx, &plan).await,
        Err(ActionError::NotReversible { .. })
    ));
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statefulset_guards_refuse_with_reasons_and_a_moved_plan_is_stale() {
    let t = SimTest::start(1).await;
    let ctx = context(&t).await;
    let (actions, _) = registry();
    let ns = t.ns.name.clone();
    let _: StatefulSet = t.create(statefulset("solo", 1, json!({}))).await;
    let _: StatefulSet = t
        .create(statefulset(
            "od",
            1,
            json!({"updateStrategy": {"type": "OnDelete"}}),
        ))
        .await;
    wait_ready(&t, "solo", 1).await;

    let (g, r) = refusal(
        actions
            .plan(
                &ctx,
                "statefulset.scale",
                &json!({"namespace": ns, "name": "solo", "replicas": 0}),
            )
            .await,
    );
    assert_eq!(g, guards::SCALE_TO_ZERO);
    assert!(r.contains("never scales to zero"), "{r}");
    let (g, r) = refusal(
        actions
            .plan(
                &ctx,
                "statefulset.delete_pod",
                &json!({"namespace": ns, "name": "solo"}),
            )
            .await,
    );
    assert_eq!(g, guards::LAST_POD);
    assert!(
        r.contains(&format!("is the only pod of StatefulSet {ns}/solo")),
        "{r}"
    );
    let (g, r) = refusal(
        actions
            .plan(
                &ctx,
                "statefulset.restart",
                &json!({"namespace": ns, "name": "od"}),
            )
            .await,
    );
    assert_eq!(g, "update_strategy");
    assert!(r.contains("uses the OnDelete update strategy"), "{r}");
    let (g, _) = refusal(
        actions
            .plan(
                &ctx,
                "statefulset.restart",
                &json!({"namespace": "kube-system", "name": "x"}),
            )
            .await,
    );
    assert_eq!(g, guards::PROTECTED_NAMESPACE);

    // Someone scales between plan and execute: void.
    let plan = actions
        .plan(
            &ctx,
            "statefulset.scale",
            &json!({"namespace": ns, "name": "solo", "replicas": 2}),
        )
        .await
        .unwrap();
    t.patch::<StatefulSet>("solo", json!({"spec": {"replicas": 3}}))
        .await;
    let reason = stale(actions.execute(&ctx, &plan).await);
    assert!(
        reason.contains("changed at /spec/replicas since the plan"),
        "{reason}"
    );
    assert_eq!(sts_json(&t, "solo").await["spec"]["replicas"], 3);

    // An autoscaler owns the replicas.
    let hpa: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "solo"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "solo"},
                 "minReplicas": 1, "maxReplicas": 4},
    }))
    .unwrap();
    super::dynamic_api(
        &t,
        &resource("autoscaling", "v1", "HorizontalPodAutoscaler"),
        true,
    )
    .create(&PostParams::default(), &hpa)
    .await
    .unwrap();
    let (g, r) = refusal(
        actions
            .plan(
                &ctx,
                "statefulset.scale",
                &json!({"namespace": ns, "name": "solo", "replicas": 2}),
            )
            .await,
    );
    assert_eq!(g, guards::AUTOSCALED);
    assert!(
        r.contains(&format!("HorizontalPodAutoscaler {ns}/solo (min 1, max 4)")),
        "{r}"
    );
    t.stop().await;
}
