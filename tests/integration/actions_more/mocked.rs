//! The current API versions, which the 1.20 test server does not serve, against the mocked API
//! ([`super::mock_api`]): Job suspension (Kubernetes 1.21+), `cronjob.trigger` and suspend on
//! batch/v1, `hpa.adjust` on autoscaling/v2, and a drain whose evictions are policy/v1 — the
//! requests must go to those paths with those bodies, and the actions must plan, execute,
//! verify and roll back on what the mock answers.

use std::time::Duration;

use kube::core::{ApiResource, GroupVersionKind};
use lookout::actions::{ActionContext, ActionsConfig, Outcome, guards};
use lookout::clock::SystemClock;
use lookout::cluster::ServedApis;
use serde_json::json;

use super::mock_api::MockApi;
use super::{refusal, registry};

fn served() -> ServedApis {
    let ar =
        |g: &str, v: &str, k: &str| Some(ApiResource::from_gvk(&GroupVersionKind::gvk(g, v, k)));
    ServedApis {
        cronjobs: ar("batch", "v1", "CronJob"),
        horizontal_pod_autoscalers: ar("autoscaling", "v2", "HorizontalPodAutoscaler"),
        pod_disruption_budgets: ar("policy", "v1", "PodDisruptionBudget"),
    }
}

fn context(mock: &MockApi) -> ActionContext {
    let config = ActionsConfig {
        verify_timeout: Duration::from_secs(5),
        verify_settle: Duration::from_millis(200),
        ..ActionsConfig::default()
    };
    ActionContext::new(mock.client(), SystemClock::shared(), config, served())
}

const JOB: &str = "/apis/batch/v1/namespaces/shop/jobs/long";

#[tokio::test]
async fn job_suspend_and_resume_on_a_1_21_api() {
    let mock = MockApi::default();
    let ctx = context(&mock);
    let (actions, _) = registry();
    mock.insert(
        JOB,
        json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "long", "namespace": "shop", "generation": 1},
        "spec": {"suspend": false, "template": {"spec": {"containers": []}}},
        "status": {"active": 1}}),
    );
    let params = json!({"namespace": "shop", "name": "long"});

    let plan = actions.plan(&ctx, "job.suspend", &params).await.unwrap();
    assert_eq!(
        plan.summary,
        "suspend Job shop/long: its running pods are stopped until it is resumed"
    );
    assert!(
        plan.diff.contains("-  suspend: false\n+  suspend: true\n"),
        "{}",
        plan.diff
    );
    let dry = mock
        .requests()
        .into_iter()
        .find(|r| r.method == "PATCH")
        .unwrap();
    assert_eq!(
        (dry.path.as_str(), dry.query.contains("dryRun=All")),
        (JOB, true)
    );
    let execution = actions.execute(&ctx, &plan).await.unwrap();
    assert_eq!(mock.get(JOB).unwrap()["spec"]["suspend"], true);
    // The Job controller deletes the active pods.
    mock.update(JOB, |j| j["status"]["active"] = json!(0));
    let v = actions.verify(&ctx, &plan, &execution).await.unwrap();
    assert_eq!(
        (v.outcome, v.detail.as_str()),
        (Outcome::Healthy, "suspended, no active pods")
    );
    actions.rollback(&ctx, &plan).await.unwrap();
    assert_eq!(
        mock.get(JOB).unwrap()["spec"]["suspend"],
        false,
        "rollback resumes"
    );

    mock.update(JOB, |j| j["spec"]["suspend"] = json!(true));
    let plan = actions.plan(&ctx, "job.resume", &params).await.unwrap();
    let execution = actions.execute(&ctx, &plan).await.unwrap();
    mock.update(JOB, |j| j["status"]["active"] = json!(1));
    let v = actions.verify(&ctx, &plan, &execution).await.unwrap();
    assert_eq!(
        (v.outcome, v.detail.as_str()),
        (Outcome::Healthy, "resumed, 1 pods active")
    );
    actions.rollback(&ctx, &plan).await.unwrap();
    assert_eq!(
        mock.get(JOB).unwrap()["spec"]["suspend"],
        true,
        "rollback suspends again"
    );

    let (g, r) = refusal(actions.plan(&ctx, "job.suspend", &params).await);
    assert_eq!(
        (g, r.as_str()),
        (guards::NO_CHANGE, "Job shop/long is already suspended")
    );
    mock.update(JOB, |j| {
        j["status"]["conditions"] = json!([{"type": "Complete", "status": "True"}]);
    });
    let (g, r) = refusal(actions.plan(&ctx, "job.resume", &params).await);
    assert_eq!(
        (g, r.as_str()),
        (
            guards::TARGET,
            "Job shop/long has finished (Complete); there is nothing to suspend or resume"
        )
    );
}

