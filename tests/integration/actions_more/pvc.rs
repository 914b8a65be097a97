//! `pvc.resize` against the real API server. The claim is bound to a pre-created PersistentVolume
//! by the real PV controller; the API server's own admission checks the StorageClass. There is
//! no volume resizer on the test server: verification sees the new request recorded and waits
//! for a resizer that never comes (timed out, saying so) until the test plays the resizer by
//! writing `status.capacity` — which is as far as the API server records a resize.

use std::time::Duration;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use lookout::actions::{ActionError, Outcome, guards};
use serde_json::{Value, json};

use super::{context_with, refusal, registry, stale, stored};
use crate::sim::SimTest;
use crate::support::unique;

async fn storage_class(t: &SimTest, expandable: bool) -> String {
    let name = unique(if expandable { "grow" } else { "fixed" });
    let sc: StorageClass = serde_json::from_value(json!({
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
        "provisioner": "kubernetes.io/no-provisioner", "allowVolumeExpansion": expandable,
    }))
    .unwrap();
    Api::<StorageClass>::all(t.client.clone())
        .create(&PostParams::default(), &sc)
        .await
        .unwrap();
    name
}

/// A claim of 1Gi in `class`, bound (when `bound`) to a hostPath volume made for it.
async fn claim(t: &SimTest, name: &str, class: &str, bound: bool) -> Option<String> {
    let _: PersistentVolumeClaim = t
        .create(json!({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": class,
                     "resources": {"requests": {"storage": "1Gi"}}},
        }))
        .await;
    if !bound {
        return None;
    }
    let pv_name = unique("pv");
    let pv: PersistentVolume = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": pv_name},
        "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "storageClassName": class,
                 "hostPath": {"path": format!("/tmp/{pv_name}")},
                 "claimRef": {"namespace": t.ns.name, "name": name}},
    }))
    .unwrap();
    Api::<PersistentVolume>::all(t.client.clone())
        .create(&PostParams::default(), &pv)
        .await
        .unwrap();
    t.wait_for(&format!("{name} bound"), || async {
        let c = t.api::<PersistentVolumeClaim>().get(name).await.ok()?;
        (c.status?.phase.as_deref() == Some("Bound")).then_some(())
    })
    .await;
    Some(pv_name)
}

