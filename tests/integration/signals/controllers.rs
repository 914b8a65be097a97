//! What the real controllers of kube-controller-manager record: a ReplicaSet refused by a
//! quota, StatefulSets and DaemonSets whose pods are not ready, Jobs past their backoff limit,
//! a CronJob whose last run failed.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::ResourceQuota;
use kube::api::{Api, DeleteParams, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use lookout::detect::{Cause, SignalName};
use serde_json::json;

use super::{Scanner, Watcher, annotations, is};
use crate::sim::{SimTest, deployment, labelled};
use crate::support::unique;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quota_that_refuses_pods_is_a_replica_failure_until_it_is_lifted() {
    let t = SimTest::start(1).await;
    let mut bot = Watcher::start(&t).await;
    let ns = t.ns.name.clone();
    let _: ResourceQuota = t
        .create(json!({"apiVersion": "v1", "kind": "ResourceQuota",
            "metadata": {"name": "pods-one"}, "spec": {"hard": {"pods": "1"}}}))
        .await;
    // Until the quota controller has counted the namespace, admission refuses with "status
    // unknown for quota" instead of the message under test.
    t.wait_for("the quota's usage", || async {
        let q = t.api::<ResourceQuota>().get("pods-one").await.ok()?;
        q.status?.used?.contains_key("pods").then_some(())
    })
    .await;
    let _: Deployment = t
        .create(deployment("capped", 2, json!({}), json!({})))
        .await;

    let scanner = Scanner::new(&t).await;
    let found = scanner
        .until_exactly(
            "the quota refusal on the Deployment and its ReplicaSet",
            &[
                "replica_failure Deployment/capped <- Deployment/capped",
                "replica_failure ReplicaSet/capped-* <- Deployment/capped",
            ],
        )
        .await;
    for k in [
        "replica_failure Deployment/capped <- Deployment/capped",
        "replica_failure ReplicaSet/capped-* <- Deployment/capped",
    ] {
        let f = found.one(k);
        assert_eq!(f.reason, "FailedCreate", "{f:#?}");
        assert!(
            f.message.starts_with("pods \"capped-")
                && f.message.ends_with(
                    "\" is forbidden: exceeded quota: pods-one, requested: pods=1, used: pods=1, \
                     limited: pods=1"
                ),
            "{f:#?}"
        );
    }
    let quota = Cause::QuotaExhausted {
        namespace: ns.clone(),
        name: "pods-one".into(),
    };
    for kind in ["Deployment", "ReplicaSet"] {
        let s = bot
            .signal(&format!("the {kind}'s replica failure"), |s| {
                is(s, SignalName::ReplicaFailure, kind, "capped")
            })
            .await;
        assert_eq!(s.cause.as_ref(), Some(&quota), "{s:#?}");
    }
    bot.stop().await;

    // Lifting the quota: the ReplicaSet controller's next retry creates the missing pod and
    // drops its ReplicaFailure condition; the Deployment follows.
    t.api::<ResourceQuota>()
        .delete("pods-one", &DeleteParams::default())
        .await
        .expect("delete quota");
    scanner
        .until_exactly("the replica failure cleared", &[])
        .await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statefulsets_and_daemonsets_with_unready_pods_are_found_and_recover() {
    // DaemonSets create a pod for every node that matches: only this test's nodes do.
    let mark = unique("pool");
    let t = SimTest::start_with(2, |c| {
        c.nodes = c
            .nodes
            .iter()
            .map(|n| labelled(n, "signals-pool", &mark))
            .collect();
    })
    .await;
    let probe = json!({"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 10});
    let template = |name: &str, ready: bool| {
        json!({
            "metadata": {"labels": {"app": name},
                         "annotations": {"sim.lookout.dev/ready": ready.to_string()}},
            "spec": {
                "nodeSelector": {"signals-pool": mark},
                "terminationGracePeriodSeconds": 1,
                "containers": [{"name": "app", "image": "shop/db:13", "readinessProbe": probe}],
            },
        })
    };
    let statefulset = |name: &str, ready: bool| {
        json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": name},
            "spec": {
                "serviceName": name, "replicas": 1,
                // Parallel: an OrderedReady set never rolls past a pod that is not ready.
                "podManagementPolicy": "Parallel",
                "selector": {"matchLabels": {"app": name}},
                "template": template(name, ready),
            },
        })
    };
    let daemonset = |name: &str, ready: bool| {
        json!({
            "apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": name}}, "template": template(name, ready)},
        })
    };
    let _: StatefulSet = t.create(statefulset("db", false)).await;
    let _: StatefulSet = t.create(statefulset("store", true)).await;
    let _: DaemonSet = t.create(daemonset("agent", false)).await;
    let _: DaemonSet = t.create(daemonset("logs", true)).await;

    let scanner = Scanner::new(&t).await;
    let found = scanner
        .until_exactly(
            "the unready StatefulSet and DaemonSet and their pods",
            &[
                "statefulset_not_ready StatefulSet/db <- StatefulSet/db",
                "probe_failing Pod/db-* <- StatefulSet/db",
                "daemonset_not_ready DaemonSet/agent <- DaemonSet/agent",
                "probe_failing Pod/agent-* <- DaemonSet/agent",
                "probe_failing Pod/agent-* <- DaemonSet/agent",
            ],
        )
        .await;
    found.says(
        "statefulset_not_ready StatefulSet/db <- StatefulSet/db",
        "ReplicasNotReady",
        "1 of 1 replicas are not ready",
    );
    found.says(
        "daemonset_not_ready DaemonSet/agent <- DaemonSet/agent",
        "PodsNotReady",
        "2 of 2 daemon pods are not ready",
    );
    found.says(
        "probe_failing Pod/db-* <- StatefulSet/db",
        "Unhealthy",
        "Readiness probe failed: HTTP probe failed with statuscode: 503",
    );

    // The fix rolls out through both controllers.
    let ready = json!({"spec": {"template": {"metadata": {"annotations": {"sim.lookout.dev/ready": "true"}}}}});
    t.patch::<StatefulSet>("db", ready.clone()).await;
    t.patch::<DaemonSet>("agent", ready).await;
    scanner.until_exactly("both recovered", &[]).await;
    t.stop().await;
}

