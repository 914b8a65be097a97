//! The test environment itself: a real 1.20 API server whose controllers act, and a restricted
//! identity that real RBAC holds to read-only.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Pod, Secret};
use kube::api::{Api, ListParams, PostParams};

use crate::support::{TestNamespace, admin_client, eventually, restricted_client};

#[tokio::test]
async fn api_server_is_kubernetes_1_20_with_working_controllers() {
    let client = admin_client().await;
    let version = client.apiserver_version().await.unwrap();
    assert_eq!(
        (version.major.as_str(), version.minor.as_str()),
        ("1", "20")
    );

    let ns = TestNamespace::new("env").await;
    let deployment: Deployment = serde_json::from_value(serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": { "name": "web" },
        "spec": {
            "replicas": 2,
            "selector": { "matchLabels": { "app": "web" } },
            "template": {
                "metadata": { "labels": { "app": "web" } },
                "spec": { "containers": [{ "name": "web", "image": "nginx:1.25" }] }
            }
        }
    }))
    .unwrap();
    Api::<Deployment>::namespaced(client.clone(), &ns.name)
        .create(&PostParams::default(), &deployment)
        .await
        .unwrap();
    // The controller-manager turns the Deployment into a ReplicaSet and two Pods.
    let pods: Api<Pod> = Api::namespaced(client, &ns.name);
    eventually(
        Duration::from_secs(20),
        "pods created by the controllers",
        || async {
            let list = pods.list(&ListParams::default()).await.ok()?;
            (list.items.len() == 2).then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn restricted_identity_reads_but_cannot_write_or_read_secrets() {
    let ns = TestNamespace::new("rbac").await;
    let client = restricted_client().await;
    Api::<Pod>::namespaced(client.clone(), &ns.name)
        .list(&ListParams::default())
        .await
        .expect("restricted identity lists pods");

    let secrets = Api::<Secret>::namespaced(client.clone(), &ns.name)
        .list(&ListParams::default())
        .await;
    assert!(
        matches!(&secrets, Err(kube::Error::Api(s)) if s.code == 403),
        "{secrets:?}"
    );
    let ns_obj: Namespace = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": "forbidden-ns" }
    }))
    .unwrap();
    let created = Api::<Namespace>::all(client)
        .create(&PostParams::default(), &ns_obj)
        .await;
    assert!(
        matches!(&created, Err(kube::Error::Api(s)) if s.code == 403),
        "{created:?}"
    );
}
