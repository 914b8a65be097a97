//! Pods that cannot start because of what the objects say: an image that does not exist, env
//! references to missing ConfigMaps, Secrets or keys, a volume of a missing Secret. Each heals
//! when the fix arrives through the API.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret};
use kube::api::LogParams;
use serde_json::json;

use super::{SimTest, deployment, is_ready, phase, pod, waiting_message, waiting_reason};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_image_backs_off_and_the_fixed_image_runs() {
    let t = SimTest::start_with(1, |c| c.missing_images.push("shop/cart:3.2-typo".into())).await;
    let _: Deployment = t
        .create(deployment(
            "cart",
            1,
            json!({"image": "shop/cart:3.2-typo"}),
            json!({}),
        ))
        .await;

    let p = t
        .pod_where("cart", "ErrImagePull", |p| {
            waiting_reason(p) == Some("ErrImagePull")
        })
        .await;
    assert_eq!(
        waiting_message(&p),
        Some(
            "rpc error: code = Unknown desc = failed to pull and unpack image \"docker.io/shop/cart:3.2-typo\": \
             failed to resolve reference \"docker.io/shop/cart:3.2-typo\": docker.io/shop/cart:3.2-typo: not found"
        )
    );
    let p = t
        .pod_where("cart", "ImagePullBackOff", |p| {
            waiting_reason(p) == Some("ImagePullBackOff")
        })
        .await;
    assert_eq!(
        waiting_message(&p),
        Some("Back-off pulling image \"shop/cart:3.2-typo\"")
    );
    assert_eq!(phase(&p), "Pending");
    let name = p.metadata.name.clone().unwrap();
    let failed = t
        .event_where(&name, "Failed", |e| {
            e.message
                .as_deref()
                .is_some_and(|m| m.starts_with("Failed to pull image"))
        })
        .await;
    assert!(
        failed
            .message
            .unwrap()
            .ends_with("docker.io/shop/cart:3.2-typo: not found")
    );
    let backoff = t.event_where(&name, "BackOff", |_| true).await;
    assert_eq!(
        backoff.message.as_deref(),
        Some("Back-off pulling image \"shop/cart:3.2-typo\"")
    );
    t.event_where(&name, "Failed", |e| {
        e.message.as_deref() == Some("Error: ImagePullBackOff")
    })
    .await;

    let err = t
        .api::<Pod>()
        .logs(&name, &LogParams::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("is waiting to start"), "{err}");

    t.patch::<Deployment>(
        "cart",
        json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "shop/cart:3.2"}]}}}}),
    )
    .await;
    t.wait_for("fixed image running", || async {
        let pods = t.pods("cart").await;
        (pods.len() == 1 && pods.iter().all(is_ready)).then_some(())
    })
    .await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_config_references_give_create_container_config_error_until_created() {
    let t = SimTest::start(1).await;
    let env = json!({"env": [{"name": "DATABASE_URL", "valueFrom": {"configMapKeyRef": {"name": "app-config", "key": "DATABASE_URL"}}}]});
    let _: Pod = t.create(pod("orders", env, json!({}), json!({}))).await;
    let secret_env = json!({"envFrom": [{"secretRef": {"name": "db-creds"}}]});
    let _: Pod = t
        .create(pod("billing", secret_env, json!({}), json!({})))
        .await;

    let p = t
        .pod_where("orders", "CreateContainerConfigError", |p| {
            waiting_reason(p) == Some("CreateContainerConfigError")
        })
        .await;
    assert_eq!(
        waiting_message(&p),
        Some("configmap \"app-config\" not found")
    );
    assert_eq!(phase(&p), "Pending");
    let failed = t
        .event_where("orders", "Failed", |e| {
            e.message.as_deref() == Some("Error: configmap \"app-config\" not found")
        })
        .await;
    assert_eq!(
        failed.involved_object.field_path.as_deref(),
        Some("spec.containers{app}")
    );

    let b = t
        .pod_where("billing", "secret missing", |p| {
            waiting_reason(p) == Some("CreateContainerConfigError")
        })
        .await;
    assert_eq!(waiting_message(&b), Some("secret \"db-creds\" not found"));

    // A ConfigMap without the key: the message names the key.
    let _: ConfigMap = t
        .create(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-config"}, "data": {"LOG_LEVEL": "info"}}))
        .await;
    let expected = format!(
        "couldn't find key DATABASE_URL in ConfigMap {}/app-config",
        t.ns.name
    );
    t.pod_where("orders", "missing key", |p| {
        waiting_message(p) == Some(expected.as_str())
    })
    .await;

    // The fix: the key and the Secret arrive; the same pods start.
    t.patch::<ConfigMap>(
        "app-config",
        json!({"data": {"DATABASE_URL": "postgres://db/orders"}}),
    )
    .await;
    let _: Secret = t
        .create(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db-creds"}, "stringData": {"PASSWORD": "hunter2"}}))
        .await;
    let p = t.pod_where("orders", "orders running", is_ready).await;
    assert_eq!(super::status(&p).unwrap().restart_count, 0);
    t.pod_where("billing", "billing running", is_ready).await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_secret_volume_stays_container_creating_with_failed_mount() {
    let t = SimTest::start(1).await;
    let spec = json!({"volumes": [{"name": "certs", "secret": {"secretName": "tls-certs"}}]});
    let mounts = json!({"volumeMounts": [{"name": "certs", "mountPath": "/etc/tls"}]});
    let _: Pod = t.create(pod("gateway", mounts, json!({}), spec)).await;

    let failed = t
        .event_where("gateway", "FailedMount", |e| e.count.unwrap_or(0) >= 2)
        .await;
    assert_eq!(
        failed.message.as_deref(),
        Some("MountVolume.SetUp failed for volume \"certs\" : secret \"tls-certs\" not found")
    );
    assert_eq!(failed.type_.as_deref(), Some("Warning"));
    let p = t.api::<Pod>().get("gateway").await.unwrap();
    assert_eq!(phase(&p), "Pending");
    assert_eq!(waiting_reason(&p), Some("ContainerCreating"));

    let _: Secret = t
        .create(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tls-certs"}, "stringData": {"tls.crt": "x", "tls.key": "y"}}))
        .await;
    t.pod_where("gateway", "gateway running", is_ready).await;
    t.stop().await;
}