fn cronjob_resource() -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk("batch", "v1beta1", "CronJob"))
}

/// The Job a CronJob controller would create for one run: its job template, owned by the
/// CronJob (`controller: true`).
fn run_of(
    cronjob: &DynamicObject,
    name: &str,
    annotations: serde_json::Value,
) -> serde_json::Value {
    let mut spec = cronjob.data["spec"]["jobTemplate"]["spec"].clone();
    spec["template"]["metadata"]["annotations"] = annotations;
    json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "ownerReferences": [{
            "apiVersion": "batch/v1beta1", "kind": "CronJob",
            "name": cronjob.metadata.name, "uid": cronjob.metadata.uid,
            "controller": true, "blockOwnerDeletion": true,
        }]},
        "spec": spec,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_jobs_and_a_cronjob_whose_last_run_failed_are_found() {
    let t = SimTest::start(1).await;
    let job = |name: &str, annotations: serde_json::Value| {
        json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name},
            "spec": {"backoffLimit": 0, "template": {
                "metadata": {"annotations": annotations},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "work", "image": "shop/migrate:7"}]},
            }},
        })
    };
    let _: Job = t
        .create(job(
            "migrate",
            annotations(&[("sim.lookout.dev/exit-code", "1")]),
        ))
        .await;
    let _: Job = t
        .create(job(
            "report",
            annotations(&[("sim.lookout.dev/run-for", "100ms")]),
        ))
        .await;

    // batch/v1beta1 is the only CronJob the 1.20 server has, and k8s-openapi has no struct for
    // it. Its controller only creates a Job when the schedule comes round, a minute at best:
    // the schedule is yearly so that it never does during the test, and the test creates the
    // runs as the controller would.
    let cronjobs: Api<DynamicObject> =
        Api::namespaced_with(t.client.clone(), &t.ns.name, &cronjob_resource());
    let cronjob: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "batch/v1beta1", "kind": "CronJob",
        "metadata": {"name": "nightly"},
        "spec": {"schedule": "0 3 1 1 *", "jobTemplate": {"spec": {"backoffLimit": 0, "template": {
            "spec": {"restartPolicy": "Never", "containers": [{"name": "export", "image": "shop/export:2"}]},
        }}}},
    }))
    .expect("cronjob json");
    let cronjob = cronjobs
        .create(&PostParams::default(), &cronjob)
        .await
        .expect("create cronjob");
    let _: Job = t
        .create(run_of(
            &cronjob,
            "nightly-1",
            annotations(&[("sim.lookout.dev/exit-code", "1")]),
        ))
        .await;

    let scanner = Scanner::new(&t).await;
    let backoff = "Job has reached the specified backoff limit";
    let found = scanner
        .until_exactly(
            "both failed Jobs and the CronJob",
            &[
                "job_failed Job/migrate <- Job/migrate",
                "job_failed Job/nightly-* <- CronJob/nightly",
                "cronjob_failed CronJob/nightly <- CronJob/nightly",
            ],
        )
        .await;
    found.says(
        "job_failed Job/migrate <- Job/migrate",
        "BackoffLimitExceeded",
        backoff,
    );
    let f = found.says(
        "job_failed Job/nightly-* <- CronJob/nightly",
        "BackoffLimitExceeded",
        backoff,
    );
    assert_eq!(f.name, "nightly-1");
    found.says(
        "cronjob_failed CronJob/nightly <- CronJob/nightly",
        "BackoffLimitExceeded",
        backoff,
    );

    // The next run succeeds: the CronJob is fine again (its failed run still counts for a
    // while); deleting the failed Job clears that one.
    let _: Job = t
        .create(run_of(
            &cronjob,
            "nightly-2",
            annotations(&[("sim.lookout.dev/run-for", "100ms")]),
        ))
        .await;
    t.api::<Job>()
        .delete("migrate", &DeleteParams::background())
        .await
        .expect("delete job");
    scanner
        .until_exactly(
            "the CronJob recovered, the deleted Job gone",
            &["job_failed Job/nightly-* <- CronJob/nightly"],
        )
        .await;
    t.stop().await;
}
