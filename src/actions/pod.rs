//! Deleting one pod so its controller replaces it: `pod.delete` (a named pod) and
//! `deployment.delete_pod` (a Deployment's pod, by default its sickest). Other workload
//! families register the same action for their kind with [`DeletePod::of_workload`].
//!
//! Never the last pod or the last ready pod of its workload, never a pod whose budget has no
//! disruption left, never a pod without a controller (it would not come back). The guards run
//! again at execution: the pods around it may have changed while the approval waited.

use std::collections::BTreeSet;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Preconditions};
use kube::runtime::watcher;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::action::Action;
use super::change;
use super::context::{ActionContext, typed};
use super::diff;
use super::error::{ActionError, Result, status_code};
use super::guards;
use super::plan::{Change, Execution, Plan, Snapshot, Verification};
use super::pods;
use super::registry::Registry;
use super::spec::{ActionSpec, Risk, parse_params, schema_for};
use super::verify::{self, Look};
use super::workload::{self, Workload};
use crate::detect::ObjectRef;

pub static POD_DELETE: ActionSpec = ActionSpec {
    name: "pod.delete",
    summary: "Delete one pod so its controller replaces it (not the last or last ready pod, \
              PodDisruptionBudgets respected).",
    risk: Risk::Low,
    kinds: &["Pod"],
    reversible: false,
    params_schema: schema_for::<PodParams>,
};

pub static DEPLOYMENT_DELETE_POD: ActionSpec = ActionSpec {
    name: "deployment.delete_pod",
    summary: "Delete one pod of a Deployment (the named one, else the sickest) so it is \
              replaced (not the last or last ready pod, PodDisruptionBudgets respected).",
    risk: Risk::Low,
    kinds: &["Deployment", "Pod"],
    reversible: false,
    params_schema: schema_for::<WorkloadPodParams>,
};

/// Registers `pod.delete` and `deployment.delete_pod`.
pub fn register(registry: &mut Registry) {
    registry.register(DeletePod::pod());
    registry.register(DeletePod::of_workload(&DEPLOYMENT_DELETE_POD, "Deployment"));
}

/// Parameters of `pod.delete`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PodParams {
    /// Namespace of the pod.
    pub namespace: String,
    /// Name of the pod.
    pub name: String,
}

/// Parameters of `<workload>.delete_pod`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkloadPodParams {
    /// Namespace of the workload.
    pub namespace: String,
    /// Name of the workload.
    pub name: String,
    /// The pod to delete; by default the sickest (unready first, then most restarts).
    #[serde(default)]
    pub pod: Option<String>,
}

/// The delete-one-pod action, for a named pod or for a workload kind's pods.
pub struct DeletePod {
    spec: &'static ActionSpec,
    /// `None` for `pod.delete`; the workload kind (`Deployment`) otherwise.
    workload_kind: Option<&'static str>,
}

impl DeletePod {
    /// `pod.delete`.
    pub const fn pod() -> Self {
        Self {
            spec: &POD_DELETE,
            workload_kind: None,
        }
    }

    /// `<kind>.delete_pod` under `spec` (its params must be [`WorkloadPodParams`]).
    pub const fn of_workload(spec: &'static ActionSpec, kind: &'static str) -> Self {
        Self {
            spec,
            workload_kind: Some(kind),
        }
    }

