//! `hpa.adjust`: change a HorizontalPodAutoscaler's minimum and/or maximum replicas, within the
//! actions config's bounds (never a minimum of 0, never above `max_replicas`, at most
//! `max_scale_factor` times the old bound in one step, min <= max). autoscaling/v2 or v2beta2,
//! as discovery found: both carry `minReplicas`/`maxReplicas` the same way.
//!
//! Verification watches the autoscaler until it records the new bounds and, once it reports
//! replicas, until its replicas sit within them (the controller enforces the bounds even
//! without a metrics server).

use async_trait::async_trait;
use kube::api::{Api, ListParams};
use kube::core::{ApiResource, DynamicObject};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::action::Action;
use super::change::{PatchProposal, plan_patch};
use super::config::ActionsConfig;
use super::context::{ActionContext, to_json};
use super::error::{ActionError, Result};
use super::guards;
use super::plan::{Execution, PatchType, Plan, Verification};
use super::registry::Registry;
use super::spec::{ActionSpec, Risk, parse_params, schema_for};
use super::verify::{self, Look};
use super::watch_object::{int_at, watch_one};
use crate::detect::ObjectRef;

/// The new minimum would be above the new maximum.
pub const HPA_BOUNDS: &str = "hpa_bounds";

pub static ADJUST: ActionSpec = ActionSpec {
    name: "hpa.adjust",
    summary: "Change the minimum and/or maximum replicas of a HorizontalPodAutoscaler \
              (bounded; min at least 1 and at most max).",
    risk: Risk::Medium,
    kinds: &["HorizontalPodAutoscaler", "Deployment", "StatefulSet"],
    reversible: true,
    params_schema: schema_for::<Params>,
};

/// Registers `hpa.adjust`.
pub fn register(registry: &mut Registry) {
    registry.register(Adjust);
}

/// Parameters of `hpa.adjust`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Namespace of the autoscaler.
    pub namespace: String,
    /// Name of the HorizontalPodAutoscaler, or of the workload it scales when no autoscaler has
    /// that name and exactly one targets it.
    pub name: String,
    /// New minimum replicas (at least 1).
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub min_replicas: Option<i32>,
    /// New maximum replicas.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub max_replicas: Option<i32>,
}

pub struct Adjust;

#[async_trait]
impl Action for Adjust {
    fn spec(&self) -> &'static ActionSpec {
        &ADJUST
    }

    async fn plan(&self, ctx: &ActionContext, params: &Value) -> Result<Plan> {
        let p: Params = parse_params(ADJUST.name, params)?;
        if p.min_replicas.is_none() && p.max_replicas.is_none() {
            return Err(ActionError::invalid(
                ADJUST.name,
                "give min_replicas, max_replicas or both",
            ));
        }
        guards::namespace_allowed(&ctx.config, Some(&p.namespace))?;
        let (target, live) = resolve(ctx, &p.namespace, &p.name).await?;
        let (min, max) = bounds_of(&live);
        let (new_min, new_max) = (p.min_replicas.unwrap_or(min), p.max_replicas.unwrap_or(max));
        check_bounds(
            &ctx.config,
            &target.to_string(),
            (min, max),
            (new_min, new_max),
        )?;
        let mut spec = Map::new();
        if new_min != min {
            spec.insert("minReplicas".into(), json!(new_min));
        }
        if new_max != max {
            spec.insert("maxReplicas".into(), json!(new_max));
        }
        let scales = live
            .pointer("/spec/scaleTargetRef")
            .map(|r| {
                format!(
                    "{} {}",
                    r["kind"].as_str().unwrap_or("?"),
                    r["name"].as_str().unwrap_or("?")
                )
            })
            .unwrap_or_default();
        let proposal = PatchProposal {
            patch_type: PatchType::Merge,
            patch: json!({"spec": spec}),
            pointers: &["/spec/minReplicas", "/spec/maxReplicas"],
            summary: format!(
                "set {target} (scales {scales}) from min {min}, max {max} to min {new_min}, max {new_max}"
            ),
        };
        plan_patch(ctx, &ADJUST, params, &target, &live, proposal).await
    }

    async fn verify(
        &self,
        ctx: &ActionContext,
        plan: &Plan,
        _execution: &Execution,
    ) -> Result<Verification> {
        let want = wanted(plan)?;
        let (latest, changes) = watch_one(ctx, &plan.target)?;
        verify::until_healthy(ctx, changes, move || {
            bounds_look(latest.get().as_ref(), want)
        })
        .await
    }
}

