//! An approval is for what was shown: a change to the approved part of the object voids it
//! (`Stale`), a change elsewhere (a label, the controller's status updates) does not.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::DeleteParams;
use lookout::actions::ActionError;
use serde_json::json;

use super::{context, count, memory_limit, registry, wait_healthy};
use crate::sim::{SimTest, deployment};

fn stale<T: std::fmt::Debug>(r: Result<T, ActionError>) -> String {
    match r {
        Err(ActionError::Stale { reason }) => reason,
        other => panic!("expected Stale, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_to_what_was_approved_voids_the_plan_a_change_elsewhere_does_not() {
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
    wait_healthy(&t, "cart", 2).await;

    // Someone edits the pod template between plan and execute: the approval is void.
    let params =
        json!({"namespace": ns, "name": "cart", "container": "app", "memory_limit": "256Mi"});
    let plan = actions
        .plan(&ctx, "deployment.adjust_resources", &params)
        .await
        .unwrap();
    t.patch::<Deployment>("cart", json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "shop/web:1.5.0"}]}}}}))
        .await;
    let reason = stale(actions.execute(&ctx, &plan).await);
    assert!(
        reason.contains("changed at /spec/template since the plan"),
        "{reason}"
    );
    assert_eq!(
        memory_limit(&t, "cart").await.as_deref(),
        Some("128Mi"),
        "nothing applied"
    );
    assert!(!actions.landed(&ctx, &plan).await.unwrap());
    assert_eq!(count(&metrics, "deployment.adjust_resources", "stale"), 1);

    // Someone else already made the same change: still void (what was approved has moved), and
    // `landed` tells the caller the change is in place anyway.
    let plan = actions
        .plan(&ctx, "deployment.adjust_resources", &params)
        .await
        .unwrap();
    t.patch::<Deployment>("cart", json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "resources": {"limits": {"memory": "256Mi"}}}]}}}}))
        .await;
    stale(actions.execute(&ctx, &plan).await);
    assert!(
        actions.landed(&ctx, &plan).await.unwrap(),
        "the change is in place, by someone else"
    );

    // A label on the Deployment (a new resourceVersion, same spec) does not void a scale.
    let plan = actions
        .plan(
            &ctx,
            "deployment.scale",
            &json!({"namespace": ns, "name": "cart", "replicas": 3}),
        )
        .await
        .unwrap();
    t.patch::<Deployment>(
        "cart",
        json!({"metadata": {"labels": {"team": "checkout"}}}),
    )
    .await;
    let execution = actions.execute(&ctx, &plan).await.unwrap();
    assert!(
        !execution.resource_version.is_empty()
            && execution.resource_version != plan.resource_version
    );
    assert_eq!(
        super::deployment_json(&t, "cart").await["spec"]["replicas"],
        3
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_deleted_or_replaced_since_the_plan_is_stale() {
    let t = SimTest::start(2).await;
    let ctx = context(&t).await;
    let (actions, _) = registry();
    let _: Deployment = t.create(deployment("web", 3, json!({}), json!({}))).await;
    wait_healthy(&t, "web", 3).await;
    let plan = actions
        .plan(
            &ctx,
            "deployment.delete_pod",
            &json!({"namespace": t.ns.name, "name": "web"}),
        )
        .await
        .unwrap();
    t.api::<Pod>()
        .delete(&plan.target.name, &DeleteParams::default())
        .await
        .unwrap();
    t.wait_for("the pod to be gone", || async {
        t.api::<Pod>()
            .get_opt(&plan.target.name)
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    let reason = stale(actions.execute(&ctx, &plan).await);
    assert!(reason.contains("no longer exists"), "{reason}");
    t.stop().await;
}
