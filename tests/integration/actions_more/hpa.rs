//! `hpa.adjust` against the real API server, whose HorizontalPodAutoscalers are
//! autoscaling/v2beta2 (found by discovery; same `minReplicas`/`maxReplicas` as v2). There is
//! no metrics server: the autoscaler cannot compute utilisation, so these tests check what the
//! API server and the HPA controller record — the bounds, and the controller holding its target
//! within them (it does that even without metrics: a raised minimum scales the target up).

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Patch, PatchParams};
use lookout::actions::{ActionError, Outcome, guards};
use serde_json::json;

use super::{context, create_dynamic, dynamic_api, get_json, refusal, registry, stale, stored};
use crate::actions::wait_healthy;
use crate::sim::{SimTest, deployment};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hpa_bounds_are_adjusted_verified_enforced_and_rolled_back() {
    let t = SimTest::start(2).await;
    let ctx = context(&t).await;
    let (actions, _) = registry();
    let ns = t.ns.name.clone();
    let ar = ctx
        .served
        .horizontal_pod_autoscalers
        .clone()
        .expect("HPAs are served");
    assert_eq!(
        ar.api_version, "autoscaling/v2beta2",
        "the 1.20 server's autoscalers"
    );
    let _: Deployment = t.create(deployment("web", 1, json!({}), json!({}))).await;
    wait_healthy(&t, "web", 1).await;
    create_dynamic(&t, &ar, json!({
        "apiVersion": ar.api_version, "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web-hpa"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                 "minReplicas": 1, "maxReplicas": 3,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]},
    }))
    .await;
    let api = dynamic_api(&t, &ar, true);

    // Raise the maximum, naming the workload as the runbook does.
    let params = json!({"namespace": ns, "name": "web", "max_replicas": 5});
    let plan = actions.plan(&ctx, "hpa.adjust", &params).await.unwrap();
    assert_eq!(plan.target.name, "web-hpa");
    assert_eq!(
        plan.summary,
        format!(
            "set HorizontalPodAutoscaler {ns}/web-hpa (scales Deployment web) from min 1, max 3 to min 1, max 5"
        )
    );
    assert!(
        plan.diff.contains("-  maxReplicas: 3\n+  maxReplicas: 5\n"),
        "{}",
        plan.diff
    );
    let plan = stored(plan);
    let execution = actions.execute(&ctx, &plan).await.unwrap();
    assert_eq!(get_json(&api, "web-hpa").await["spec"]["maxReplicas"], 5);
    let v = actions.verify(&ctx, &plan, &execution).await.unwrap();
    assert_eq!(v.outcome, Outcome::Healthy, "{}", v.detail);
    assert!(
        v.detail.starts_with("bounds min 1, max 5 recorded"),
        "{}",
        v.detail
    );
    actions.rollback(&ctx, &plan).await.unwrap();
    assert_eq!(get_json(&api, "web-hpa").await["spec"]["maxReplicas"], 3);

    // Raise the minimum: the controller scales the Deployment up to it, without metrics.
    let params = json!({"namespace": ns, "name": "web-hpa", "min_replicas": 2});
    let plan = actions.plan(&ctx, "hpa.adjust", &params).await.unwrap();
    assert!(
        plan.diff.contains("+  minReplicas: 2\n")
            || plan.diff.contains("-  minReplicas: 1\n+  minReplicas: 2\n"),
        "{}",
        plan.diff
    );
    let execution = actions.execute(&ctx, &plan).await.unwrap();
    let v = actions.verify(&ctx, &plan, &execution).await.unwrap();
    assert_eq!(v.outcome, Outcome::Healthy, "{}", v.detail);
    assert_eq!(
        v.detail,
        "bounds min 2, max 3 recorded; 2 replicas, within them"
    );
    let d = t.api::<Deployment>().get("web").await.unwrap();
    assert_eq!(d.spec.replicas, Some(2), "the autoscaler scaled its target");
    actions.rollback(&ctx, &plan).await.unwrap();
    assert_eq!(get_json(&api, "web-hpa").await["spec"]["minReplicas"], 1);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hpa_guards_refuse_with_reasons_and_a_moved_plan_is_stale() {
    let t = SimTest::start(1).await;
    let ctx = context(&t).await;
    let (actions, _) = registry();
    let ns = t.ns.name.clone();
    let ar = ctx
        .served
        .horizontal_pod_autoscalers
        .clone()
        .expect("HPAs are served");
    create_dynamic(&t, &ar, json!({
        "apiVersion": ar.api_version, "kind": "HorizontalPodAutoscaler", "metadata": {"name": "api"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
                 "minReplicas": 2, "maxReplicas": 6},
    }))
    .await;
    let plan = |p: serde_json::Value| {
        let (actions, ctx) = (&actions, &ctx);
        async move { actions.plan(ctx, "hpa.adjust", &p).await }
    };
    let (g, _) = refusal(plan(json!({"namespace": ns, "name": "api", "min_replicas": 0})).await);
    assert_eq!(g, guards::SCALE_TO_ZERO);
    let (g, r) = refusal(plan(json!({"namespace": ns, "name": "api", "min_replicas": 7})).await);
    assert_eq!(
        (g, r),
        (
            "hpa_bounds",
            format!(
                "the minimum 7 would be above the maximum 6 of HorizontalPodAutoscaler {ns}/api"
            )
        )
    );
    let (g, r) = refusal(plan(json!({"namespace": ns, "name": "api", "max_replicas": 51})).await);
    assert_eq!(
        (g, r.as_str()),
        (
            guards::REPLICA_BOUND,
            "a maximum of 51 replicas is above the limit of 50"
        )
    );
    let (g, r) = refusal(plan(json!({"namespace": ns, "name": "api", "max_replicas": 19})).await);
    assert_eq!(g, guards::REPLICA_BOUND);
    assert!(
        r.contains("from 6 to 19 is more than 3x in one step (at most 18)"),
        "{r}"
    );
    let (g, _) =
        refusal(plan(json!({"namespace": "kube-system", "name": "api", "max_replicas": 7})).await);
    assert_eq!(g, guards::PROTECTED_NAMESPACE);
    match plan(json!({"namespace": ns, "name": "api"})).await {
        Err(ActionError::InvalidParams { reason, .. }) => {
            assert!(reason.contains("min_replicas, max_replicas"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    match plan(json!({"namespace": ns, "name": "nope", "max_replicas": 7})).await {
        Err(ActionError::NotFound { target }) => assert_eq!(
            target.to_string(),
            format!("HorizontalPodAutoscaler {ns}/nope")
        ),
        other => panic!("{other:?}"),
    }

    let p = plan(json!({"namespace": ns, "name": "api", "max_replicas": 8}))
        .await
        .unwrap();
    dynamic_api(&t, &ar, true)
        .patch(
            "api",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"maxReplicas": 7}})),
        )
        .await
        .unwrap();
    let reason = stale(actions.execute(&ctx, &p).await);
    assert!(
        reason.contains("changed at /spec/maxReplicas since the plan"),
        "{reason}"
    );
    t.stop().await;
}