/// The bounds a plan sets: the patched ones, the others as snapshotted.
fn wanted(plan: &Plan) -> Result<(i64, i64)> {
    let p: Params = parse_params(ADJUST.name, &plan.params)?;
    let snap = |ptr: &str| {
        plan.snapshot
            .fields
            .iter()
            .find(|f| f.pointer == ptr)
            .and_then(|f| f.value.as_ref())
            .and_then(Value::as_i64)
    };
    let min = p
        .min_replicas
        .map(i64::from)
        .or(snap("/spec/minReplicas"))
        .unwrap_or(1);
    let max = p
        .max_replicas
        .map(i64::from)
        .or(snap("/spec/maxReplicas"))
        .unwrap_or(0);
    Ok((min, max))
}

/// The autoscaler named `name`, else the only one whose target is named `name`.
async fn resolve(ctx: &ActionContext, ns: &str, name: &str) -> Result<(ObjectRef, Value)> {
    let target = ObjectRef::namespaced("HorizontalPodAutoscaler", ns, name);
    if let Some(live) = ctx.get_opt(&target).await? {
        return Ok((target, live));
    }
    let all = ctx.list("HorizontalPodAutoscaler", Some(ns), None).await?;
    let mut targeting: Vec<Value> = all
        .into_iter()
        .filter(|h| {
            h.pointer("/spec/scaleTargetRef/name")
                .and_then(Value::as_str)
                == Some(name)
        })
        .collect();
    match targeting.len() {
        1 => {
            let live = targeting.remove(0);
            let hpa = live["metadata"]["name"].as_str().unwrap_or(name);
            Ok((
                ObjectRef::namespaced("HorizontalPodAutoscaler", ns, hpa),
                live,
            ))
        }
        0 => Err(ActionError::NotFound { target }),
        n => Err(ActionError::refused(
            guards::TARGET,
            format!("{n} HorizontalPodAutoscalers in {ns} target {name}; name one of them"),
        )),
    }
}

/// `(minReplicas, maxReplicas)`; the API's default minimum is 1.
fn bounds_of(hpa: &Value) -> (i32, i32) {
    let get = |p: &str| int_at(hpa, p).and_then(|v| i32::try_from(v).ok());
    (
        get("/spec/minReplicas").unwrap_or(1),
        get("/spec/maxReplicas").unwrap_or(0),
    )
}

/// PURE: the new bounds are allowed.
pub fn check_bounds(
    config: &ActionsConfig,
    what: &str,
    (min, max): (i32, i32),
    (new_min, new_max): (i32, i32),
) -> Result<()> {
    if new_min < 1 {
        return Err(ActionError::refused(
            guards::SCALE_TO_ZERO,
            format!(
                "a minimum of {new_min} would let {what} scale its target to zero; the minimum stays at least 1"
            ),
        ));
    }
    if new_min > new_max {
        return Err(ActionError::refused(
            HPA_BOUNDS,
            format!("the minimum {new_min} would be above the maximum {new_max} of {what}"),
        ));
    }
    if new_max > config.max_replicas {
        return Err(ActionError::refused(
            guards::REPLICA_BOUND,
            format!(
                "a maximum of {new_max} replicas is above the limit of {}",
                config.max_replicas
            ),
        ));
    }
    for (name, old, new) in [("minimum", min, new_min), ("maximum", max, new_max)] {
        let ceiling = (f64::from(old.max(1)) * config.max_scale_factor).floor() as i32;
        if new > ceiling {
            return Err(ActionError::refused(
                guards::REPLICA_BOUND,
                format!(
                    "raising the {name} of {what} from {old} to {new} is more than {}x in one step (at most {ceiling})",
                    config.max_scale_factor
                ),
            ));
        }
    }
    if (new_min, new_max) == (min, max) {
        return Err(ActionError::refused(
            guards::NO_CHANGE,
            format!("{what} already has min {min}, max {max}"),
        ));
    }
    Ok(())
}