#[tokio::test]
async fn cronjob_trigger_and_suspend_on_batch_v1() {
    let mock = MockApi::default();
    let ctx = context(&mock);
    let (actions, _) = registry();
    let cj = "/apis/batch/v1/namespaces/shop/cronjobs/report";
    mock.insert(cj, json!({"apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "report", "namespace": "shop", "uid": "cj-uid"},
        "spec": {"schedule": "0 3 * * *", "suspend": false, "jobTemplate": {
            "metadata": {"labels": {"app": "report"}},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "w", "image": "r:1"}]}}}}}}));
    let params = json!({"namespace": "shop", "name": "report"});

    let plan = actions
        .plan(&ctx, "cronjob.trigger", &params)
        .await
        .unwrap();
    let create = mock
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(create.path, "/apis/batch/v1/namespaces/shop/jobs");
    assert!(create.query.contains("dryRun=All"));
    assert_eq!(
        create.body["metadata"]["ownerReferences"][0]["apiVersion"],
        "batch/v1"
    );
    assert_eq!(
        create.body["metadata"]["ownerReferences"][0]["uid"],
        "cj-uid"
    );
    let execution = actions.execute(&ctx, &plan).await.unwrap();
    let job = execution.details["job"].as_str().unwrap().to_string();
    let job_path = format!("/apis/batch/v1/namespaces/shop/jobs/{job}");
    assert!(mock.get(&job_path).is_some());
    mock.insert(
        &format!("/api/v1/namespaces/shop/pods/{job}-x1"),
        json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("{job}-x1"), "namespace": "shop", "labels": {"job-name": job}},
        "spec": {"containers": []}, "status": {"phase": "Running"}}),
    );
    let v = actions.verify(&ctx, &plan, &execution).await.unwrap();
    assert_eq!(
        (v.outcome, v.detail),
        (Outcome::Healthy, format!("pod {job}-x1 is running"))
    );
    actions.rollback(&ctx, &plan).await.unwrap();
    assert!(mock.get(&job_path).is_none(), "rollback deletes the Job");

    let plan = actions
        .plan(&ctx, "cronjob.suspend", &params)
        .await
        .unwrap();
    actions.execute(&ctx, &plan).await.unwrap();
    assert_eq!(mock.get(cj).unwrap()["spec"]["suspend"], true);
    let patches: Vec<String> = mock
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| r.path)
        .collect();
    assert!(patches.iter().all(|p| p == cj), "{patches:?}");
}

#[tokio::test]
async fn hpa_adjust_on_autoscaling_v2() {
    let mock = MockApi::default();
    let ctx = context(&mock);
    let (actions, _) = registry();
    let hpa = "/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers/web";
    mock.insert(
        hpa,
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                 "minReplicas": 2, "maxReplicas": 6},
        "status": {"currentReplicas": 6, "desiredReplicas": 8}}),
    );
    let plan = actions
        .plan(
            &ctx,
            "hpa.adjust",
            &json!({"namespace": "shop", "name": "web", "max_replicas": 8}),
        )
        .await
        .unwrap();
    assert!(
        plan.diff.contains("-  maxReplicas: 6\n+  maxReplicas: 8\n"),
        "{}",
        plan.diff
    );
    let execution = actions.execute(&ctx, &plan).await.unwrap();
    assert_eq!(mock.get(hpa).unwrap()["spec"]["maxReplicas"], 8);
    let v = actions.verify(&ctx, &plan, &execution).await.unwrap();
    assert_eq!(
        (v.outcome, v.detail.as_str()),
        (
            Outcome::Healthy,
            "bounds min 2, max 8 recorded; 6 replicas, within them"
        )
    );
    actions.rollback(&ctx, &plan).await.unwrap();
    assert_eq!(mock.get(hpa).unwrap()["spec"]["maxReplicas"], 6);
    assert!(
        mock.requests()
            .iter()
            .filter(|r| r.method == "PATCH")
            .all(|r| r.path == hpa)
    );
}

