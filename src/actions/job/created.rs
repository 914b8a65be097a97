//! Actions whose change is a new Job (`job.retry`, `cronjob.trigger`): planned with a
//! server-side dry-run of the create, executed only while the source (the failed Job, the
//! CronJob) is still the one planned from, verified by watching the new Job and its pods, and
//! rolled back by deleting the new Job (its pods with it).

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, PostParams, PropagationPolicy};
use kube::core::DynamicObject;
use kube::runtime::watcher;
use serde_json::{Value, json};
use tracing::info;

use super::template;
use crate::actions::change;
use crate::actions::context::{self, ActionContext};
use crate::actions::diff;
use crate::actions::error::{ActionError, Result, status_code};
use crate::actions::plan::{Change, Execution, Plan, Snapshot, Verification};
use crate::actions::pods;
use crate::actions::spec::ActionSpec;
use crate::actions::suspend::finished;
use crate::actions::verify::{self, Look};
use crate::actions::watch_object::watch_one;
use crate::detect::ObjectRef;

/// What a create plan needs besides the context.
pub struct NewJob<'a> {
    pub spec: &'static ActionSpec,
    pub params: &'a Value,
    /// The object the Job is made from (a Job or a CronJob), as read.
    pub source: &'a ObjectRef,
    pub live: &'a Value,
    /// The source's fields execution requires unchanged (its template).
    pub pointers: &'a [&'a str],
    pub job: Value,
    pub summary: String,
}

/// Dry-runs the create and returns the plan; the diff is the whole new Job.
pub async fn plan(ctx: &ActionContext, new: NewJob<'_>) -> Result<Plan> {
    let ns = new.source.namespace.as_deref();
    let created = job_ref(ns, &new.job)?;
    let obj: DynamicObject = serde_json::from_value(new.job.clone())
        .map_err(|e| ActionError::BadPlan(format!("job to create: {e}")))?;
    let pp = PostParams {
        dry_run: true,
        field_manager: Some(ctx.config.field_manager.clone()),
    };
    let after = ctx
        .api("Job", ns)?
        .create(&pp, &obj)
        .await
        .map_err(|e| match status_code(&e) {
            Some(409) => ActionError::stale(format!("{created} already exists; plan again")),
            _ => ActionError::kube("dry-run create", &created, e),
        })?;
    let after = context::to_json(after)?;
    let diff = diff::unified(
        "",
        &diff::to_yaml(&template::shown(&after)),
        &format!("{created} (absent)"),
        &format!("{created} (to create, server dry-run)"),
    );
    Ok(Plan {
        action: new.spec.name.to_string(),
        params: new.params.clone(),
        target: new.source.clone(),
        uid: context::uid(new.live).to_string(),
        resource_version: context::resource_version(new.live).to_string(),
        snapshot: Snapshot::take(new.live, new.pointers),
        change: Change::Create { object: new.job },
        diff,
        summary: new.summary,
        risk: new.spec.risk,
        created_at: ctx.clock.now(),
    })
}

/// The Job a plan creates.
pub fn created(plan: &Plan) -> Result<ObjectRef> {
    match &plan.change {
        Change::Create { object } => job_ref(plan.namespace(), object),
        _ => Err(ActionError::BadPlan(format!(
            "{} expects a create",
            plan.action
        ))),
    }
}

fn job_ref(namespace: Option<&str>, job: &Value) -> Result<ObjectRef> {
    let name = job
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .ok_or_else(|| ActionError::BadPlan("job to create has no name".into()))?;
    Ok(ObjectRef::new("Job", namespace, name))
}

/// Creates the Job if the source is still the object planned from, with the template planned.
pub async fn execute(ctx: &ActionContext, plan: &Plan) -> Result<Execution> {
    let source = &plan.target;
    let live = ctx
        .get_opt(source)
        .await?
        .ok_or_else(|| ActionError::stale(format!("{source} no longer exists")))?;
    if context::uid(&live) != plan.uid {
        return Err(ActionError::stale(format!(
            "{source} was deleted and re-created since the plan"
        )));
    }
    if let Some(pointer) = plan.snapshot.first_difference(&live) {
        return Err(ActionError::stale(format!(
            "{source} changed at {pointer} since the plan"
        )));
    }
    let mut done = change::execute(ctx, plan).await?;
    done.details = json!({"job": created(plan)?.name});
    Ok(done)
}

