//! Deleting one pod: the sickest by default, a named one on request; the replacement is
//! verified Ready; a delete cannot be rolled back.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use lookout::actions::{ActionError, Change, Outcome};
use serde_json::json;

use super::{context, registry, wait_healthy};
use crate::sim::{SimTest, deployment};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_delete_pod_replaces_the_pod_and_verifies_the_replacement() {
    let t = SimTest::start(2).await;
    let ctx = context(&t).await;
    let (actions, _) = registry();
    let _: Deployment = t.create(deployment("web", 2, json!({}), json!({}))).await;
    wait_healthy(&t, "web", 2).await;
    let mut names: Vec<String> = t
        .pods("web")
        .await
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    names.sort();

    // All pods are equally healthy: the oldest (then first by name) is chosen, deterministically.
    let plan = actions
        .plan(
            &ctx,
            "deployment.delete_pod",
            &json!({"namespace": t.ns.name, "name": "web"}),
        )
        .await
        .unwrap();
    let victim = plan.target.name.clone();
    assert!(names.contains(&victim));
    assert!(matches!(plan.change, Change::Delete { .. }));
    assert!(
        plan.diff.contains(&format!("-pod: {victim}")),
        "{}",
        plan.diff
    );
    assert!(
        plan.summary.starts_with(&format!(
            "delete pod {victim} (ready) of Deployment {}/web",
            t.ns.name
        )),
        "{}",
        plan.summary
    );
    assert!(!actions.landed(&ctx, &plan).await.unwrap());
    assert!(
        t.api::<Pod>().get_opt(&victim).await.unwrap().is_some(),
        "the dry-run deleted nothing"
    );

    let execution = actions.execute(&ctx, &plan).await.unwrap();
    assert!(actions.landed(&ctx, &plan).await.unwrap());
    let v = actions.verify(&ctx, &plan, &execution).await.unwrap();
    assert_eq!(v.outcome, Outcome::Healthy, "{}", v.detail);
    assert!(v.detail.starts_with("replacement pod web-"), "{}", v.detail);
    assert!(!v.detail.contains(&victim));

    match actions.rollback(&ctx, &plan).await {
        Err(ActionError::NotReversible { .. }) => {}
        other => panic!("a delete cannot be rolled back: {other:?}"),
    }
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_delete_takes_the_named_pod_and_prefers_the_sick_one_by_default() {
    let t = SimTest::start(2).await;
    let ctx = context(&t).await;
    let (actions, _) = registry();
    let probe = json!({"readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}}});
    let _: Deployment = t.create(deployment("api", 3, probe, json!({}))).await;
    wait_healthy(&t, "api", 3).await;
    let named = t.pods("api").await[1].metadata.name.clone().unwrap();

    let plan = actions
        .plan(
            &ctx,
            "pod.delete",
            &json!({"namespace": t.ns.name, "name": named}),
        )
        .await
        .unwrap();
    assert_eq!(plan.target.name, named);
    let execution = actions.execute(&ctx, &plan).await.unwrap();
    let v = actions.verify(&ctx, &plan, &execution).await.unwrap();
    assert_eq!(v.outcome, Outcome::Healthy, "{}", v.detail);

    // A pod whose readiness probe fails, among healthy ones, is the one picked when none is
    // named (the sim reads the pod's own annotations).
    // Make sick a pod other than the one chosen while all are healthy, so the choice shows.
    wait_healthy(&t, "api", 3).await;
    let default = actions
        .plan(
            &ctx,
            "deployment.delete_pod",
            &json!({"namespace": t.ns.name, "name": "api"}),
        )
        .await
        .unwrap()
        .target
        .name;
    let sick = t
        .pods("api")
        .await
        .into_iter()
        .find(|p| {
            p.metadata.deletion_timestamp.is_none()
                && p.metadata.name.as_deref() != Some(default.as_str())
        })
        .unwrap();
    let sick_name = sick.metadata.name.clone().unwrap();
    t.api::<Pod>()
        .patch(
            &sick_name,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(
                json!({"metadata": {"annotations": {"sim.lookout.dev/ready": "false"}}}),
            ),
        )
        .await
        .unwrap();
    let plan = t
        .wait_for("the unready pod to be the one picked", || async {
            let plan = actions
                .plan(
                    &ctx,
                    "deployment.delete_pod",
                    &json!({"namespace": t.ns.name, "name": "api"}),
                )
                .await
                .ok()?;
            (plan.target.name == sick_name).then_some(plan)
        })
        .await;
    assert!(plan.summary.contains("(not ready"), "{}", plan.summary);
    t.stop().await;
}