    /// The pod to delete and the workload it belongs to.
    async fn choose(&self, ctx: &ActionContext, params: &Value) -> Result<(Pod, Workload)> {
        let Some(kind) = self.workload_kind else {
            let p: PodParams = parse_params(self.spec.name, params)?;
            let target = ObjectRef::namespaced("Pod", &p.namespace, &p.name);
            let pod: Pod = typed(&ctx.fetch_target(&target).await?, &target)?;
            let Some(owner) = workload::owner_of(ctx, &pod).await? else {
                return Err(ActionError::refused(
                    guards::TARGET,
                    format!("{target} has no controller: deleted, it would not come back"),
                ));
            };
            return Ok((pod, workload::workload(ctx, &owner).await?));
        };
        let p: WorkloadPodParams = parse_params(self.spec.name, params)?;
        let target = ObjectRef::namespaced(kind, &p.namespace, &p.name);
        super::guards::namespace_allowed(&ctx.config, Some(&p.namespace))?;
        let w = workload::workload(ctx, &target).await?;
        let all = workload::pods_of(ctx, &w).await?;
        let pod = match &p.pod {
            Some(name) => all
                .iter()
                .find(|q| pods::name(q) == name)
                .cloned()
                .ok_or_else(|| {
                    ActionError::refused(guards::TARGET, format!("{target} has no pod {name}"))
                })?,
            None => pods::sickest(&all).cloned().ok_or_else(|| {
                ActionError::refused(guards::LAST_POD, format!("{target} has no pod to delete"))
            })?,
        };
        if workload::owner_of(ctx, &pod).await?.as_ref() != Some(&target) {
            return Err(ActionError::refused(
                guards::TARGET,
                format!("pod {} is not controlled by {target}", pods::name(&pod)),
            ));
        }
        Ok((pod, w))
    }
}

/// The last-pod and budget guards, on fresh data. Returns the workload's pods.
async fn check(ctx: &ActionContext, pod: &Pod, w: &Workload) -> Result<Vec<Pod>> {
    let siblings = workload::pods_of(ctx, w).await?;
    guards::not_last_pod(
        &w.target.to_string(),
        &pods::facts(&siblings),
        pods::name(pod),
    )?;
    let budgets = workload::budgets_covering(ctx, pod).await?;
    guards::within_budgets(pods::name(pod), pods::is_ready(pod), &budgets)?;
    Ok(siblings)
}

fn pod_ref(pod: &Pod) -> ObjectRef {
    ObjectRef::new("Pod", pod.metadata.namespace.as_deref(), pods::name(pod))
}

