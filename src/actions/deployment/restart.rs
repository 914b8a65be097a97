//! `deployment.restart`: what `kubectl rollout restart` does — stamp the pod template with
//! `kubectl.kubernetes.io/restartedAt`, so the Deployment rolls every pod, respecting its
//! strategy. The timestamp is fixed at plan time, so the approved diff is the executed one.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::rollout;
use crate::actions::action::Action;
use crate::actions::change::PatchProposal;
use crate::actions::context::ActionContext;
use crate::actions::error::Result;
use crate::actions::plan::{Execution, PatchType, Plan, Verification};
use crate::actions::spec::{ActionSpec, Risk, parse_params, schema_for};

/// The annotation `kubectl rollout restart` sets.
pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

pub static SPEC: ActionSpec = ActionSpec {
    name: "deployment.restart",
    summary: "Rolling restart of all pods of a Deployment (kubectl rollout restart).",
    risk: Risk::Low,
    kinds: &["Deployment"],
    reversible: true,
    params_schema: schema_for::<Params>,
};

/// Parameters of `deployment.restart`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Namespace of the Deployment.
    pub namespace: String,
    /// Name of the Deployment.
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
        let at = ctx
            .clock
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        super::plan_with(ctx, &SPEC, params, &target, |d| {
            super::not_paused(d, &target)?;
            Ok(PatchProposal {
                patch_type: PatchType::Strategic,
                patch: json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: at}}}}}),
                pointers: super::TEMPLATE,
                summary: format!(
                    "restart all {} pods of {target} (rolling)",
                    d.spec.replicas.unwrap_or(1)
                ),
            })
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
