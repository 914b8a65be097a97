//! CronJob actions against the real API server, whose CronJobs are batch/v1beta1 (found by
//! discovery; read and written as dynamic objects, the same shape as batch/v1 for what the
//! actions touch): suspend and resume, trigger now (a Job owned by the CronJob, as `kubectl
//! create job --from=cronjob/x` makes it), guards and staleness.

use k8s_openapi::api::batch::v1::Job;
use kube::api::{Patch, PatchParams};
use lookout::actions::{Outcome, guards};
use serde_json::{Value, json};

use super::{context, create_dynamic, dynamic_api, get_json, refusal, registry, stale, stored};
use crate::sim::SimTest;

fn cronjob(api_version: &str, name: &str, policy: &str, run_for: &str) -> Value {
    json!({
        "apiVersion": api_version, "kind": "CronJob", "metadata": {"name": name},
        "spec": {"schedule": "0 0 1 1 *", "concurrencyPolicy": policy, "jobTemplate": {
            "metadata": {"labels": {"app": name}},
            "spec": {"backoffLimit": 0, "template": {
                "metadata": {"labels": {"app": name}, "annotations": {"sim.lookout.dev/run-for": run_for}},
                "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
                         "containers": [{"name": "work", "image": "shop/report:2"}]}}}}},
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cronjob_suspend_resume_and_trigger_on_batch_v1beta1() {
    let t = SimTest::start(1).await;
    let ctx = context(&t).await;
    let (actions, _) = registry();
    let ns = t.ns.name.clone();
    let ar = ctx.served.cronjobs.clone().expect("CronJobs are served");
    assert_eq!(
        ar.api_version, "batch/v1beta1",
        "the 1.20 server's CronJobs"
    );
    let created = create_dynamic(
        &t,
        &ar,
        cronjob(&ar.api_version, "report", "Allow", "300ms"),
    )
    .await;
    let api = dynamic_api(&t, &ar, true);
    let params = json!({"namespace": ns, "name": "report"});

    // Suspend, verify, roll back (resume).
    let plan = actions
        .plan(&ctx, "cronjob.suspend", &params)
        .await
        .unwrap();
    assert_eq!(
        plan.summary,
        format!("suspend CronJob {ns}/report: no new Jobs start until it is resumed")
    );
    assert!(
        plan.diff.contains("-  suspend: false\n+  suspend: true\n"),
        "{}",
        plan.diff
    );
    let plan = stored(plan);
    let execution = actions.execute(&ctx, &plan).await.unwrap();
    assert_eq!(get_json(&api, "report").await["spec"]["suspend"], true);
    let v = actions.verify(&ctx, &plan, &execution).await.unwrap();
    assert_eq!(
        (v.outcome, v.detail.as_str()),
        (Outcome::Healthy, "suspension recorded")
    );
    let (g, _) = refusal(actions.plan(&ctx, "cronjob.suspend", &params).await);
    assert_eq!(g, guards::NO_CHANGE);
    actions.rollback(&ctx, &plan).await.unwrap();
    assert_eq!(get_json(&api, "report").await["spec"]["suspend"], false);

    // Resume a suspended one; rollback suspends it again.
    api.patch(
        "report",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"suspend": true}})),
    )
    .await
    .unwrap();
    let plan = actions.plan(&ctx, "cronjob.resume", &params).await.unwrap();
    let execution = actions.execute(&ctx, &plan).await.unwrap();
    assert_eq!(get_json(&api, "report").await["spec"]["suspend"], false);
    let v = actions.verify(&ctx, &plan, &execution).await.unwrap();
    assert_eq!(v.outcome, Outcome::Healthy, "{}", v.detail);
    actions.rollback(&ctx, &plan).await.unwrap();
    assert_eq!(get_json(&api, "report").await["spec"]["suspend"], true);

    // Trigger now: a Job controlled by the CronJob (at its own API version), run and verified.
    let plan = actions
        .plan(&ctx, "cronjob.trigger", &params)
        .await
        .unwrap();
    assert!(
        plan.summary.starts_with(&format!(
            "run CronJob {ns}/report now as Job report-manual-"
        )) && plan
            .summary
            .ends_with(" (the CronJob itself stays suspended)"),
        "{}",
        plan.summary
    );
    let job_name = plan
        .summary
        .split(" as Job ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    for line in [
        "+    cronjob.kubernetes.io/instantiate: manual\n",
        "+  - apiVersion: batch/v1beta1\n",
        "+    blockOwnerDeletion: true\n",
        "+    kind: CronJob\n",
    ] {
        assert!(plan.diff.contains(line), "{line}\n{}", plan.diff);
    }
    assert!(!actions.landed(&ctx, &plan).await.unwrap());
    let execution = actions.execute(&ctx, &plan).await.unwrap();
    let job = t.api::<Job>().get(&job_name).await.unwrap();
    let owner = &job.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str()),
        ("CronJob", created["metadata"]["uid"].as_str().unwrap())
    );
    let v = actions.verify(&ctx, &plan, &execution).await.unwrap();
    assert_eq!(v.outcome, Outcome::Healthy, "{}", v.detail);
    actions.rollback(&ctx, &plan).await.unwrap();
    t.wait_for("the triggered Job deleted", || async {
        t.api::<Job>()
            .get_opt(&job_name)
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;

    // The job template changes after the plan: void.
    let plan = actions
        .plan(&ctx, "cronjob.trigger", &params)
        .await
        .unwrap();
    api.patch(
        "report",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"jobTemplate": {"spec": {"backoffLimit": 3}}}})),
    )
    .await
    .unwrap();
    let reason = stale(actions.execute(&ctx, &plan).await);
    assert!(
        reason.contains("changed at /spec/jobTemplate since the plan"),
        "{reason}"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cronjob_that_forbids_concurrency_is_not_triggered_while_it_runs() {
    let t = SimTest::start(1).await;
    let ctx = context(&t).await;
    let (actions, _) = registry();
    let ns = t.ns.name.clone();
    let ar = ctx.served.cronjobs.clone().expect("CronJobs are served");
    create_dynamic(&t, &ar, cronjob(&ar.api_version, "single", "Forbid", "60s")).await;
    let params = json!({"namespace": ns, "name": "single"});
    let plan = actions
        .plan(&ctx, "cronjob.trigger", &params)
        .await
        .unwrap();
    let execution = actions.execute(&ctx, &plan).await.unwrap();
    let v = actions.verify(&ctx, &plan, &execution).await.unwrap();
    assert!(v.detail.ends_with(" is running"), "{}", v.detail);
    let (g, r) = refusal(actions.plan(&ctx, "cronjob.trigger", &params).await);
    assert_eq!(g, guards::TARGET);
    assert!(
        r.contains("forbids concurrent runs and Job single-manual-"),
        "{r}"
    );
    let (g, _) = refusal(
        actions
            .plan(
                &ctx,
                "cronjob.trigger",
                &json!({"namespace": "kube-system", "name": "x"}),
            )
            .await,
    );
    assert_eq!(g, guards::PROTECTED_NAMESPACE);
    t.stop().await;
}