async fn pvc_json(t: &SimTest, name: &str) -> Value {
    serde_json::to_value(t.api::<PersistentVolumeClaim>().get(name).await.unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_grows_as_far_as_the_api_server_records_and_cannot_shrink_back() {
    let t = SimTest::start(1).await;
    let ctx = context_with(&t, |c| c.verify_timeout = Duration::from_secs(3)).await;
    let (actions, _) = registry();
    let ns = t.ns.name.clone();
    let grow = storage_class(&t, true).await;
    let fixed = storage_class(&t, false).await;
    let pv1 = claim(&t, "data", &grow, true).await.unwrap();
    let pv2 = claim(&t, "frozen", &fixed, true).await.unwrap();
    claim(&t, "waiting", &grow, false).await;

    let params = json!({"namespace": ns, "name": "data", "storage": "2Gi"});
    let plan = actions.plan(&ctx, "pvc.resize", &params).await.unwrap();
    assert_eq!(
        plan.summary,
        format!(
            "grow PersistentVolumeClaim {ns}/data from 1Gi to 2Gi (cannot be undone: volumes only grow)"
        )
    );
    assert!(
        plan.diff
            .contains("-      storage: 1Gi\n+      storage: 2Gi\n"),
        "{}",
        plan.diff
    );
    let plan = stored(plan);
    let execution = actions.execute(&ctx, &plan).await.unwrap();
    assert_eq!(
        pvc_json(&t, "data").await["spec"]["resources"]["requests"]["storage"],
        "2Gi"
    );
    assert!(actions.landed(&ctx, &plan).await.unwrap());
    // No resizer on this server: the request is recorded, the capacity does not follow.
    let v = actions.verify(&ctx, &plan, &execution).await.unwrap();
    assert_eq!(
        (v.outcome, v.detail.as_str()),
        (
            Outcome::TimedOut,
            "2Gi requested, capacity still 1Gi: no volume resizer has acted yet"
        )
    );
    // The test plays the resizer: the capacity the API server then records passes verification.
    t.api::<PersistentVolumeClaim>()
        .patch_status(
            "data",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"capacity": {"storage": "2Gi"}}})),
        )
        .await
        .unwrap();
    let v = actions.verify(&ctx, &plan, &execution).await.unwrap();
    assert_eq!(
        (v.outcome, v.detail.as_str()),
        (Outcome::Healthy, "capacity is 2Gi")
    );
    match actions.rollback(&ctx, &plan).await {
        Err(ActionError::NotReversible { .. }) => {}
        other => panic!("{other:?}"),
    }
    let own = actions
        .get("pvc.resize")
        .unwrap()
        .rollback(&ctx, &plan)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        own,
        "pvc.resize cannot be rolled back: a volume cannot shrink: Kubernetes rejects lowering a PersistentVolumeClaim's storage request"
    );
    assert_eq!(
        pvc_json(&t, "data").await["spec"]["resources"]["requests"]["storage"],
        "2Gi"
    );

    // Guards.
    let (g, r) = refusal(
        actions
            .plan(
                &ctx,
                "pvc.resize",
                &json!({"namespace": ns, "name": "data", "storage": "1Gi"}),
            )
            .await,
    );
    assert_eq!(g, "volume_growth");
    assert!(r.contains("requests 2Gi; 1Gi would shrink it"), "{r}");
    let (g, r) = refusal(
        actions
            .plan(
                &ctx,
                "pvc.resize",
                &json!({"namespace": ns, "name": "frozen", "storage": "2Gi"}),
            )
            .await,
    );
    assert_eq!(g, "volume_growth");
    assert!(r.contains(&format!("StorageClass {fixed} of PersistentVolumeClaim {ns}/frozen does not allow volume expansion")), "{r}");
    let (g, r) = refusal(
        actions
            .plan(
                &ctx,
                "pvc.resize",
                &json!({"namespace": ns, "name": "waiting", "storage": "2Gi"}),
            )
            .await,
    );
    assert_eq!(g, guards::TARGET);
    assert!(r.contains("is Pending; only a bound claim can grow"), "{r}");
    let (g, r) = refusal(
        actions
            .plan(
                &ctx,
                "pvc.resize",
                &json!({"namespace": ns, "name": "data", "storage": "20Gi"}),
            )
            .await,
    );
    assert_eq!(g, guards::RESOURCE_FACTOR);
    assert!(
        r.contains(
            "would grow from 2Gi to 20Gi, more than 4 times, and a volume cannot shrink back"
        ),
        "{r}"
    );
    assert!(matches!(
        actions
            .plan(
                &ctx,
                "pvc.resize",
                &json!({"namespace": ns, "name": "data", "storage": "lots"})
            )
            .await,
        Err(ActionError::InvalidParams { .. })
    ));

    // Someone else grows it after the plan: void.
    let plan = actions
        .plan(
            &ctx,
            "pvc.resize",
            &json!({"namespace": ns, "name": "data", "storage": "3Gi"}),
        )
        .await
        .unwrap();
    t.patch::<PersistentVolumeClaim>(
        "data",
        json!({"spec": {"resources": {"requests": {"storage": "4Gi"}}}}),
    )
    .await;
    let reason = stale(actions.execute(&ctx, &plan).await);
    assert!(
        reason.contains("changed at /spec/resources/requests/storage since the plan"),
        "{reason}"
    );

    t.stop().await;
    for pv in [pv1, pv2] {
        let _ = Api::<PersistentVolume>::all(t_client().await)
            .delete(&pv, &DeleteParams::default())
            .await;
    }
    for sc in [grow, fixed] {
        let _ = Api::<StorageClass>::all(t_client().await)
            .delete(&sc, &DeleteParams::default())
            .await;
    }
}

async fn t_client() -> kube::Client {
    crate::support::admin_client().await
}
