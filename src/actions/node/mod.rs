//! Node actions: cordon, uncordon, drain. Cordon and uncordon patch `spec.unschedulable`;
//! drain cordons and then evicts the node's pods through the Eviction API, which respects
//! PodDisruptionBudgets ([`drain`]), once it is clear that every evicted pod has another node
//! to go to ([`placement`]). Rolling back a cordon or a drain uncordons the node; the
//! evicted pods are not brought back, their controllers have replaced them elsewhere.

mod drain;
mod evict;
pub(crate) mod placement;
mod pods_on_node;
mod watch;

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
use super::registry::Registry;
use super::spec::{ActionSpec, Risk, parse_params, schema_for};
use super::verify::{self, Look};
use super::watch_object::watch_one;
use crate::detect::ObjectRef;

pub use drain::{Drain, NO_OTHER_NODE};

pub static CORDON: ActionSpec = ActionSpec {
    name: "node.cordon",
    summary: "Cordon a node: nothing new is scheduled there; running pods stay.",
    risk: Risk::Low,
    kinds: &["Node"],
    reversible: true,
    params_schema: schema_for::<Params>,
};

pub static UNCORDON: ActionSpec = ActionSpec {
    name: "node.uncordon",
    summary: "Uncordon a node: pods may be scheduled there again.",
    risk: Risk::Low,
    kinds: &["Node"],
    reversible: true,
    params_schema: schema_for::<Params>,
};

/// Registers the Node family.
pub fn register(registry: &mut Registry) {
    registry.register(Cordon {
        spec: &CORDON,
        cordon: true,
    });
    registry.register(Cordon {
        spec: &UNCORDON,
        cordon: false,
    });
    registry.register(Drain);
}

/// Parameters of the node actions.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Name of the node.
    pub name: String,
}

pub(super) fn target(name: &str) -> ObjectRef {
    ObjectRef::cluster_scoped("Node", name)
}

/// `spec.unschedulable` is true.
pub(crate) fn cordoned(node: &Value) -> bool {
    node.pointer("/spec/unschedulable") == Some(&Value::Bool(true))
}

/// The merge patch that cordons (sets `unschedulable`) or uncordons (removes it, as kubectl does).
pub(crate) fn cordon_patch(cordon: bool) -> Value {
    json!({"spec": {"unschedulable": if cordon { json!(true) } else { Value::Null }}})
}

/// `node.cordon` or `node.uncordon`.
pub struct Cordon {
    spec: &'static ActionSpec,
    cordon: bool,
}

#[async_trait]
impl Action for Cordon {
    fn spec(&self) -> &'static ActionSpec {
        self.spec
    }

    async fn plan(&self, ctx: &ActionContext, params: &Value) -> Result<Plan> {
        let p: Params = parse_params(self.spec.name, params)?;
        let target = target(&p.name);
        let live = ctx.fetch_target(&target).await?;
        if cordoned(&live) == self.cordon {
            return Err(ActionError::refused(
                guards::NO_CHANGE,
                format!(
                    "{target} is already {}",
                    if self.cordon {
                        "cordoned"
                    } else {
                        "schedulable (not cordoned)"
                    }
                ),
            ));
        }
        let summary = if self.cordon {
            format!("cordon {target}: nothing new is scheduled there; its pods keep running")
        } else {
            format!("uncordon {target}: pods may be scheduled there again")
        };
        let proposal = PatchProposal {
            patch_type: PatchType::Merge,
            patch: cordon_patch(self.cordon),
            pointers: &["/spec/unschedulable"],
            summary,
        };
        plan_patch(ctx, self.spec, params, &target, &live, proposal).await
    }

    async fn verify(
        &self,
        ctx: &ActionContext,
        plan: &Plan,
        _execution: &Execution,
    ) -> Result<Verification> {
        let (latest, changes) = watch_one(ctx, &plan.target)?;
        let want = self.cordon;
        verify::until_healthy(ctx, changes, move || {
            cordon_look(latest.get().as_ref(), want)
        })
        .await
    }
}

/// PURE: the node records the cordon (or its absence).
pub fn cordon_look(node: Option<&Value>, cordon: bool) -> Look {
    match node {
        None => Look::Waiting("the node is gone".into()),
        Some(n) if cordoned(n) == cordon => Look::Healthy(format!(
            "spec.unschedulable is {}",
            if cordon {
                "true: cordoned"
            } else {
                "unset: schedulable"
            }
        )),
        Some(_) => Look::Waiting(format!(
            "spec.unschedulable is not {} yet",
            if cordon { "true" } else { "unset" }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cordon_state_is_read_from_the_spec() {
        let on = json!({"spec": {"unschedulable": true}});
        let off = json!({"spec": {}});
        assert!(matches!(cordon_look(Some(&on), true), Look::Healthy(_)));
        assert!(matches!(cordon_look(Some(&off), true), Look::Waiting(_)));
        assert!(matches!(cordon_look(Some(&off), false), Look::Healthy(_)));
        assert_eq!(
            cordon_patch(false),
            json!({"spec": {"unschedulable": null}})
        );
    }
}
