//! Deployment actions end to end: plan (the diff shows the change), landed false, execute (the
//! cluster changed), landed true, verify (healthy, observed through watches), rollback
//! (restored).

use k8s_openapi::api::apps::v1::Deployment;
use lookout::actions::Outcome;
use serde_json::json;

use super::{context, count, deployment_json, memory_limit, registry, wait_healthy};
use crate::sim::{SimTest, deployment, status};

fn oom_deployment(name: &str, replicas: i32) -> serde_json::Value {
    deployment(
        name,
        replicas,
        json!({"resources": {"requests": {"memory": "64Mi"}, "limits": {"memory": "128Mi"}}}),
        json!({"sim.lookout.dev/memory-need": "300Mi"}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adjust_resources_heals_an_oom_crash_loop_and_rolls_back() {
    let t = SimTest::start(2).await;
    let ctx = context(&t).await;
    let (actions, metrics) = registry();
    let _: Deployment = t.create(oom_deployment("cart", 2)).await;
    t.pod_where("cart", "an OOM-killed pod", |p| {
        status(p)
            .and_then(|s| s.last_state.as_ref()?.terminated.as_ref()?.reason.clone())
            .as_deref()
            == Some("OOMKilled")
    })
    .await;

    let params = json!({"namespace": t.ns.name, "name": "cart", "container": "app", "memory_limit": "512Mi"});
    let plan = actions
        .plan(&ctx, "deployment.adjust_resources", &params)
        .await
        .unwrap();
    assert_eq!(
        plan.summary,
        "raise memory limit of container app from 128Mi to 512Mi"
    );
    assert!(
        plan.diff
            .contains("-            memory: 128Mi\n+            memory: 512Mi\n"),
        "{}",
        plan.diff
    );
    assert!(
        plan.diff
            .starts_with(&format!("--- Deployment {}/cart (live)", t.ns.name)),
        "{}",
        plan.diff
    );
    assert_eq!(
        memory_limit(&t, "cart").await.as_deref(),
        Some("128Mi"),
        "planning changes nothing"
    );
    assert!(!actions.landed(&ctx, &plan).await.unwrap());

    // A stored plan survives a round trip through JSON (it is kept with its approval).
    let plan: lookout::actions::Plan =
        serde_json::from_value(serde_json::to_value(&plan).unwrap()).unwrap();
    let execution = actions.execute(&ctx, &plan).await.unwrap();
    assert_eq!(memory_limit(&t, "cart").await.as_deref(), Some("512Mi"));
    assert!(actions.landed(&ctx, &plan).await.unwrap());
    assert!(execution.generation.is_some());

    let verification = actions.verify(&ctx, &plan, &execution).await.unwrap();
    assert_eq!(
        verification.outcome,
        Outcome::Healthy,
        "{}",
        verification.detail
    );
    assert!(
        verification
            .detail
            .contains("2/2 pods of revision 2 ready, no restarts"),
        "{}",
        verification.detail
    );

    actions.rollback(&ctx, &plan).await.unwrap();
    assert_eq!(memory_limit(&t, "cart").await.as_deref(), Some("128Mi"));
    assert!(!actions.landed(&ctx, &plan).await.unwrap());
    // Rolling back twice changes nothing more.
    actions.rollback(&ctx, &plan).await.unwrap();

    for (result, n) in [
        ("planned", 1),
        ("executed", 1),
        ("verified", 1),
        ("rolled_back", 2),
    ] {
        assert_eq!(
            count(&metrics, "deployment.adjust_resources", result),
            n,
            "{result}"
        );
    }
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_little_memory_fails_verification_within_the_timeout() {
    let t = SimTest::start(1).await;
    let ctx =
        super::context_with(&t, |c| c.verify_timeout = std::time::Duration::from_secs(4)).await;
    let (actions, metrics) = registry();
    let _: Deployment = t.create(oom_deployment("cart", 1)).await;
    // 256Mi is still below the 300Mi the workload needs: the new pod keeps being OOM-killed.
    let params = json!({"namespace": t.ns.name, "name": "cart", "container": "app", "memory_limit": "256Mi"});
    let plan = actions
        .plan(&ctx, "deployment.adjust_resources", &params)
        .await
        .unwrap();
    let execution = actions.execute(&ctx, &plan).await.unwrap();
    let verification = actions.verify(&ctx, &plan, &execution).await.unwrap();
    assert_eq!(
        verification.outcome,
        Outcome::TimedOut,
        "{}",
        verification.detail
    );
    assert!(!verification.detail.is_empty());
    assert_eq!(
        count(&metrics, "deployment.adjust_resources", "unverified"),
        1
    );
    actions.rollback(&ctx, &plan).await.unwrap();
    assert_eq!(memory_limit(&t, "cart").await.as_deref(), Some("128Mi"));
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_up_arrives_and_rolls_back() {
    let t = SimTest::start(2).await;
    let ctx = context(&t).await;
    let (actions, _) = registry();
    let _: Deployment = t.create(deployment("web", 1, json!({}), json!({}))).await;
    wait_healthy(&t, "web", 1).await;

    let params = json!({"namespace": t.ns.name, "name": "web", "replicas": 3});
    let plan = actions
        .plan(&ctx, "deployment.scale", &params)
        .await
        .unwrap();
    assert_eq!(
        plan.summary,
        format!("scale up Deployment {}/web from 1 to 3 replicas", t.ns.name)
    );
    assert!(
        plan.diff.contains("-  replicas: 1\n+  replicas: 3\n"),
        "{}",
        plan.diff
    );
    assert!(!actions.landed(&ctx, &plan).await.unwrap());
    let execution = actions.execute(&ctx, &plan).await.unwrap();
    assert!(actions.landed(&ctx, &plan).await.unwrap());
    let v = actions.verify(&ctx, &plan, &execution).await.unwrap();
    assert_eq!(
        (v.outcome, v.detail.as_str()),
        (Outcome::Healthy, "3/3 replicas available")
    );

    actions.rollback(&ctx, &plan).await.unwrap();
    assert_eq!(deployment_json(&t, "web").await["spec"]["replicas"], 1);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_replaces_every_pod_and_rolls_back() {
    let t = SimTest::start(2).await;
    let ctx = context(&t).await;
    let (actions, _) = registry();
    let _: Deployment = t.create(deployment("api", 2, json!({}), json!({}))).await;
    wait_healthy(&t, "api", 2).await;
    let before: Vec<String> = t
        .pods("api")
        .await
        .iter()
        .filter_map(|p| p.metadata.uid.clone())
        .collect();

    let params = json!({"namespace": t.ns.name, "name": "api"});
    let plan = actions
        .plan(&ctx, "deployment.restart", &params)
        .await
        .unwrap();
    assert!(
        plan.diff
            .contains("+        kubectl.kubernetes.io/restartedAt:"),
        "{}",
        plan.diff
    );
    assert_eq!(
        plan.summary,
        format!(
            "restart all 2 pods of Deployment {}/api (rolling)",
            t.ns.name
        )
    );
    let execution = actions.execute(&ctx, &plan).await.unwrap();
    let v = actions.verify(&ctx, &plan, &execution).await.unwrap();
    assert_eq!(v.outcome, Outcome::Healthy, "{}", v.detail);
    let after: Vec<String> = t
        .pods("api")
        .await
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter_map(|p| p.metadata.uid.clone())
        .collect();
    assert_eq!(after.len(), 2);
    assert!(
        after.iter().all(|u| !before.contains(u)),
        "every pod was replaced"
    );

    actions.rollback(&ctx, &plan).await.unwrap();
    let annotations =
        deployment_json(&t, "api").await["spec"]["template"]["metadata"]["annotations"].clone();
    assert!(
        annotations
            .get("kubectl.kubernetes.io/restartedAt")
            .is_none(),
        "{annotations}"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_goes_to_the_previous_or_the_last_healthy_revision() {
    let t = SimTest::start(2).await;
    let ctx = context(&t).await;
    let (actions, _) = registry();
    let _: Deployment = t
        .create(deployment(
            "shop",
            2,
            json!({"image": "shop/web:1.4.2"}),
            json!({}),
        ))
        .await;
    wait_healthy(&t, "shop", 2).await;
    // Two bad rollouts in a row: images the sim cannot pull.
    for image in [
        "registry.invalid/shop/web:2.0",
        "registry.invalid/shop/web:2.1",
    ] {
        t.patch::<Deployment>("shop", json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}))
            .await;
        t.wait_for("the bad rollout to start", || async {
            let d = deployment_json(&t, "shop").await;
            (d["spec"]["template"]["spec"]["containers"][0]["image"] == image
                && d["status"]["observedGeneration"] == d["metadata"]["generation"])
                .then_some(())
        })
        .await;
    }
    let ns = t.ns.name.clone();

    let previous = actions
        .plan(
            &ctx,
            "deployment.rollback",
            &json!({"namespace": ns, "name": "shop"}),
        )
        .await
        .unwrap();
    assert_eq!(
        previous.summary,
        format!(
            "roll back Deployment {ns}/shop from revision 3 (app=registry.invalid/shop/web:2.1) to revision 2 (app=registry.invalid/shop/web:2.0)"
        )
    );
    let healthy = t
        .wait_for(
            "the first revision to still have available pods",
            || async {
                actions
                    .plan(
                        &ctx,
                        "deployment.rollback",
                        &json!({"namespace": ns, "name": "shop", "to": "last_healthy"}),
                    )
                    .await
                    .ok()
            },
        )
        .await;
    assert!(
        healthy
            .summary
            .ends_with("to revision 1 (app=shop/web:1.4.2)"),
        "{}",
        healthy.summary
    );
    assert!(
        healthy.diff.contains(
            "-      - image: registry.invalid/shop/web:2.1\n+      - image: shop/web:1.4.2\n"
        ),
        "{}",
        healthy.diff
    );

    let execution = actions.execute(&ctx, &healthy).await.unwrap();
    let v = actions.verify(&ctx, &healthy, &execution).await.unwrap();
    assert_eq!(v.outcome, Outcome::Healthy, "{}", v.detail);
    assert!(v.detail.contains("revision 4"), "{}", v.detail);
    let image =
        |d: serde_json::Value| d["spec"]["template"]["spec"]["containers"][0]["image"].clone();
    assert_eq!(image(deployment_json(&t, "shop").await), "shop/web:1.4.2");

    actions.rollback(&ctx, &healthy).await.unwrap();
    assert_eq!(
        image(deployment_json(&t, "shop").await),
        "registry.invalid/shop/web:2.1"
    );
    t.stop().await;
}
