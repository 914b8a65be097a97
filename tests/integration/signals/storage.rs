//! Claims the PersistentVolume controller cannot bind (or lost), and autoscalers the HPA
//! controller cannot run — both controllers are the real ones of kube-controller-manager.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::json;

use super::Scanner;
use crate::sim::{SimTest, deployment};
use crate::support::unique;

fn claim(name: &str, class: &str, extra: serde_json::Value) -> serde_json::Value {
    let mut c = json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": class,
                 "resources": {"requests": {"storage": "1Gi"}}},
    });
    if let (Some(c), Some(extra)) = (c["spec"].as_object_mut(), extra.as_object()) {
        c.extend(extra.clone());
    }
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_pending_or_lost_are_found_and_a_matching_volume_binds_one() {
    let t = SimTest::start(1).await;
    let client = t.client.clone();
    // Cluster-scoped: unique names, deleted at the end.
    let class = unique("signals-none");
    let missing_class = unique("signals-missing");
    let volume = unique("signals-pv");
    let classes: Api<StorageClass> = Api::all(client.clone());
    classes
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                "metadata": {"name": class}, "provisioner": "example.com/nobody",
            }))
            .expect("class json"),
        )
        .await
        .expect("create storage class");

    // No provisioner runs for the class; the other class does not exist; the third claim says
    // it was bound to a volume that is gone, which the PV controller turns into Lost.
    let _: PersistentVolumeClaim = t.create(claim("data", &class, json!({}))).await;
    let _: PersistentVolumeClaim = t.create(claim("scratch", &missing_class, json!({}))).await;
    let mut lost = claim("archive", "", json!({"volumeName": unique("gone")}));
    lost["metadata"]["annotations"] = json!({"pv.kubernetes.io/bind-completed": "yes"});
    let _: PersistentVolumeClaim = t.create(lost).await;

    let scanner = Scanner::new(&t).await;
    let found = scanner
        .until_exactly(
            "two pending claims and a lost one",
            &[
                "pvc_pending PersistentVolumeClaim/data <- PersistentVolumeClaim/data",
                "pvc_pending PersistentVolumeClaim/scratch <- PersistentVolumeClaim/scratch",
                "pvc_lost PersistentVolumeClaim/archive <- PersistentVolumeClaim/archive",
            ],
        )
        .await;
    // An external provisioner that never answers leaves only a Normal event: Lookout says
    // what it sees. Unless the PV controller met the claim before its informer had the new
    // class: then its ProvisioningFailed event is the latest failure it reported.
    let f = found.one("pvc_pending PersistentVolumeClaim/data <- PersistentVolumeClaim/data");
    let not_yet = format!("storageclass.storage.k8s.io \"{class}\" not found");
    assert!(
        [
            ("Pending", "the claim is not bound to a volume"),
            ("ProvisioningFailed", not_yet.as_str())
        ]
        .contains(&(f.reason.as_str(), f.message.as_str())),
        "{f:#?}"
    );
    found.says(
        "pvc_pending PersistentVolumeClaim/scratch <- PersistentVolumeClaim/scratch",
        "ProvisioningFailed",
        &format!("storageclass.storage.k8s.io \"{missing_class}\" not found"),
    );
    found.says(
        "pvc_lost PersistentVolumeClaim/archive <- PersistentVolumeClaim/archive",
        "ClaimLost",
        "Bound claim has lost its PersistentVolume. Data on the volume is lost!",
    );

    // An administrator creates a volume of the class by hand: the PV controller binds it.
    let volumes: Api<PersistentVolume> = Api::all(client.clone());
    volumes
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "apiVersion": "v1", "kind": "PersistentVolume",
                "metadata": {"name": volume},
                "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                         "storageClassName": class, "hostPath": {"path": "/tmp/signals"}},
            }))
            .expect("volume json"),
        )
        .await
        .expect("create volume");
    scanner
        .until_exactly(
            "the claim bound",
            &[
                "pvc_pending PersistentVolumeClaim/scratch <- PersistentVolumeClaim/scratch",
                "pvc_lost PersistentVolumeClaim/archive <- PersistentVolumeClaim/archive",
            ],
        )
        .await;

    let _ = volumes.delete(&volume, &DeleteParams::default()).await;
    let _ = classes.delete(&class, &DeleteParams::default()).await;
    t.stop().await;
}

fn hpa_resource() -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(
        "autoscaling",
        "v2beta2",
        "HorizontalPodAutoscaler",
    ))
}

fn hpa(target: &str, max: i32) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "autoscaling/v2beta2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": format!("{target}-hpa")},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "minReplicas": 1, "maxReplicas": max,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 50}}}],
        },
    }))
    .expect("hpa json")
}

/// The 1.20 HPA controller (every 15 s) with no metrics server: ScalingActive False,
/// FailedGetResourceMetric — `hpa_unable`, owned by the scale target.
///
/// `hpa_maxed` needs metrics that ask for more than the maximum, which this cluster cannot
/// provide: the test writes the status subresource as the controller would
/// (ScalingLimited True / TooManyReplicas, desired above max). The real controller keeps
/// that condition on its next sync (it only sets the conditions it evaluated) and adds its own
/// ScalingActive False, so that HPA is also `hpa_unable`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autoscalers_unable_to_scale_or_at_their_maximum_are_found_on_their_targets() {
    let t = SimTest::start(1).await;
    for name in ["web", "api"] {
        let _: Deployment = t.create(deployment(name, 1, json!({}), json!({}))).await;
    }
    let hpas: Api<DynamicObject> =
        Api::namespaced_with(t.client.clone(), &t.ns.name, &hpa_resource());
    hpas.create(&PostParams::default(), &hpa("web", 3))
        .await
        .expect("create hpa");
    hpas.create(&PostParams::default(), &hpa("api", 1))
        .await
        .expect("create hpa");
    let now =
        k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::now());
    hpas.patch_status(
        "api-hpa",
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {
            "currentReplicas": 1, "desiredReplicas": 2,
            "conditions": [{"type": "ScalingLimited", "status": "True", "reason": "TooManyReplicas",
                "message": "the desired replica count is more than the maximum replica count",
                "lastTransitionTime": now}],
        }})),
    )
    .await
    .expect("patch hpa status");

    let scanner = Scanner::new(&t).await;
    let found = scanner
        .until_exactly(
            "both autoscalers, on their Deployments",
            &[
                "hpa_unable HorizontalPodAutoscaler/web-hpa <- Deployment/web",
                "hpa_unable HorizontalPodAutoscaler/api-hpa <- Deployment/api",
                "hpa_maxed HorizontalPodAutoscaler/api-hpa <- Deployment/api",
            ],
        )
        .await;
    let unable = "the HPA was unable to compute the replica count: failed to get cpu \
                  utilization: unable to get metrics for resource cpu: unable to fetch metrics \
                  from resource metrics API: the server could not find the requested resource \
                  (get pods.metrics.k8s.io)";
    for name in ["web", "api"] {
        found.says(
            &format!("hpa_unable HorizontalPodAutoscaler/{name}-hpa <- Deployment/{name}"),
            "FailedGetResourceMetric",
            unable,
        );
    }
    found.says(
        "hpa_maxed HorizontalPodAutoscaler/api-hpa <- Deployment/api",
        "TooManyReplicas",
        "the desired replica count is more than the maximum replica count",
    );
    t.stop().await;
}
