//! Job actions against the real API server. `job.retry` after a transient failure (the pod was
//! evicted under memory pressure) runs again and verifies; a retry that fails again fails its
//! verification; rollback deletes the retry; the failed Job stays. Job suspension does not exist
//! on the 1.20 server (it drops `spec.suspend`): the plan says so (the full suspend/resume cycle
//! runs against a mocked 1.21+ API in `mocked`).

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use kube::api::DeleteParams;
use lookout::actions::{ActionError, Outcome, guards};
use lookout::sim::NodeProblem;
use serde_json::{Value, json};

use super::{context, context_with, refusal, registry, stale, stored};
use crate::sim::{SimTest, phase};

pub fn job(name: &str, annotations: Value) -> Value {
    json!({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "labels": {"team": "data"}},
        "spec": {"backoffLimit": 0, "template": {
            "metadata": {"labels": {"app": name}, "annotations": annotations},
            "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
                     "containers": [{"name": "work", "image": "shop/batch:7"}]}}},
    })
}

pub async fn wait_condition(t: &SimTest, name: &str, condition: &str) -> Job {
    t.wait_for(&format!("job {name} {condition}"), || async {
        let j = t.api::<Job>().get(name).await.ok()?;
        j.status
            .as_ref()?
            .conditions
            .as_ref()?
            .iter()
            .any(|c| c.type_ == condition && c.status == "True")
            .then_some(j.clone())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_evicted_under_memory_pressure_is_retried_verified_and_rolled_back() {
    let t = SimTest::start(1).await;
    let ctx = context(&t).await;
    let (actions, _) = registry();
    let ns = t.ns.name.clone();
    let node = t.nodes[0].clone();
    let _: Job = t
        .create(job("nightly", json!({"sim.lookout.dev/run-for": "60s"})))
        .await;
    t.pod_where("nightly", "the job's pod running", |p| {
        phase(p) == "Running"
    })
    .await;
    let (g, r) = refusal(
        actions
            .plan(
                &ctx,
                "job.retry",
                &json!({"namespace": ns, "name": "nightly"}),
            )
            .await,
    );
    assert_eq!(g, guards::TARGET);
    assert!(r.contains("has not failed (it is still running)"), "{r}");

    // A transient cause: the kubelet evicts the pod under memory pressure; the Job fails.
    t.sim()
        .set_node_condition(&node, NodeProblem::MemoryPressure, true)
        .unwrap();
    wait_condition(&t, "nightly", "Failed").await;
    t.sim()
        .set_node_condition(&node, NodeProblem::MemoryPressure, false)
        .unwrap();

    let params = json!({"namespace": ns, "name": "nightly"});
    let plan = actions.plan(&ctx, "job.retry", &params).await.unwrap();
    let Some(retry) = plan
        .summary
        .strip_prefix(&format!("retry failed Job {ns}/nightly as Job "))
    else {
        panic!("{}", plan.summary)
    };
    let retry = retry
        .trim_end_matches(" (the failed Job stays)")
        .to_string();
    assert!(retry.starts_with("nightly-retry-"), "{retry}");
    assert!(
        plan.diff.starts_with(&format!(
            "--- Job {ns}/{retry} (absent)\n+++ Job {ns}/{retry} (to create, server dry-run)\n"
        )),
        "{}",
        plan.diff
    );
    for line in [
        "+    lookout.dev/retry-of: nightly\n",
        "+    team: data\n",
        "+  backoffLimit: 0\n",
        "+        sim.lookout.dev/run-for: 60s\n",
    ] {
        assert!(plan.diff.contains(line), "{line}\n{}", plan.diff);
    }
    assert!(!plan.diff.contains("controller-uid"), "{}", plan.diff);
    assert!(
        t.api::<Job>().get_opt(&retry).await.unwrap().is_none(),
        "planning creates nothing"
    );
    assert!(!actions.landed(&ctx, &plan).await.unwrap());

    let plan = stored(plan);
    let execution = actions.execute(&ctx, &plan).await.unwrap();
    assert!(actions.landed(&ctx, &plan).await.unwrap());
    assert!(
        t.api::<Job>().get_opt("nightly").await.unwrap().is_some(),
        "the failed Job stays"
    );
    let v = actions.verify(&ctx, &plan, &execution).await.unwrap();
    assert_eq!(v.outcome, Outcome::Healthy, "{}", v.detail);
    assert!(
        v.detail.starts_with(&format!("pod {retry}-")) && v.detail.ends_with(" is running"),
        "{}",
        v.detail
    );
    let (g, r) = refusal(actions.plan(&ctx, "job.retry", &params).await);
    assert_eq!(g, guards::NO_CHANGE);
    assert_eq!(
        r,
        format!("Job {ns}/nightly was already retried: Job {retry} is still running")
    );

    actions.rollback(&ctx, &plan).await.unwrap();
    t.wait_for("the retry deleted", || async {
        t.api::<Job>()
            .get_opt(&retry)
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    actions.rollback(&ctx, &plan).await.unwrap();

    // The failed Job is deleted and re-created under its name since the plan: void.
    let plan = actions.plan(&ctx, "job.retry", &params).await.unwrap();
    t.api::<Job>()
        .delete("nightly", &DeleteParams::background())
        .await
        .unwrap();
    t.wait_for("nightly gone", || async {
        t.api::<Job>()
            .get_opt("nightly")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    let _: Job = t.create(job("nightly", json!({}))).await;
    let reason = stale(actions.execute(&ctx, &plan).await);
    assert!(
        reason.contains("was deleted and re-created since the plan"),
        "{reason}"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_that_fails_again_fails_verification() {
    let t = SimTest::start(1).await;
    let ctx = context_with(&t, |c| c.verify_timeout = Duration::from_secs(4)).await;
    let (actions, metrics) = registry();
    let ns = t.ns.name.clone();
    let _: Job = t
        .create(job("migrate", json!({"sim.lookout.dev/exit-code": "2"})))
        .await;
    wait_condition(&t, "migrate", "Failed").await;
    let plan = actions
        .plan(
            &ctx,
            "job.retry",
            &json!({"namespace": ns, "name": "migrate"}),
        )
        .await
        .unwrap();
    let execution = actions.execute(&ctx, &plan).await.unwrap();
    let v = actions.verify(&ctx, &plan, &execution).await.unwrap();
    assert_eq!(v.outcome, Outcome::TimedOut, "{}", v.detail);
    assert!(v.detail.contains("failed"), "{}", v.detail);
    assert_eq!(super::count(&metrics, "job.retry", "unverified"), 1);
    actions.rollback(&ctx, &plan).await.unwrap();
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_suspension_is_reported_as_not_served_by_the_1_20_server() {
    let t = SimTest::start(1).await;
    let ctx = context(&t).await;
    let (actions, _) = registry();
    let ns = t.ns.name.clone();
    let _: Job = t
        .create(job("long", json!({"sim.lookout.dev/run-for": "60s"})))
        .await;
    let _: Job = t
        .create(job("done", json!({"sim.lookout.dev/run-for": "10ms"})))
        .await;
    t.pod_where("long", "the job's pod running", |p| phase(p) == "Running")
        .await;
    match actions
        .plan(
            &ctx,
            "job.suspend",
            &json!({"namespace": ns, "name": "long"}),
        )
        .await
    {
        Err(ActionError::NotServed { what }) => {
            assert_eq!(
                what,
                "Job suspension (spec.suspend; Jobs have it from Kubernetes 1.21)"
            )
        }
        other => panic!("{other:?}"),
    }
    let (g, r) = refusal(
        actions
            .plan(
                &ctx,
                "job.resume",
                &json!({"namespace": ns, "name": "long"}),
            )
            .await,
    );
    assert_eq!(
        (g, r),
        (
            guards::NO_CHANGE,
            format!("Job {ns}/long is already running (not suspended)")
        )
    );
    wait_condition(&t, "done", "Complete").await;
    let (g, r) = refusal(
        actions
            .plan(
                &ctx,
                "job.suspend",
                &json!({"namespace": ns, "name": "done"}),
            )
            .await,
    );
    assert_eq!(g, guards::TARGET);
    assert!(r.contains("has finished (Complete)"), "{r}");
    let job: Value = serde_json::to_value(t.api::<Job>().get("long").await.unwrap()).unwrap();
    assert!(job["spec"].get("suspend").is_none(), "nothing changed");
    t.stop().await;
}
