//! `statefulset.restart`: `kubectl rollout restart` for a StatefulSet. The controller replaces
//! the pods one at a time from the highest ordinal, each after the previous one is Ready.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::actions::action::Action;
use crate::actions::context::ActionContext;
use crate::actions::controller_rollout;
use crate::actions::error::Result;
use crate::actions::plan::{Execution, Plan, Verification};
use crate::actions::spec::{ActionSpec, Risk, parse_params, schema_for};

pub static SPEC: ActionSpec = ActionSpec {
    name: "statefulset.restart",
    summary: "Rolling restart of all pods of a StatefulSet, one ordinal at a time \
              (kubectl rollout restart).",
    risk: Risk::Medium,
    kinds: &["StatefulSet"],
    reversible: true,
    params_schema: schema_for::<Params>,
};

/// Parameters of `statefulset.restart`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Namespace of the StatefulSet.
    pub namespace: String,
    /// Name of the StatefulSet.
    pub name: String,
}

pub struct Restart;

#[async_trait]
impl Action for Restart {
    fn spec(&self) -> &'static ActionSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &ActionContext, params: &Value) -> Result<Plan> {
        let p: Params = parse_params(SPEC.name, params)?;
        let target = super::target(&p.namespace, &p.name);
        controller_rollout::plan_restart(ctx, &SPEC, params, &target).await
    }

    async fn verify(
        &self,
        ctx: &ActionContext,
        plan: &Plan,
        execution: &Execution,
    ) -> Result<Verification> {
        controller_rollout::verify_restart(ctx, plan, execution).await
    }
}
