//! Every guard refuses against the real cluster with its stable name and a reason a person can
//! act on; nothing is changed by a refused plan.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use kube::core::{ApiResource, DynamicObject};
use lookout::actions::{ActionError, guards};
use serde_json::json;

use super::{context, context_with, count, refusal, registry, wait_healthy};
use crate::sim::{SimTest, deployment, pod};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workload_guards_refuse_with_reasons() {
    let t = SimTest::start(2).await;
    let ctx = context(&t).await;
    let (actions, metrics) = registry();
    let ns = t.ns.name.clone();
    let _: Deployment = t
        .create(deployment(
            "cart",
            2,
            json!({"resources": {"requests": {"memory": "64Mi"}, "limits": {"memory": "128Mi"}}}),
            json!({}),
        ))
        .await;
    let _: Deployment = t.create(deployment("solo", 1, json!({}), json!({}))).await;
    wait_healthy(&t, "cart", 2).await;
    wait_healthy(&t, "solo", 1).await;
    let plan = |name: &'static str, params: serde_json::Value| {
        let (actions, ctx) = (&actions, &ctx);
        async move { actions.plan(ctx, name, &params).await }
    };

    let (g, r) = refusal(
        plan(
            "deployment.scale",
            json!({"namespace": "kube-system", "name": "coredns", "replicas": 2}),
        )
        .await,
    );
    assert_eq!(
        (g, r.as_str()),
        (
            guards::PROTECTED_NAMESPACE,
            "namespace kube-system is protected: Lookout takes no action there"
        )
    );
    let protective = context_with(&t, |c| c.protected_namespaces = vec![ns.clone()]).await;
    let (g, _) = refusal(
        actions
            .plan(
                &protective,
                "pod.delete",
                &json!({"namespace": ns, "name": "anything"}),
            )
            .await,
    );
    assert_eq!(g, guards::PROTECTED_NAMESPACE);

    let (g, r) = refusal(
        plan(
            "deployment.scale",
            json!({"namespace": ns, "name": "cart", "replicas": 0}),
        )
        .await,
    );
    assert_eq!(g, guards::SCALE_TO_ZERO);
    assert!(r.contains("never scales to zero"), "{r}");
    let (g, r) = refusal(
        plan(
            "deployment.scale",
            json!({"namespace": ns, "name": "cart", "replicas": 20}),
        )
        .await,
    );
    assert_eq!(g, guards::REPLICA_BOUND);
    assert!(
        r.contains("from 2 to 20 is more than 3x in one step (at most 6)"),
        "{r}"
    );
    let (g, _) = refusal(
        plan(
            "deployment.scale",
            json!({"namespace": ns, "name": "cart", "replicas": 2}),
        )
        .await,
    );
    assert_eq!(g, guards::NO_CHANGE);

    let (g, r) = refusal(
        plan(
            "deployment.adjust_resources",
            json!({"namespace": ns, "name": "cart", "container": "app", "memory_limit": "2Gi"}),
        )
        .await,
    );
    assert_eq!(g, guards::RESOURCE_FACTOR);
    assert!(
        r.contains("memory limit of container app from 128Mi to 2Gi is a factor of 16.0"),
        "{r}"
    );
    let (g, r) = refusal(
        plan(
            "deployment.adjust_resources",
            json!({"namespace": ns, "name": "cart", "container": "app", "memory_request": "256Mi"}),
        )
        .await,
    );
    assert_eq!(
        (g, r.as_str()),
        (
            guards::LIMITS_BELOW_REQUESTS,
            "memory limit 128Mi of container app would be below its request 256Mi"
        )
    );

    let (g, r) = refusal(
        plan(
            "deployment.delete_pod",
            json!({"namespace": ns, "name": "solo"}),
        )
        .await,
    );
    assert_eq!(g, guards::LAST_POD);
    assert!(
        r.contains(&format!("is the only pod of Deployment {ns}/solo")),
        "{r}"
    );

    // Of two pods, the only ready one stays (the other's readiness probe fails).
    let probe = json!({"readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}}});
    let _: Deployment = t.create(deployment("duo", 2, probe, json!({}))).await;
    wait_healthy(&t, "duo", 2).await;
    let duo = t.pods("duo").await;
    let (sick, well) = (
        duo[0].metadata.name.clone().unwrap(),
        duo[1].metadata.name.clone().unwrap(),
    );
    t.api::<Pod>()
        .patch(
            &sick,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(
                json!({"metadata": {"annotations": {"sim.lookout.dev/ready": "false"}}}),
            ),
        )
        .await
        .unwrap();
    t.pod_where("duo", "the probe to fail", |p| {
        p.metadata.name.as_deref() == Some(sick.as_str()) && !crate::sim::is_ready(p)
    })
    .await;
    let (g, r) = refusal(plan("pod.delete", json!({"namespace": ns, "name": well})).await);
    assert_eq!(g, guards::LAST_POD);
    assert!(r.contains("is the only ready pod of Deployment"), "{r}");

    // A pod of another Deployment is not this one's to delete.
    let solo_pod = t.pods("solo").await[0].metadata.name.clone().unwrap();
    let (g, r) = refusal(
        plan(
            "deployment.delete_pod",
            json!({"namespace": ns, "name": "cart", "pod": solo_pod}),
        )
        .await,
    );
    assert_eq!(g, guards::TARGET);
    assert!(r.contains(&format!("has no pod {solo_pod}")), "{r}");

    // A bare pod would not come back.
    let _: Pod = t.create(pod("bare", json!({}), json!({}), json!({}))).await;
    let (g, r) = refusal(plan("pod.delete", json!({"namespace": ns, "name": "bare"})).await);
    assert_eq!(g, guards::TARGET);
    assert!(r.contains("has no controller"), "{r}");

    // A paused Deployment would not roll out.
    t.patch::<Deployment>("cart", json!({"spec": {"paused": true}}))
        .await;
    let (g, _) = refusal(
        plan(
            "deployment.restart",
            json!({"namespace": ns, "name": "cart"}),
        )
        .await,
    );
    assert_eq!(g, guards::PAUSED);
    t.patch::<Deployment>("cart", json!({"spec": {"paused": false}}))
        .await;

    // An autoscaled Deployment is scaled through its HPA (autoscaling/v1 has the same target).
    let hpa: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "cart"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "cart"},
                 "minReplicas": 2, "maxReplicas": 6},
    }))
    .unwrap();
    let ar = ApiResource::from_gvk(&kube::core::GroupVersionKind::gvk(
        "autoscaling",
        "v1",
        "HorizontalPodAutoscaler",
    ));
    Api::<DynamicObject>::namespaced_with(t.client.clone(), &ns, &ar)
        .create(&PostParams::default(), &hpa)
        .await
        .unwrap();
    let (g, r) = refusal(
        plan(
            "deployment.scale",
            json!({"namespace": ns, "name": "cart", "replicas": 3}),
        )
        .await,
    );
    assert_eq!(g, guards::AUTOSCALED);
    assert!(
        r.contains(&format!(
            "HorizontalPodAutoscaler {ns}/cart (min 2, max 6) manages the replicas"
        )),
        "{r}"
    );

    // Parameters are strict; targets must exist.
    match plan(
        "deployment.scale",
        json!({"namespace": ns, "name": "cart", "replicas": 3, "force": true}),
    )
    .await
    {
        Err(ActionError::InvalidParams { reason, .. }) => {
            assert!(reason.contains("unknown field `force`"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    match plan(
        "deployment.restart",
        json!({"namespace": ns, "name": "nope"}),
    )
    .await
    {
        Err(ActionError::NotFound { target }) => {
            assert_eq!(target.to_string(), format!("Deployment {ns}/nope"))
        }
        other => panic!("{other:?}"),
    }
    assert!(count(&metrics, "deployment.scale", "refused") >= 4);
    assert_eq!(count(&metrics, "deployment.scale", "invalid"), 1);
    let replicas = super::deployment_json(&t, "cart").await["spec"]["replicas"].clone();
    assert_eq!(replicas, 2, "refused plans changed nothing");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_disruption_budget_with_nothing_to_spare_refuses_the_delete() {
    let t = SimTest::start(2).await;
    let ctx = context(&t).await;
    let (actions, _) = registry();
    let ns = t.ns.name.clone();
    let _: Deployment = t.create(deployment("pay", 2, json!({}), json!({}))).await;
    wait_healthy(&t, "pay", 2).await;
    // The 1.20 server serves PodDisruptionBudget only in policy/v1beta1: the discovered one.
    let ar = ctx
        .served
        .pod_disruption_budgets
        .clone()
        .expect("PDBs are served");
    let pdbs = Api::<DynamicObject>::namespaced_with(t.client.clone(), &ns, &ar);
    let pdb: DynamicObject = serde_json::from_value(json!({
        "apiVersion": ar.api_version, "kind": "PodDisruptionBudget",
        "metadata": {"name": "pay"},
        "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "pay"}}},
    }))
    .unwrap();
    pdbs.create(&PostParams::default(), &pdb).await.unwrap();
    t.wait_for(
        "the disruption controller to compute the budget",
        || async {
            let p = pdbs.get("pay").await.ok()?;
            (p.data["status"]["currentHealthy"] == 2 && p.data["status"]["disruptionsAllowed"] == 0)
                .then_some(())
        },
    )
    .await;

    let victim = t.pods("pay").await[0].metadata.name.clone().unwrap();
    let (g, r) = refusal(
        actions
            .plan(
                &ctx,
                "pod.delete",
                &json!({"namespace": ns, "name": victim}),
            )
            .await,
    );
    assert_eq!(g, guards::DISRUPTION_BUDGET);
    assert_eq!(
        r,
        format!(
            "PodDisruptionBudget pay allows no disruption now (2 healthy, 2 required); deleting {victim} would break it"
        )
    );

    // With one disruption to spare, the same delete plans.
    pdbs.patch(
        "pay",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(json!({"spec": {"minAvailable": 1}})),
    )
    .await
    .unwrap();
    t.wait_for("the budget to allow one disruption", || async {
        actions
            .plan(
                &ctx,
                "pod.delete",
                &json!({"namespace": ns, "name": victim}),
            )
            .await
            .ok()
    })
    .await;
    t.stop().await;
}
