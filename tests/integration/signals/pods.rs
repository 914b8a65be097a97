//! Pods that never get going: nowhere to schedule, a volume that cannot mount, a readiness
//! probe that keeps failing — and the Deployment-level view of the latter once the real
//! Deployment controller gives up on the rollout.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use serde_json::json;

use super::{Scanner, annotations, set};
use crate::sim::{SimTest, deployment};

fn unready(name: &str) -> serde_json::Value {
    deployment(
        name,
        1,
        json!({"readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 10}}),
        annotations(&[("sim.lookout.dev/ready", "false")]),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduling_mounts_probes_and_stuck_rollouts_are_found_and_fixes_clear_them() {
    let t = SimTest::start(2).await;
    let workloads = [
        deployment(
            "huge",
            1,
            json!({"resources": {"requests": {"cpu": "64", "memory": "64Mi"}}}),
            json!({}),
        ),
        set(
            deployment(
                "nomount",
                1,
                json!({"volumeMounts": [{"name": "certs", "mountPath": "/etc/tls"}]}),
                json!({}),
            ),
            "/spec/template/spec/volumes",
            json!([{"name": "certs", "secret": {"secretName": "tls-certs"}}]),
        ),
        unready("unready"),
        // The Deployment controller marks the rollout failed after 2 s instead of 10 min.
        set(unready("stuck"), "/spec/progressDeadlineSeconds", json!(2)),
        deployment("healthy", 2, json!({}), json!({})),
    ];
    for w in workloads {
        let _: Deployment = t.create(w).await;
    }

    let scanner = Scanner::new(&t).await;
    let found = scanner
        .until_exactly(
            "unschedulable, mount, probe and rollout faults",
            &[
                "unschedulable Pod/huge-* <- Deployment/huge",
                "mount_failed Pod/nomount-* <- Deployment/nomount",
                "probe_failing Pod/unready-* <- Deployment/unready",
                "probe_failing Pod/stuck-* <- Deployment/stuck",
                "rollout_stuck Deployment/stuck <- Deployment/stuck",
                "replicas_unavailable Deployment/stuck <- Deployment/stuck",
            ],
        )
        .await;
    found.says(
        "unschedulable Pod/huge-* <- Deployment/huge",
        "Unschedulable",
        "0/2 nodes are available: 2 Insufficient cpu.",
    );
    found.says(
        "mount_failed Pod/nomount-* <- Deployment/nomount",
        "FailedMount",
        "MountVolume.SetUp failed for volume \"certs\" : secret \"tls-certs\" not found",
    );
    for name in ["unready", "stuck"] {
        found.says(
            &format!("probe_failing Pod/{name}-* <- Deployment/{name}"),
            "Unhealthy",
            "Readiness probe failed: HTTP probe failed with statuscode: 503",
        );
    }
    let f = found.one("rollout_stuck Deployment/stuck <- Deployment/stuck");
    assert_eq!(f.reason, "ProgressDeadlineExceeded");
    assert!(
        f.message.starts_with("ReplicaSet \"stuck-")
            && f.message.ends_with("\" has timed out progressing."),
        "{f:#?}"
    );
    // A rollout that is still within its deadline ("unready") is not yet unavailable; one past
    // it is.
    found.says(
        "replicas_unavailable Deployment/stuck <- Deployment/stuck",
        "MinimumReplicasUnavailable",
        "Deployment does not have minimum availability.",
    );

    // The fixes: the Secret appears (the pod mounts it in place), the request shrinks (a new
    // pod replaces the pending one).
    let _: Secret = t
        .create(json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "tls-certs"}, "stringData": {"tls.crt": "cert"}}))
        .await;
    t.patch::<Deployment>(
        "huge",
        json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "resources": {"requests": {"cpu": "100m"}}}
        ]}}}}),
    )
    .await;
    scanner
        .until_exactly(
            "mount and scheduling faults cleared, probes still failing",
            &[
                "probe_failing Pod/unready-* <- Deployment/unready",
                "probe_failing Pod/stuck-* <- Deployment/stuck",
                "rollout_stuck Deployment/stuck <- Deployment/stuck",
                "replicas_unavailable Deployment/stuck <- Deployment/stuck",
            ],
        )
        .await;
    t.stop().await;
}
