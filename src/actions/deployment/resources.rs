//! `deployment.adjust_resources`: change one container's CPU or memory requests or limits —
//! the fix for an OOM-killed workload. Each new value may move at most the configured factor
//! from the one it replaces, and every limit must stay at least its request.

use async_trait::async_trait;
use k8s_openapi::api::apps::v1::Deployment;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::rollout;
use crate::actions::action::Action;
use crate::actions::change::PatchProposal;
use crate::actions::config::ActionsConfig;
use crate::actions::context::ActionContext;
use crate::actions::error::{ActionError, Result};
use crate::actions::guards;
use crate::actions::plan::{Execution, PatchType, Plan, Verification};
use crate::actions::quantity::Resource;
use crate::actions::spec::{ActionSpec, Risk, parse_params, schema_for};
use crate::detect::ObjectRef;

pub static SPEC: ActionSpec = ActionSpec {
    name: "deployment.adjust_resources",
    summary: "Change the CPU or memory request or limit of one container of a Deployment \
              (bounded factor per step; limits stay >= requests). Rolls the pods.",
    risk: Risk::Medium,
    kinds: &["Deployment"],
    reversible: true,
    params_schema: schema_for::<Params>,
};

/// Parameters of `deployment.adjust_resources`: at least one of the four quantities.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Namespace of the Deployment.
    pub namespace: String,
    /// Name of the Deployment.
    pub name: String,
    /// Name of the container to change.
    pub container: String,
    /// New memory limit, a Kubernetes quantity such as `256Mi`.
    #[serde(default)]
    pub memory_limit: Option<String>,
    /// New memory request, such as `128Mi`.
    #[serde(default)]
    pub memory_request: Option<String>,
    /// New CPU limit, such as `500m`.
    #[serde(default)]
    pub cpu_limit: Option<String>,
    /// New CPU request, such as `250m`.
    #[serde(default)]
    pub cpu_request: Option<String>,
}

pub struct AdjustResources;

#[async_trait]
impl Action for AdjustResources {
    fn spec(&self) -> &'static ActionSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &ActionContext, params: &Value) -> Result<Plan> {
        let p: Params = parse_params(SPEC.name, params)?;
        let target = super::target(&p.namespace, &p.name);
        super::plan_with(ctx, &SPEC, params, &target, |d| {
            super::not_paused(d, &target)?;
            propose(&ctx.config, &target, d, &p)
        })
        .await
    }

    async fn verify(
        &self,
        ctx: &ActionContext,
        plan: &Plan,
        execution: &Execution,
    ) -> Result<Verification> {
        rollout::verify_rollout(ctx, &plan.target, execution).await
    }
}

/// The request and limit of one resource, before and after.
struct Pair {
    resource: Resource,
    request: (Option<i64>, Option<i64>),
    limit: (Option<i64>, Option<i64>),
}

/// PURE: the strategic patch for the wanted values, after every guard.
fn propose(
    config: &ActionsConfig,
    target: &ObjectRef,
    d: &Deployment,
    p: &Params,
) -> Result<PatchProposal> {
    let containers = d
        .spec
        .template
        .spec
        .as_ref()
        .map(|s| s.containers.as_slice())
        .unwrap_or(&[]);
    let Some(container) = containers.iter().find(|c| c.name == p.container) else {
        let names: Vec<&str> = containers.iter().map(|c| c.name.as_str()).collect();
        return Err(ActionError::refused(
            guards::TARGET,
            format!(
                "{target} has no container {} (containers: {})",
                p.container,
                names.join(", ")
            ),
        ));
    };
    if [
        &p.memory_limit,
        &p.memory_request,
        &p.cpu_limit,
        &p.cpu_request,
    ]
    .iter()
    .all(|v| v.is_none())
    {
        return Err(ActionError::invalid(
            SPEC.name,
            "give at least one of memory_limit, memory_request, cpu_limit, cpu_request",
        ));
    }
    let res = container.resources.clone().unwrap_or_default();
    let current = |map: &Option<
        std::collections::BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
    >,
                   r: Resource| {
        map.as_ref()
            .and_then(|m| m.get(r.name()))
            .and_then(|q| r.parse(&q.0))
    };
    let wanted = |field: &str, text: &Option<String>, r: Resource| -> Result<Option<i64>> {
        text.as_deref()
            .map(|t| {
                r.parse(t).ok_or_else(|| {
                    ActionError::invalid(
                        SPEC.name,
                        format!("{field}: `{t}` is not a {} quantity", r.name()),
                    )
                })
            })
            .transpose()
    };
    let pairs = [
        (
            Resource::Memory,
            wanted("memory_request", &p.memory_request, Resource::Memory)?,
            wanted("memory_limit", &p.memory_limit, Resource::Memory)?,
        ),
        (
            Resource::Cpu,
            wanted("cpu_request", &p.cpu_request, Resource::Cpu)?,
            wanted("cpu_limit", &p.cpu_limit, Resource::Cpu)?,
        ),
    ]
    .map(|(r, new_request, new_limit)| {
        let (old_request, old_limit) = (current(&res.requests, r), current(&res.limits, r));
        Pair {
            resource: r,
            request: (old_request, new_request.or(old_request)),
            limit: (old_limit, new_limit.or(old_limit)),
        }
    });

    let mut changes = Vec::new();
    let mut patch = Map::new();
    for pair in &pairs {
        let r = pair.resource;
        for (kind, (old, new), counterpart) in [
            ("request", pair.request, pair.limit.0),
            ("limit", pair.limit, pair.request.0),
        ] {
            let Some(new) = new.filter(|n| Some(*n) != old) else {
                continue;
            };
            let what = format!("{} {kind} of container {}", r.name(), p.container);
            guards::resource_factor(config, r, &what, old.or(counterpart), new)?;
            changes.push(match old {
                Some(o) if new > o => {
                    format!("raise {what} from {} to {}", r.format(o), r.format(new))
                }
                Some(o) => format!("lower {what} from {} to {}", r.format(o), r.format(new)),
                None => format!("set {what} to {}", r.format(new)),
            });
            let section = if kind == "request" {
                "requests"
            } else {
                "limits"
            };
            let entry = patch.entry(section).or_insert_with(|| json!({}));
            entry[r.name()] = json!(r.format(new));
        }
        guards::limit_covers_request(r, &p.container, pair.request.1, pair.limit.1)?;
    }
    if changes.is_empty() {
        return Err(ActionError::refused(
            guards::NO_CHANGE,
            format!(
                "container {} of {target} already has these values",
                p.container
            ),
        ));
    }
    Ok(PatchProposal {
        patch_type: PatchType::Strategic,
        patch: json!({"spec": {"template": {"spec": {"containers": [
            {"name": p.container, "resources": Value::Object(patch)}
        ]}}}}),
        pointers: super::TEMPLATE,
        summary: changes.join("; "),
    })
}

#[cfg(test)]
mod tests;
