//! `statefulset.scale`: set the replica count, within bounds, never to zero, and not behind the
//! back of a HorizontalPodAutoscaler. Scaling down removes the highest ordinals first; their
//! PersistentVolumeClaims stay.

use async_trait::async_trait;
use k8s_openapi::api::apps::v1::StatefulSet;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::actions::action::Action;
use crate::actions::change::{PatchProposal, plan_patch};
use crate::actions::context::{ActionContext, typed};
use crate::actions::error::{ActionError, Result};
use crate::actions::guards;
use crate::actions::hpa;
use crate::actions::plan::{Execution, PatchType, Plan, Verification};
use crate::actions::spec::{ActionSpec, Risk, parse_params, schema_for};
use crate::actions::verify::{self, Look};
use crate::actions::watch_object::{int_at, observed, watch_one};

pub static SPEC: ActionSpec = ActionSpec {
    name: "statefulset.scale",
    summary: "Set the number of replicas of a StatefulSet (never 0, bounded per step; \
              scaling down removes the highest ordinals, their volumes stay).",
    risk: Risk::Medium,
    kinds: &["StatefulSet"],
    reversible: true,
    params_schema: schema_for::<Params>,
};

/// Parameters of `statefulset.scale`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Namespace of the StatefulSet.
    pub namespace: String,
    /// Name of the StatefulSet.
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
        let live = ctx.fetch_target(&target).await?;
        let sts: StatefulSet = typed(&live, &target)?;
        let current = sts.spec.replicas.unwrap_or(1);
        guards::replicas(&ctx.config, &target.to_string(), current, p.replicas)?;
        if let Some(hpa) = hpa::autoscaler_of(ctx, &target).await? {
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
        plan_patch(ctx, &SPEC, params, &target, &live, proposal).await
    }

    async fn verify(
        &self,
        ctx: &ActionContext,
        plan: &Plan,
        execution: &Execution,
    ) -> Result<Verification> {
        let p: Params = parse_params(SPEC.name, &plan.params)?;
        let (latest, changes) = watch_one(ctx, &plan.target)?;
        let generation = execution.generation;
        verify::until_healthy(ctx, changes, move || {
            scale_look(latest.get().as_ref(), generation, p.replicas)
        })
        .await
    }
}

/// PURE: does the StatefulSet run `replicas` Ready pods, and no more?
pub fn scale_look(sts: Option<&Value>, generation: Option<i64>, replicas: i32) -> Look {
    let Some(sts) = sts else {
        return Look::Waiting("the StatefulSet is gone".into());
    };
    if let Err(why) = observed(sts, generation) {
        return Look::Waiting(why);
    }
    let total = int_at(sts, "/status/replicas").unwrap_or(0);
    let ready = int_at(sts, "/status/readyReplicas").unwrap_or(0);
    let want = i64::from(replicas);
    if total != want || ready < want {
        return Look::Waiting(format!("{ready}/{want} ready, {total} in total"));
    }
    Look::Healthy(format!("{want}/{want} replicas ready"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scale_arrives_when_the_count_is_ready_and_no_more() {
        let sts = |observed: i64, total: i64, ready: i64| json!({"metadata": {"generation": 3}, "status": {"observedGeneration": observed, "replicas": total, "readyReplicas": ready}});
        assert_eq!(
            scale_look(Some(&sts(3, 3, 3)), Some(3), 3),
            Look::Healthy("3/3 replicas ready".into())
        );
        assert_eq!(
            scale_look(Some(&sts(3, 3, 2)), Some(3), 3),
            Look::Waiting("2/3 ready, 3 in total".into())
        );
        assert_eq!(
            scale_look(Some(&sts(3, 3, 3)), Some(3), 2),
            Look::Waiting("3/2 ready, 3 in total".into())
        );
        assert!(
            matches!(scale_look(Some(&sts(2, 3, 3)), Some(3), 3), Look::Waiting(w) if w.contains("generation 3"))
        );
        assert!(matches!(scale_look(None, None, 1), Look::Waiting(_)));
    }
}
