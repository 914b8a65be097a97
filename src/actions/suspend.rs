//! Suspending and resuming Jobs and CronJobs: `spec.suspend` set or cleared, the snapshot
//! restored by rollback (resume after suspend, suspend after resume).
//!
//! A suspended CronJob starts no new Jobs; a suspended Job has its running pods deleted by the
//! Job controller and starts none until resumed. Job suspension exists from Kubernetes 1.21: an
//! older API server silently drops the field, which the server dry-run reveals, and the plan
//! says so instead of approving a change that would do nothing.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::action::Action;
use super::change::{PatchProposal, plan_patch};
use super::context::ActionContext;
use super::error::{ActionError, Result};
use super::guards;
use super::plan::{Execution, PatchType, Plan, Verification};
use super::spec::{ActionSpec, parse_params};
use super::verify::{self, Look};
use super::watch_object::{int_at, watch_one};
use crate::detect::ObjectRef;

/// Parameters of the suspend and resume actions.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Namespace of the object.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

/// `<kind>.suspend` or `<kind>.resume` for Job or CronJob.
pub struct Toggle {
    pub spec: &'static ActionSpec,
    pub kind: &'static str,
    /// `true` to suspend, `false` to resume.
    pub suspend: bool,
}

fn suspended(obj: &Value) -> bool {
    obj.pointer("/spec/suspend") == Some(&Value::Bool(true))
}

/// A Job with a Complete or Failed condition: nothing left to suspend or resume.
pub fn finished(job: &Value) -> Option<&str> {
    job.pointer("/status/conditions")
        .and_then(Value::as_array)?
        .iter()
        .find(|c| (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True")
        .and_then(|c| c["type"].as_str())
}

#[async_trait]
impl Action for Toggle {
    fn spec(&self) -> &'static ActionSpec {
        self.spec
    }

    async fn plan(&self, ctx: &ActionContext, params: &Value) -> Result<Plan> {
        let p: Params = parse_params(self.spec.name, params)?;
        let target = ObjectRef::namespaced(self.kind, &p.namespace, &p.name);
        let live = ctx.fetch_target(&target).await?;
        if self.kind == "Job"
            && let Some(state) = finished(&live)
        {
            return Err(ActionError::refused(
                guards::TARGET,
                format!("{target} has finished ({state}); there is nothing to suspend or resume"),
            ));
        }
        if suspended(&live) == self.suspend {
            return Err(ActionError::refused(
                guards::NO_CHANGE,
                format!(
                    "{target} is already {}",
                    if self.suspend {
                        "suspended"
                    } else {
                        "running (not suspended)"
                    }
                ),
            ));
        }
        let (summary, effect) = match (self.kind, self.suspend) {
            ("CronJob", true) => ("suspend", "no new Jobs start until it is resumed"),
            ("CronJob", false) => ("resume", "Jobs start again on its schedule"),
            (_, true) => (
                "suspend",
                "its running pods are stopped until it is resumed",
            ),
            (_, false) => ("resume", "its pods start again"),
        };
        let proposal = PatchProposal {
            patch_type: PatchType::Merge,
            patch: json!({"spec": {"suspend": self.suspend}}),
            pointers: &["/spec/suspend"],
            summary: format!("{summary} {target}: {effect}"),
        };
        match plan_patch(ctx, self.spec, params, &target, &live, proposal).await {
            // The server kept nothing of `spec.suspend`: it does not know the field.
            Err(ActionError::Refused { guard, .. }) if guard == guards::NO_CHANGE => {
                Err(ActionError::NotServed {
                    what: format!(
                        "{} suspension (spec.suspend; Jobs have it from Kubernetes 1.21)",
                        self.kind
                    ),
                })
            }
            other => other,
        }
    }

    async fn verify(
        &self,
        ctx: &ActionContext,
        plan: &Plan,
        _execution: &Execution,
    ) -> Result<Verification> {
        let (latest, changes) = watch_one(ctx, &plan.target)?;
        let (kind, suspend) = (self.kind, self.suspend);
        verify::until_healthy(ctx, changes, move || {
            toggle_look(kind, latest.get().as_ref(), suspend)
        })
        .await
    }
}

/// PURE: a suspended CronJob is recorded so; a suspended Job also has no active pods left; a
/// resumed Job has active pods again (or finished meanwhile).
pub fn toggle_look(kind: &str, obj: Option<&Value>, suspend: bool) -> Look {
    let Some(obj) = obj else {
        return Look::Waiting(format!("the {kind} is gone"));
    };
    if suspended(obj) != suspend {
        return Look::Waiting(format!(
            "spec.suspend is not {suspend} (someone changed it back?)"
        ));
    }
    if kind != "Job" {
        return Look::Healthy(format!(
            "{} recorded",
            if suspend { "suspension" } else { "resumption" }
        ));
    }
    let active = int_at(obj, "/status/active").unwrap_or(0);
    match (suspend, finished(obj)) {
        (true, _) if active > 0 => Look::Waiting(format!("{active} pods still active")),
        (true, _) => Look::Healthy("suspended, no active pods".into()),
        (false, Some(state)) => Look::Healthy(format!("resumed and already {state}")),
        (false, None) if active > 0 => Look::Healthy(format!("resumed, {active} pods active")),
        (false, None) => Look::Waiting("resumed, no pod started yet".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_suspended_job_has_no_active_pods_a_resumed_one_has() {
        let job = |suspend: bool, active: i64| json!({"spec": {"suspend": suspend}, "status": {"active": active}});
        assert_eq!(
            toggle_look("Job", Some(&job(true, 1)), true),
            Look::Waiting("1 pods still active".into())
        );
        assert!(matches!(
            toggle_look("Job", Some(&job(true, 0)), true),
            Look::Healthy(_)
        ));
        assert!(matches!(
            toggle_look("Job", Some(&job(false, 0)), false),
            Look::Waiting(_)
        ));
        assert!(matches!(
            toggle_look("Job", Some(&job(false, 2)), false),
            Look::Healthy(_)
        ));
        assert!(matches!(
            toggle_look("Job", Some(&job(false, 2)), true),
            Look::Waiting(_)
        ));
        let cj = json!({"spec": {"suspend": true}});
        assert_eq!(
            toggle_look("CronJob", Some(&cj), true),
            Look::Healthy("suspension recorded".into())
        );
        assert!(matches!(
            toggle_look("CronJob", Some(&json!({"spec": {}})), false),
            Look::Healthy(_)
        ));
    }

    #[test]
    fn finished_jobs_are_recognised() {
        let done = json!({"status": {"conditions": [{"type": "Failed", "status": "True"}]}});
        assert_eq!(finished(&done), Some("Failed"));
        assert_eq!(finished(&json!({"status": {}})), None);
    }
}
