//! `daemonset.restart`: `kubectl rollout restart` for a DaemonSet. The controller replaces the
//! pod on each node (up to `maxUnavailable` at a time); verified when every scheduled pod
//! carries the new stamp, is Ready and has not restarted.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::action::Action;
use super::context::ActionContext;
use super::controller_rollout;
use super::error::Result;
use super::plan::{Execution, Plan, Verification};
use super::registry::Registry;
use super::spec::{ActionSpec, Risk, parse_params, schema_for};
use crate::detect::ObjectRef;

pub static RESTART: ActionSpec = ActionSpec {
    name: "daemonset.restart",
    summary: "Rolling restart of the pods of a DaemonSet on every node (kubectl rollout restart).",
    risk: Risk::Medium,
    kinds: &["DaemonSet"],
    reversible: true,
    params_schema: schema_for::<Params>,
};

/// Registers the DaemonSet family.
pub fn register(registry: &mut Registry) {
    registry.register(Restart);
}

/// Parameters of `daemonset.restart`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Namespace of the DaemonSet.
    pub namespace: String,
    /// Name of the DaemonSet.
    pub name: String,
}

pub struct Restart;

#[async_trait]
impl Action for Restart {
    fn spec(&self) -> &'static ActionSpec {
        &RESTART
    }

    async fn plan(&self, ctx: &ActionContext, params: &Value) -> Result<Plan> {
        let p: Params = parse_params(RESTART.name, params)?;
        let target = ObjectRef::namespaced("DaemonSet", &p.namespace, &p.name);
        controller_rollout::plan_restart(ctx, &RESTART, params, &target).await
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