#[async_trait]
impl Action for DeletePod {
    fn spec(&self) -> &'static ActionSpec {
        self.spec
    }

    async fn plan(&self, ctx: &ActionContext, params: &Value) -> Result<Plan> {
        let (pod, w) = self.choose(ctx, params).await?;
        if pods::is_terminating(&pod) {
            return Err(ActionError::refused(
                guards::NO_CHANGE,
                format!("pod {} is already being deleted", pods::name(&pod)),
            ));
        }
        check(ctx, &pod, &w).await?;
        let target = pod_ref(&pod);
        let uid = pods::uid(&pod).to_string();
        let api: Api<Pod> = Api::namespaced(
            ctx.client.clone(),
            target.namespace.as_deref().unwrap_or("default"),
        );
        let dp = DeleteParams {
            preconditions: Some(Preconditions {
                uid: Some(uid.clone()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        }
        .dry_run();
        api.delete(&target.name, &dp)
            .await
            .map_err(|e| match status_code(&e) {
                Some(404) => ActionError::NotFound {
                    target: target.clone(),
                },
                _ => ActionError::kube("dry-run delete", &target, e),
            })?;
        let shown = json!({"pod": target.name, "node": pod.spec.as_ref().and_then(|s| s.node_name.clone()),
                           "controlled_by": w.target.to_string()});
        Ok(Plan {
            action: self.spec.name.to_string(),
            params: params.clone(),
            target: target.clone(),
            uid: uid.clone(),
            resource_version: pod.metadata.resource_version.clone().unwrap_or_default(),
            snapshot: Snapshot::default(),
            change: Change::Delete {
                uid,
                grace_period_seconds: None,
            },
            diff: diff::unified(
                &diff::to_yaml(&shown),
                "",
                &format!("{target} (live)"),
                &format!("{target} (deleted)"),
            ),
            summary: format!(
                "delete pod {} of {}; its controller creates a replacement",
                pods::describe(&pod),
                w.target
            ),
            risk: self.spec.risk,
            created_at: ctx.clock.now(),
        })
    }

    async fn execute(&self, ctx: &ActionContext, plan: &Plan) -> Result<Execution> {
        let Change::Delete {
            uid,
            grace_period_seconds,
        } = &plan.change
        else {
            return Err(ActionError::BadPlan(format!(
                "{} expects a delete",
                plan.action
            )));
        };
        let Some(live) = ctx.get_opt(&plan.target).await? else {
            return Err(ActionError::stale(format!(
                "{} no longer exists",
                plan.target
            )));
        };
        let pod: Pod = typed(&live, &plan.target)?;
        if pods::uid(&pod) != uid {
            return Err(ActionError::stale(format!(
                "{} was replaced since the plan",
                plan.target
            )));
        }
        let Some(owner) = workload::owner_of(ctx, &pod).await? else {
            return Err(ActionError::stale(format!(
                "{} lost its controller",
                plan.target
            )));
        };
        let w = workload::workload(ctx, &owner).await?;
        let before = check(ctx, &pod, &w).await?;
        let mut done = change::execute_delete(ctx, plan, uid, *grace_period_seconds).await?;
        let uids: BTreeSet<&str> = before.iter().map(pods::uid).collect();
        done.details = json!({"selector": w.selector, "pods_before": uids});
        Ok(done)
    }

    async fn verify(
        &self,
        ctx: &ActionContext,
        plan: &Plan,
        execution: &Execution,
    ) -> Result<Verification> {
        let selector = execution.details["selector"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let before: BTreeSet<String> =
            serde_json::from_value(execution.details["pods_before"].clone())
                .map_err(|e| ActionError::BadPlan(format!("execution details: {e}")))?;
        let ns = plan.namespace().unwrap_or("default");
        let (store, changes) = verify::watch(
            Api::<Pod>::namespaced(ctx.client.clone(), ns),
            watcher::Config::default().labels(&selector),
        );
        verify::until_healthy(ctx, changes, move || {
            replacement_look(&verify::items(&store), &before)
        })
        .await
    }
}

/// PURE: a pod that was not there before the delete is Ready and has not restarted.
pub fn replacement_look(now: &[Pod], before: &BTreeSet<String>) -> Look {
    let new: Vec<&Pod> = now
        .iter()
        .filter(|p| !before.contains(pods::uid(p)) && !pods::is_terminating(p))
        .collect();
    match new
        .iter()
        .find(|p| pods::is_ready(p) && pods::restarts(p) == 0)
    {
        Some(p) => Look::Healthy(format!("replacement pod {} is ready", pods::name(p))),
        None => Look::Waiting(match new.first() {
            Some(p) => format!("replacement pod {}", pods::describe(p)),
            None => "no replacement pod yet".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(uid: &str, ready: bool, restarts: i32) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": format!("p-{uid}"), "uid": uid},
            "status": {"conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
                       "containerStatuses": [{"name": "app", "image": "x", "imageID": "",
                                              "ready": ready, "restartCount": restarts}]},
        }))
        .unwrap()
    }

    #[test]
    fn a_replacement_is_a_new_ready_pod_without_restarts() {
        let before: BTreeSet<String> = ["a".to_string(), "b".to_string()].into();
        let old_only = [pod("a", true, 0), pod("b", true, 0)];
        assert_eq!(
            replacement_look(&old_only, &before),
            Look::Waiting("no replacement pod yet".into())
        );
        let crashing = [pod("a", true, 0), pod("c", false, 2)];
        assert_eq!(
            replacement_look(&crashing, &before),
            Look::Waiting("replacement pod p-c (not ready, 2 restarts)".into())
        );
        let healed = [pod("a", true, 0), pod("c", true, 0)];
        assert_eq!(
            replacement_look(&healed, &before),
            Look::Healthy("replacement pod p-c is ready".into())
        );
    }
}
