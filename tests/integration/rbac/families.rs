//! The later action families under the shipped roles: with read-only and remediation bound
//! together, a ConfigMap key is set and restored, a CronJob is triggered and the Job it made is
//! deleted again (the rollback that needs `delete jobs`), and a node is drained through the
//! Eviction API and uncordoned — each planned (dry-run), executed, verified and rolled back.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Node};
use kube::api::Api;
use lookout::actions::{ActionContext, ActionsConfig};
use serde_json::json;

use super::identities::identities;
use super::{context, registry};
use crate::sim::{SimTest, deployment, node_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_roles_run_the_later_families_and_roll_them_back() {
    let t = SimTest::start(2).await;
    let ns = t.ns.name.clone();
    let _: Deployment = t.create(deployment("web", 2, json!({}), json!({}))).await;
    let _: ConfigMap = t
        .create(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app"},
                       "data": {"LOG_LEVEL": "info"}}),
        )
        .await;
    crate::actions::wait_healthy(&t, "web", 2).await;
    let ids = identities(&t).await;
    let served = lookout::cluster::discover(&ids.both).await.unwrap();
    let cronjobs = served.cronjobs.clone().expect("CronJobs served");
    let cronjob = json!({
        "apiVersion": cronjobs.api_version, "kind": "CronJob", "metadata": {"name": "report"},
        "spec": {"schedule": "0 0 1 1 *", "jobTemplate": {"spec": {"backoffLimit": 0, "template": {
            "metadata": {"annotations": {"sim.lookout.dev/run-for": "300ms"}},
            "spec": {"restartPolicy": "Never",
                     "containers": [{"name": "work", "image": "shop/report:2"}]}}}}},
    });
    crate::actions_more::create_dynamic(&t, &cronjobs, cronjob).await;
    let ctx = ActionContext {
        config: ActionsConfig {
            verify_settle: std::time::Duration::from_secs(1),
            ..ActionsConfig::default()
        },
        ..context(&ids.both, served)
    };
    let (actions, _) = registry();
    let node = node_of(&t.pods("web").await[0]).to_string();

    for (name, params) in [
        (
            "configmap.patch_key",
            json!({"namespace": ns, "name": "app", "key": "LOG_LEVEL", "value": "debug"}),
        ),
        (
            "cronjob.trigger",
            json!({"namespace": ns, "name": "report"}),
        ),
        ("node.drain", json!({"name": node})),
    ] {
        let plan = actions
            .plan(&ctx, name, &params)
            .await
            .unwrap_or_else(|e| panic!("plan {name}: {e}"));
        let execution = actions
            .execute(&ctx, &plan)
            .await
            .unwrap_or_else(|e| panic!("execute {name}: {e}"));
        let v = actions
            .verify(&ctx, &plan, &execution)
            .await
            .unwrap_or_else(|e| panic!("verify {name}: {e}"));
        assert!(v.healthy(), "{name}: {}", v.detail);
        actions
            .rollback(&ctx, &plan)
            .await
            .unwrap_or_else(|e| panic!("roll back {name}: {e}"));
    }

    let data = t.api::<ConfigMap>().get("app").await.unwrap().data.unwrap();
    assert_eq!(data["LOG_LEVEL"], "info", "the key is restored");
    let jobs = t.api::<Job>().list(&Default::default()).await.unwrap();
    assert!(
        jobs.items
            .iter()
            .all(|j| j.metadata.deletion_timestamp.is_some()),
        "the triggered Job is deleted: {:?}",
        jobs.items
            .iter()
            .map(|j| j.metadata.name.clone())
            .collect::<Vec<_>>()
    );
    let cordoned = Api::<Node>::all(t.client.clone())
        .get(&node)
        .await
        .unwrap()
        .spec
        .and_then(|s| s.unschedulable);
    assert_eq!(cordoned, None, "the drained node is uncordoned");
    drop(ids);
    t.stop().await;
}
