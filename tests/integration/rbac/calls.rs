//! The calls the tests make as each identity: every write of the action catalogue (dry-run),
//! and calls no role may make.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Node, PersistentVolumeClaim, Pod, Secret, Service};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, DynamicObject};
use serde_json::json;

use super::Outcome;
use crate::sim::{SimTest, deployment};

fn dry() -> PatchParams {
    PatchParams::default().dry_run()
}

pub async fn patch_missing<K>(client: &kube::Client, ns: &str) -> Outcome
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    Api::<K>::namespaced(client.clone(), ns)
        .patch(
            "does-not-exist",
            &dry(),
            &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
        )
        .await
        .map(|_| ())
}

async fn patch_dynamic(client: &kube::Client, ns: &str, ar: &ApiResource) -> Outcome {
    Api::<DynamicObject>::namespaced_with(client.clone(), ns, ar)
        .patch(
            "does-not-exist",
            &dry(),
            &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
        )
        .await
        .map(|_| ())
}

/// The eviction a drain sends, as policy/v1beta1 (what 1.20 serves), dry-run.
async fn evict(client: &kube::Client, ns: &str, pod: &str) -> Outcome {
    let body = json!({"apiVersion": "policy/v1beta1", "kind": "Eviction",
                      "metadata": {"name": pod, "namespace": ns},
                      "deleteOptions": {"dryRun": ["All"]}});
    let req = http::Request::post(format!(
        "/api/v1/namespaces/{ns}/pods/{pod}/eviction?dryRun=All"
    ))
    .header("content-type", "application/json")
    .body(serde_json::to_vec(&body).unwrap())
    .unwrap();
    client.request_text(req).await.map(|_| ())
}

/// Every write of the action catalogue, as a dry-run, with its name.
pub async fn catalogue_writes(
    client: &kube::Client,
    t: &SimTest,
    served: &lookout::cluster::ServedApis,
) -> Vec<(&'static str, Outcome)> {
    let ns = t.ns.name.as_str();
    let pod = t.pods("web").await[0].metadata.name.clone().unwrap();
    let job: Job = serde_json::from_value(json!({
        "metadata": {"name": "retry-1"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}},
    }))
    .unwrap();
    let hpa = served
        .horizontal_pod_autoscalers
        .clone()
        .expect("HPAs served");
    let cronjobs = served.cronjobs.clone().expect("CronJobs served");
    vec![
        (
            "patch deployments",
            Api::<Deployment>::namespaced(client.clone(), ns)
                .patch(
                    "web",
                    &dry(),
                    &Patch::Merge(json!({"spec": {"replicas": 2}})),
                )
                .await
                .map(|_| ()),
        ),
        (
            "patch statefulsets",
            patch_missing::<k8s_openapi::api::apps::v1::StatefulSet>(client, ns).await,
        ),
        (
            "patch daemonsets",
            patch_missing::<k8s_openapi::api::apps::v1::DaemonSet>(client, ns).await,
        ),
        ("patch jobs", patch_missing::<Job>(client, ns).await),
        (
            "create jobs",
            Api::<Job>::namespaced(client.clone(), ns)
                .create(
                    &PostParams {
                        dry_run: true,
                        field_manager: None,
                    },
                    &job,
                )
                .await
                .map(|_| ()),
        ),
        // The rollback of job.retry and cronjob.trigger: the Job they created goes.
        (
            "delete jobs",
            ok(Api::<Job>::namespaced(client.clone(), ns)
                .delete("does-not-exist", &DeleteParams::default().dry_run())
                .await),
        ),
        ("patch cronjobs", patch_dynamic(client, ns, &cronjobs).await),
        (
            "patch horizontalpodautoscalers",
            patch_dynamic(client, ns, &hpa).await,
        ),
        (
            "patch persistentvolumeclaims",
            patch_missing::<PersistentVolumeClaim>(client, ns).await,
        ),
        (
            "patch configmaps",
            patch_missing::<ConfigMap>(client, ns).await,
        ),
        (
            "patch nodes",
            Api::<Node>::all(client.clone())
                .patch(
                    &t.nodes[0],
                    &dry(),
                    &Patch::Merge(json!({"spec": {"unschedulable": true}})),
                )
                .await
                .map(|_| ()),
        ),
        (
            "delete pods",
            Api::<Pod>::namespaced(client.clone(), ns)
                .delete(&pod, &DeleteParams::default().dry_run())
                .await
                .map(|_| ()),
        ),
        ("create pods/eviction", evict(client, ns, &pod).await),
    ]
}

/// Drops the answer, keeps whether it was allowed.
fn ok<T>(r: Result<T, kube::Error>) -> Outcome {
    r.map(|_| ())
}

/// Calls no role may make.
pub async fn never(client: &kube::Client, ns: &str) -> Vec<(&'static str, Outcome)> {
    let secret: Secret =
        serde_json::from_value(json!({"metadata": {"name": "s"}, "stringData": {"k": "v"}}))
            .unwrap();
    let web: Deployment =
        serde_json::from_value(deployment("web", 1, json!({}), json!({}))).unwrap();
    let bare: Pod = serde_json::from_value(
        json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}),
    )
    .unwrap();
    let dp = DeleteParams::default().dry_run();
    let pp = PostParams {
        dry_run: true,
        field_manager: None,
    };
    let secrets = Api::<Secret>::namespaced(client.clone(), ns);
    let deployments = Api::<Deployment>::namespaced(client.clone(), ns);
    vec![
        ("get secrets", ok(secrets.get("s").await)),
        (
            "list secrets",
            ok(secrets.list(&ListParams::default()).await),
        ),
        ("create secrets", ok(secrets.create(&pp, &secret).await)),
        (
            "delete deployments",
            ok(deployments.delete("web", &dp).await),
        ),
        (
            "create deployments",
            ok(deployments.create(&pp, &web).await),
        ),
        (
            "update deployments",
            ok(deployments.replace("web", &pp, &web).await),
        ),
        (
            "delete nodes",
            ok(Api::<Node>::all(client.clone())
                .delete("does-not-exist", &dp)
                .await),
        ),
        ("patch services", patch_missing::<Service>(client, ns).await),
        (
            "create pods",
            ok(Api::<Pod>::namespaced(client.clone(), ns)
                .create(&pp, &bare)
                .await),
        ),
    ]
}