#[tokio::test]
async fn a_drain_evicts_through_policy_v1_and_reports_a_budget_refusal() {
    let mock = MockApi::default();
    let ctx = context(&mock);
    let (actions, _) = registry();
    let ready = json!({"conditions": [{"type": "Ready", "status": "True"}]});
    for n in ["n1", "n2"] {
        mock.insert(
            &format!("/api/v1/nodes/{n}"),
            json!({"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": n}, "spec": {}, "status": ready}),
        );
    }
    let owner = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-6d", "uid": "rs-uid", "controller": true}]);
    mock.insert("/api/v1/namespaces/shop/pods/web-1", json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "shop", "uid": "pod-1", "ownerReferences": owner},
        "spec": {"nodeName": "n1", "containers": []}, "status": {"phase": "Running"}}));

    mock.script_eviction(429, json!({"kind": "Status", "status": "Failure", "code": 429, "reason": "TooManyRequests",
        "message": "Cannot evict pod as it would violate the pod's disruption budget.",
        "details": {"causes": [{"reason": "DisruptionBudget", "message": "The disruption budget web needs 2 healthy pods and has 2 currently"}]}}));
    let (g, r) = refusal(
        actions
            .plan(&ctx, "node.drain", &json!({"name": "n1"}))
            .await,
    );
    assert_eq!(g, guards::DISRUPTION_BUDGET);
    assert_eq!(
        r,
        "evicting from Node n1 would break a PodDisruptionBudget now: shop/web-1: Cannot evict pod as it would violate the pod's disruption budget. (The disruption budget web needs 2 healthy pods and has 2 currently)"
    );
    let eviction = mock
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/eviction"))
        .unwrap();
    assert_eq!(eviction.path, "/api/v1/namespaces/shop/pods/web-1/eviction");
    assert!(eviction.query.contains("dryRun=All"));
    assert_eq!(eviction.body["apiVersion"], "policy/v1");
    assert_eq!(eviction.body["kind"], "Eviction");
    assert_eq!(
        eviction.body["deleteOptions"]["preconditions"]["uid"],
        "pod-1"
    );

    let plan = actions
        .plan(&ctx, "node.drain", &json!({"name": "n1"}))
        .await
        .unwrap();
    let execution = actions.execute(&ctx, &plan).await.unwrap();
    assert_eq!(
        mock.get("/api/v1/nodes/n1").unwrap()["spec"]["unschedulable"],
        true
    );
    assert!(
        mock.get("/api/v1/namespaces/shop/pods/web-1").is_none(),
        "evicted"
    );
    // The ReplicaSet's replacement runs on n2.
    mock.insert("/api/v1/namespaces/shop/pods/web-2", json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-2", "namespace": "shop", "uid": "pod-2", "ownerReferences": owner},
        "spec": {"nodeName": "n2", "containers": []},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}));
    let v = actions.verify(&ctx, &plan, &execution).await.unwrap();
    assert_eq!(
        (v.outcome, v.detail.as_str()),
        (
            Outcome::Healthy,
            "Node n1 drained: 1 pod evicted, replacements ready elsewhere"
        )
    );
    actions.rollback(&ctx, &plan).await.unwrap();
    assert!(
        mock.get("/api/v1/nodes/n1").unwrap()["spec"]
            .get("unschedulable")
            .is_none()
    );
    assert!(
        !mock
            .requests()
            .iter()
            .any(|r| r.method == "DELETE" && r.path.contains("/pods/")),
        "pods are evicted, never deleted"
    );
}
