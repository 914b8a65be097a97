//! `deployment.rollback`: what `kubectl rollout undo` does — copy the pod template of an
//! earlier revision's ReplicaSet back into the Deployment. The controller then revives that
//! ReplicaSet (same template hash) and the revision becomes the newest.

use async_trait::async_trait;
use k8s_openapi::api::apps::v1::ReplicaSet;
use kube::api::{Api, ListParams};
use kube::core::Selector;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::revisions::{self, REVISION, RollbackTo};
use super::rollout;
use crate::actions::action::Action;
use crate::actions::change::{PatchProposal, plan_patch};
use crate::actions::context::ActionContext;
use crate::actions::diff::{merge_patch_to, without_nulls};
use crate::actions::error::{ActionError, Result};
use crate::actions::plan::{Execution, PatchType, Plan, Verification};
use crate::actions::spec::{ActionSpec, Risk, parse_params, schema_for};

pub static SPEC: ActionSpec = ActionSpec {
    name: "deployment.rollback",
    summary: "Roll a Deployment back to its previous revision, the last revision whose pods \
              were healthy, or a named revision (kubectl rollout undo).",
    risk: Risk::Medium,
    kinds: &["Deployment"],
    reversible: true,
    params_schema: schema_for::<Params>,
};

/// Parameters of `deployment.rollback`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Namespace of the Deployment.
    pub namespace: String,
    /// Name of the Deployment.
    pub name: String,
    /// `previous` (default) or `last_healthy` (the newest earlier revision with available pods).
    #[serde(default)]
    pub to: RollbackTo,
    /// A specific revision number instead (from the rollout history).
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub revision: Option<i64>,
}

pub struct Rollback;

#[async_trait]
impl Action for Rollback {
    fn spec(&self) -> &'static ActionSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &ActionContext, params: &Value) -> Result<Plan> {
        let p: Params = parse_params(SPEC.name, params)?;
        let target = super::target(&p.namespace, &p.name);
        let (live, d) = super::fetch(ctx, &target).await?;
        super::not_paused(&d, &target)?;
        let current: i64 = d
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(REVISION))
            .and_then(|r| r.parse().ok())
            .ok_or_else(|| {
                ActionError::refused(
                    crate::actions::guards::TARGET,
                    format!("{target} has no rollout history yet"),
                )
            })?;
        let selector = Selector::try_from(d.spec.selector.clone())
            .map_err(|e| ActionError::BadPlan(format!("{target} selector: {e}")))?;
        let sets = Api::<ReplicaSet>::namespaced(ctx.client.clone(), &p.namespace)
            .list(&ListParams::default().labels(&selector.to_string()))
            .await
            .map_err(|e| ActionError::kube("list ReplicaSets of", &target, e))?
            .items;
        let history = revisions::history(d.metadata.uid.as_deref().unwrap_or(""), &sets);
        let chosen = revisions::pick(&history, current, p.to, p.revision)?;

        let current_template = live
            .pointer("/spec/template")
            .map(without_nulls)
            .unwrap_or(Value::Null);
        let wanted = serde_json::to_value(&chosen.template).map_err(|e| {
            ActionError::BadPlan(format!("template of revision {}: {e}", chosen.number))
        })?;
        let template_patch = merge_patch_to(&current_template, &wanted);
        if template_patch.is_null() {
            return Err(ActionError::refused(
                crate::actions::guards::NO_CHANGE,
                format!(
                    "revision {} has the same pod template as the current one",
                    chosen.number
                ),
            ));
        }
        let proposal = PatchProposal {
            patch_type: PatchType::Merge,
            patch: json!({"spec": {"template": template_patch}}),
            pointers: super::TEMPLATE,
            summary: format!(
                "roll back {target} from revision {current} ({}) to revision {} ({})",
                super::images(&d.spec.template),
                chosen.number,
                super::images(&chosen.template)
            ),
        };
        plan_patch(ctx, &SPEC, params, &target, &live, proposal).await
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