/// PURE: the autoscaler records the bounds and, when it reports replicas, they are within them.
pub fn bounds_look(hpa: Option<&Value>, (min, max): (i64, i64)) -> Look {
    let Some(hpa) = hpa else {
        return Look::Waiting("the HorizontalPodAutoscaler is gone".into());
    };
    let have = (
        int_at(hpa, "/spec/minReplicas").unwrap_or(1),
        int_at(hpa, "/spec/maxReplicas").unwrap_or(0),
    );
    if have != (min, max) {
        return Look::Waiting(format!(
            "bounds are min {}, max {}; waiting for min {min}, max {max}",
            have.0, have.1
        ));
    }
    match int_at(hpa, "/status/currentReplicas") {
        Some(n) if n < min || n > max => Look::Waiting(format!(
            "bounds min {min}, max {max} recorded; the autoscaler still has {n} replicas"
        )),
        Some(n) => Look::Healthy(format!(
            "bounds min {min}, max {max} recorded; {n} replicas, within them"
        )),
        None => Look::Healthy(format!(
            "bounds min {min}, max {max} recorded; the autoscaler reports no replicas yet"
        )),
    }
}

/// The HorizontalPodAutoscaler that scales `target`, described (`HorizontalPodAutoscaler
/// shop/cart (min 2, max 6)`). Uses the discovered version, else autoscaling/v1, which every
/// server has and which carries the same `scaleTargetRef`.
pub async fn autoscaler_of(ctx: &ActionContext, target: &ObjectRef) -> Result<Option<String>> {
    let ar = ctx
        .served
        .horizontal_pod_autoscalers
        .clone()
        .unwrap_or_else(|| ApiResource {
            group: "autoscaling".into(),
            version: "v1".into(),
            api_version: "autoscaling/v1".into(),
            kind: "HorizontalPodAutoscaler".into(),
            plural: "horizontalpodautoscalers".into(),
        });
    let ns = target.namespace.as_deref().unwrap_or("default");
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), ns, &ar);
    let list = api
        .list(&ListParams::default())
        .await
        .map_err(|e| ActionError::kube("list", format!("HorizontalPodAutoscalers in {ns}"), e))?;
    for hpa in list.items {
        let v = to_json(hpa)?;
        let r = &v["spec"]["scaleTargetRef"];
        if r["kind"] == target.kind.as_str() && r["name"] == target.name.as_str() {
            let (min, max) = bounds_of(&v);
            return Ok(Some(format!(
                "HorizontalPodAutoscaler {ns}/{} (min {min}, max {max})",
                v["metadata"]["name"].as_str().unwrap_or("")
            )));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_checked_against_the_config() {
        let c = ActionsConfig::default();
        let g = |old, new| check_bounds(&c, "hpa", old, new).map_err(|e| e.guard());
        assert_eq!(g((2, 6), (2, 8)), Ok(()));
        assert_eq!(g((2, 6), (0, 6)), Err(Some(guards::SCALE_TO_ZERO)));
        assert_eq!(g((2, 6), (7, 6)), Err(Some(HPA_BOUNDS)));
        assert_eq!(g((2, 40), (2, 51)), Err(Some(guards::REPLICA_BOUND)));
        assert_eq!(g((2, 6), (2, 19)), Err(Some(guards::REPLICA_BOUND)));
        assert_eq!(g((2, 6), (2, 6)), Err(Some(guards::NO_CHANGE)));
        let why = check_bounds(&c, "h", (2, 6), (2, 19))
            .unwrap_err()
            .to_string();
        assert!(
            why.contains("maximum of h from 6 to 19 is more than 3x"),
            "{why}"
        );
    }

    #[test]
    fn the_new_bounds_must_be_recorded_and_respected() {
        let hpa = |min: i64, max: i64, current: Option<i64>| {
            let mut v = json!({"spec": {"minReplicas": min, "maxReplicas": max}});
            if let Some(n) = current {
                v["status"] = json!({"currentReplicas": n});
            }
            v
        };
        assert!(matches!(
            bounds_look(Some(&hpa(2, 6, Some(2))), (2, 8)),
            Look::Waiting(_)
        ));
        assert_eq!(
            bounds_look(Some(&hpa(3, 8, Some(2))), (3, 8)),
            Look::Waiting(
                "bounds min 3, max 8 recorded; the autoscaler still has 2 replicas".into()
            )
        );
        assert!(matches!(
            bounds_look(Some(&hpa(3, 8, Some(3))), (3, 8)),
            Look::Healthy(_)
        ));
        assert!(matches!(
            bounds_look(Some(&hpa(3, 8, None)), (3, 8)),
            Look::Healthy(_)
        ));
        assert!(matches!(bounds_look(None, (3, 8)), Look::Waiting(_)));
    }
}
