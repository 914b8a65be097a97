//! `deployment.scale`: set the replica count, within bounds, never to zero, and not behind the
//! back of a HorizontalPodAutoscaler (which would undo it).

use async_trait::async_trait;
use kube::api::{Api, ListParams};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::rollout;
use crate::actions::action::Action;
use crate::actions::change::PatchProposal;
use crate::actions::context::{ActionContext, to_json};
use crate::actions::error::{ActionError, Result};
use crate::actions::guards;
use crate::actions::plan::{Execution, PatchType, Plan, Verification};
use crate::actions::spec::{ActionSpec, Risk, parse_params, schema_for};
use crate::detect::ObjectRef;

pub static SPEC: ActionSpec = ActionSpec {
    name: "deployment.scale",
    summary: "Set the number of replicas of a Deployment (never 0, bounded per step).",
    risk: Risk::Medium,
    kinds: &["Deployment"],
    reversible: true,
    params_schema: schema_for::<Params>,
};

/// Parameters of `deployment.scale`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Namespace of the Deployment.
    pub namespace: String,
    /// Name of the Deployment.
    pub name: String,
    /// The replica count wanted (at least 1).
    #[schemars(range(min = 1))]
    pub replicas: i32,
}

pub struct Scale;

#[async_trait]
impl Action for Scale {
    fn spec(&self) -> &'static ActionSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &ActionContext, params: &Value) -> Result<Plan> {
        let p: Params = parse_params(SPEC.name, params)?;
        let target = super::target(&p.namespace, &p.name);
        let (live, d) = super::fetch(ctx, &target).await?;
        let current = d.spec.replicas.unwrap_or(1);
        guards::replicas(&ctx.config, &target.to_string(), current, p.replicas)?;
        if let Some(hpa) = autoscaler_of(ctx, &target).await? {
            return Err(ActionError::refused(
                guards::AUTOSCALED,
                format!(
                    "{hpa} manages the replicas of {target} and would undo a scale; change its min/max instead"
                ),
            ));
        }
        let verb = if p.replicas > current {
            "scale up"
        } else {
            "scale down"
        };
        let proposal = PatchProposal {
            patch_type: PatchType::Merge,
            patch: json!({"spec": {"replicas": p.replicas}}),
            pointers: &["/spec/replicas"],
            summary: format!("{verb} {target} from {current} to {} replicas", p.replicas),
        };
        crate::actions::change::plan_patch(ctx, &SPEC, params, &target, &live, proposal).await
    }

    async fn verify(
        &self,
        ctx: &ActionContext,
        plan: &Plan,
        execution: &Execution,
    ) -> Result<Verification> {
        let p: Params = parse_params(SPEC.name, &plan.params)?;
        rollout::verify_scale(ctx, &plan.target, execution, p.replicas).await
    }
}

/// The HorizontalPodAutoscaler that targets this Deployment, if any (`HorizontalPodAutoscaler
/// shop/cart (min 2, max 6)`). Uses the discovered HPA version, else autoscaling/v1, which
/// every server has and which carries the same `scaleTargetRef`.
async fn autoscaler_of(ctx: &ActionContext, target: &ObjectRef) -> Result<Option<String>> {
    let ar = ctx
        .served
        .horizontal_pod_autoscalers
        .clone()
        .unwrap_or_else(|| kube::core::ApiResource {
            group: "autoscaling".into(),
            version: "v1".into(),
            api_version: "autoscaling/v1".into(),
            kind: "HorizontalPodAutoscaler".into(),
            plural: "horizontalpodautoscalers".into(),
        });
    let ns = target.namespace.as_deref().unwrap_or("default");
    let api: Api<kube::core::DynamicObject> = Api::namespaced_with(ctx.client.clone(), ns, &ar);
    let list = api
        .list(&ListParams::default())
        .await
        .map_err(|e| ActionError::kube("list", format!("HorizontalPodAutoscalers in {ns}"), e))?;
    for hpa in list.items {
        let v = to_json(hpa)?;
        let r = &v["spec"]["scaleTargetRef"];
        if r["kind"] == target.kind.as_str() && r["name"] == target.name.as_str() {
            return Ok(Some(format!(
                "HorizontalPodAutoscaler {ns}/{} (min {}, max {})",
                v["metadata"]["name"].as_str().unwrap_or(""),
                v["spec"]["minReplicas"].as_i64().unwrap_or(1),
                v["spec"]["maxReplicas"].as_i64().unwrap_or(0)
            )));
        }
    }
    Ok(None)
}