/// Watches the new Job and its pods until it succeeds or a pod of it runs.
pub async fn verify(ctx: &ActionContext, plan: &Plan) -> Result<Verification> {
    let job = created(plan)?;
    let (latest, job_changes) = watch_one(ctx, &job)?;
    let (pods, pod_changes) = verify::watch(
        Api::<Pod>::namespaced(ctx.client.clone(), plan.namespace().unwrap_or("default")),
        watcher::Config::default().labels(&format!("job-name={}", job.name)),
    );
    verify::until_healthy(
        ctx,
        verify::merged(vec![job_changes, pod_changes]),
        move || run_look(latest.get().as_ref(), &verify::items(&pods)),
    )
    .await
}

/// Deletes the Job the plan created, with its pods. Nothing to do when it is gone.
pub async fn rollback(ctx: &ActionContext, plan: &Plan) -> Result<()> {
    let job = created(plan)?;
    let api = ctx.api("Job", job.namespace.as_deref())?;
    let dp = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Background),
        ..DeleteParams::default()
    };
    for dry_run in [true, false] {
        let dp = if dry_run {
            dp.clone().dry_run()
        } else {
            dp.clone()
        };
        match api.delete(&job.name, &dp).await {
            Ok(_) => {}
            Err(e) if status_code(&e) == Some(404) => {
                info!(action = %plan.action, %job, "already gone");
                return Ok(());
            }
            Err(e) => return Err(ActionError::kube("delete", &job, e)),
        }
    }
    info!(action = %plan.action, %job, "deleted the Job it created");
    Ok(())
}

/// PURE: the Job succeeded, or one of its pods runs (or ran to success) without failing.
pub fn run_look(job: Option<&Value>, job_pods: &[Pod]) -> Look {
    let Some(job) = job else {
        return Look::Waiting("the Job does not exist (yet)".into());
    };
    match finished(job) {
        Some("Complete") => return Look::Healthy("the Job succeeded".into()),
        Some(state) => {
            let reason = job
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .and_then(|cs| cs.iter().find(|c| c["type"] == state))
                .and_then(|c| c["reason"].as_str())
                .unwrap_or("");
            return Look::Waiting(format!("the Job failed again ({reason})"));
        }
        None => {}
    }
    let phase = |p: &Pod| {
        p.status
            .as_ref()
            .and_then(|s| s.phase.clone())
            .unwrap_or_default()
    };
    if let Some(bad) = job_pods
        .iter()
        .find(|p| phase(p) == "Failed" || pods::restarts(p) > 0)
    {
        return Look::Waiting(format!("pod {} failed", pods::describe(bad)));
    }
    if let Some(p) = job_pods.iter().find(|p| phase(p) == "Succeeded") {
        return Look::Healthy(format!("pod {} succeeded", pods::name(p)));
    }
    if let Some(p) = job_pods.iter().find(|p| phase(p) == "Running") {
        return Look::Healthy(format!("pod {} is running", pods::name(p)));
    }
    Look::Waiting(match job_pods.first() {
        Some(p) => format!("pod {} has not started", pods::describe(p)),
        None => "no pod yet".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(phase: &str, restarts: i32) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "p"},
            "status": {"phase": phase, "containerStatuses": [{"name": "w", "image": "x", "imageID": "",
                       "ready": false, "restartCount": restarts}]},
        }))
        .unwrap()
    }

    #[test]
    fn a_run_is_healthy_once_running_or_succeeded_and_not_after_a_failure() {
        let job = json!({"status": {}});
        assert_eq!(
            run_look(Some(&job), &[]),
            Look::Waiting("no pod yet".into())
        );
        assert!(matches!(
            run_look(Some(&job), &[pod("Pending", 0)]),
            Look::Waiting(_)
        ));
        assert_eq!(
            run_look(Some(&job), &[pod("Running", 0)]),
            Look::Healthy("pod p is running".into())
        );
        assert_eq!(
            run_look(Some(&job), &[pod("Succeeded", 0)]),
            Look::Healthy("pod p succeeded".into())
        );
        assert!(
            matches!(run_look(Some(&job), &[pod("Failed", 0)]), Look::Waiting(w) if w.contains("failed"))
        );
        assert!(matches!(
            run_look(Some(&job), &[pod("Running", 1)]),
            Look::Waiting(_)
        ));
        let done = json!({"status": {"conditions": [{"type": "Complete", "status": "True"}]}});
        assert_eq!(
            run_look(Some(&done), &[]),
            Look::Healthy("the Job succeeded".into())
        );
        let failed = json!({"status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]}});
        assert_eq!(
            run_look(Some(&failed), &[]),
            Look::Waiting("the Job failed again (BackoffLimitExceeded)".into())
        );
        assert!(matches!(run_look(None, &[]), Look::Waiting(_)));
    }
}
