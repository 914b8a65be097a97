//! `pvc.resize`: raise a PersistentVolumeClaim's storage request. Volumes only grow: a smaller
//! size is refused, and so is the rollback (Kubernetes rejects lowering the request). Only
//! bound claims whose StorageClass sets `allowVolumeExpansion` can grow.
//!
//! Verification follows what the API server records: the new request in the spec, then the
//! resizer's progress in `status` — `Resizing`, `FileSystemResizePending` (the volume grew; the
//! file system grows when a pod mounts it) or `status.capacity` reaching the new size.

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
use super::quantity::Resource;
use super::registry::Registry;
use super::spec::{ActionSpec, Risk, parse_params, schema_for};
use super::verify::{self, Look};
use super::watch_object::watch_one;
use crate::detect::ObjectRef;

/// The claim would shrink (or the class cannot grow it).
pub const VOLUME_GROWTH: &str = "volume_growth";

/// Why a resize cannot be undone.
pub const CANNOT_SHRINK: &str =
    "a volume cannot shrink: Kubernetes rejects lowering a PersistentVolumeClaim's storage request";

pub static RESIZE: ActionSpec = ActionSpec {
    name: "pvc.resize",
    summary: "Grow a PersistentVolumeClaim's storage request (only growing, only where its \
              StorageClass allows expansion; cannot be undone).",
    risk: Risk::Medium,
    kinds: &["PersistentVolumeClaim"],
    reversible: false,
    params_schema: schema_for::<Params>,
};

/// Registers `pvc.resize`.
pub fn register(registry: &mut Registry) {
    registry.register(Resize);
}

/// Parameters of `pvc.resize`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Namespace of the claim.
    pub namespace: String,
    /// Name of the PersistentVolumeClaim.
    pub name: String,
    /// The new size, larger than the current request (`20Gi`).
    pub storage: String,
}

pub struct Resize;

#[async_trait]
impl Action for Resize {
    fn spec(&self) -> &'static ActionSpec {
        &RESIZE
    }

    async fn plan(&self, ctx: &ActionContext, params: &Value) -> Result<Plan> {
        let p: Params = parse_params(RESIZE.name, params)?;
        let wanted = Resource::Memory.parse(&p.storage).ok_or_else(|| {
            ActionError::invalid(
                RESIZE.name,
                format!("storage: {:?} is not a quantity", p.storage),
            )
        })?;
        let target = ObjectRef::namespaced("PersistentVolumeClaim", &p.namespace, &p.name);
        let live = ctx.fetch_target(&target).await?;
        let current = requested(&live).unwrap_or(0);
        let class = live
            .pointer("/spec/storageClassName")
            .and_then(Value::as_str);
        let expandable = match class {
            Some(c) if !c.is_empty() => {
                let sc = ctx
                    .get_opt(&ObjectRef::cluster_scoped("StorageClass", c))
                    .await?;
                Some((
                    c.to_string(),
                    sc.is_some_and(|s| s["allowVolumeExpansion"] == true),
                ))
            }
            _ => None,
        };
        let phase = live
            .pointer("/status/phase")
            .and_then(Value::as_str)
            .unwrap_or("Pending");
        check_growth(
            &target.to_string(),
            phase,
            expandable.as_ref(),
            (current, wanted),
            ctx.config.max_storage_factor,
        )?;
        let proposal = PatchProposal {
            patch_type: PatchType::Merge,
            patch: json!({"spec": {"resources": {"requests": {"storage": p.storage}}}}),
            pointers: &["/spec/resources/requests/storage"],
            summary: format!(
                "grow {target} from {} to {} (cannot be undone: volumes only grow)",
                Resource::Memory.format(current),
                p.storage
            ),
        };
        plan_patch(ctx, &RESIZE, params, &target, &live, proposal).await
    }

    async fn verify(
        &self,
        ctx: &ActionContext,
        plan: &Plan,
        _execution: &Execution,
    ) -> Result<Verification> {
        let p: Params = parse_params(RESIZE.name, &plan.params)?;
        let wanted = Resource::Memory.parse(&p.storage).unwrap_or(i64::MAX);
        let (latest, changes) = watch_one(ctx, &plan.target)?;
        verify::until_healthy(ctx, changes, move || {
            resize_look(latest.get().as_ref(), wanted)
        })
        .await
    }

    async fn rollback(&self, _ctx: &ActionContext, plan: &Plan) -> Result<()> {
        Err(ActionError::NotReversible {
            action: plan.action.clone(),
            reason: CANNOT_SHRINK.into(),
        })
    }
}

fn requested(pvc: &Value) -> Option<i64> {
    pvc.pointer("/spec/resources/requests/storage")
        .and_then(Value::as_str)
        .and_then(|q| Resource::Memory.parse(q))
}

fn capacity(pvc: &Value) -> Option<i64> {
    pvc.pointer("/status/capacity/storage")
        .and_then(Value::as_str)
        .and_then(|q| Resource::Memory.parse(q))
}

/// PURE: the claim may grow from `current` to `wanted` bytes, by at most `max_factor`. `class`
/// is the StorageClass's name and whether it allows expansion (`None`: the claim names no class).
pub fn check_growth(
    what: &str,
    phase: &str,
    class: Option<&(String, bool)>,
    (current, wanted): (i64, i64),
    max_factor: f64,
) -> Result<()> {
    let fmt = |b| Resource::Memory.format(b);
    if wanted < current {
        return Err(ActionError::refused(
            VOLUME_GROWTH,
            format!(
                "{what} requests {}; {} would shrink it, and volumes only grow",
                fmt(current),
                fmt(wanted)
            ),
        ));
    }
    if wanted == current {
        return Err(ActionError::refused(
            guards::NO_CHANGE,
            format!("{what} already requests {}", fmt(current)),
        ));
    }
    if current > 0 && wanted as f64 / current as f64 > max_factor {
        return Err(ActionError::refused(
            guards::RESOURCE_FACTOR,
            format!(
                "{what} would grow from {} to {}, more than {max_factor} times, and a volume cannot shrink back",
                fmt(current),
                fmt(wanted)
            ),
        ));
    }
    match class {
        None => {
            return Err(ActionError::refused(
                VOLUME_GROWTH,
                format!("{what} names no StorageClass, so nothing can expand its volume"),
            ));
        }
        Some((name, false)) => {
            return Err(ActionError::refused(
                VOLUME_GROWTH,
                format!(
                    "StorageClass {name} of {what} does not allow volume expansion (allowVolumeExpansion is not true)"
                ),
            ));
        }
        Some(_) => {}
    }
    if phase != "Bound" {
        return Err(ActionError::refused(
            guards::TARGET,
            format!("{what} is {phase}; only a bound claim can grow"),
        ));
    }
    Ok(())
}

/// PURE: how far the resize got, as the API server records it.
pub fn resize_look(pvc: Option<&Value>, wanted: i64) -> Look {
    let Some(pvc) = pvc else {
        return Look::Waiting("the PersistentVolumeClaim is gone".into());
    };
    let fmt = |b| Resource::Memory.format(b);
    if requested(pvc).is_none_or(|r| r < wanted) {
        return Look::Waiting(format!(
            "the request of {} is not recorded yet",
            fmt(wanted)
        ));
    }
    let have = capacity(pvc).unwrap_or(0);
    if have >= wanted {
        return Look::Healthy(format!("capacity is {}", fmt(have)));
    }
    let condition = |t: &str| {
        pvc.pointer("/status/conditions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|c| c["type"] == t && c["status"] == "True")
    };
    if condition("FileSystemResizePending") {
        return Look::Healthy(format!(
            "the volume grew to {}; its file system grows when a pod next mounts it",
            fmt(wanted)
        ));
    }
    if condition("Resizing") {
        return Look::Waiting(format!(
            "the resizer is growing the volume to {}",
            fmt(wanted)
        ));
    }
    Look::Waiting(format!(
        "{} requested, capacity still {}: no volume resizer has acted yet",
        fmt(wanted),
        fmt(have)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GI: i64 = 1 << 30;

    #[test]
    fn claims_only_grow_where_their_class_allows() {
        let ok = ("fast".to_string(), true);
        let fixed = ("slow".to_string(), false);
        let g = |class, phase, new| {
            check_growth("pvc", phase, class, (GI, new), 4.0).map_err(|e| e.guard())
        };
        assert_eq!(g(Some(&ok), "Bound", 2 * GI), Ok(()));
        assert_eq!(g(Some(&ok), "Bound", GI / 2), Err(Some(VOLUME_GROWTH)));
        assert_eq!(g(Some(&ok), "Bound", GI), Err(Some(guards::NO_CHANGE)));
        assert_eq!(g(Some(&fixed), "Bound", 2 * GI), Err(Some(VOLUME_GROWTH)));
        assert_eq!(g(None, "Bound", 2 * GI), Err(Some(VOLUME_GROWTH)));
        assert_eq!(g(Some(&ok), "Pending", 2 * GI), Err(Some(guards::TARGET)));
        assert_eq!(g(Some(&ok), "Bound", 4 * GI), Ok(()));
        assert_eq!(
            g(Some(&ok), "Bound", 5 * GI),
            Err(Some(guards::RESOURCE_FACTOR))
        );
        let why = check_growth("pvc", "Bound", Some(&ok), (GI, 20 * GI), 4.0)
            .unwrap_err()
            .to_string();
        assert!(
            why.contains("pvc would grow from 1Gi to 20Gi, more than 4 times"),
            "{why}"
        );
        let why = check_growth("pvc", "Bound", Some(&fixed), (GI, 2 * GI), 4.0)
            .unwrap_err()
            .to_string();
        assert!(
            why.contains("StorageClass slow of pvc does not allow volume expansion"),
            "{why}"
        );
    }

    #[test]
    fn progress_follows_spec_conditions_and_capacity() {
        let pvc = |req: &str, cap: &str, cond: Option<&str>| {
            json!({"spec": {"resources": {"requests": {"storage": req}}},
                   "status": {"capacity": {"storage": cap},
                              "conditions": cond.map(|c| json!([{"type": c, "status": "True"}])).unwrap_or(json!([]))}})
        };
        assert_eq!(
            resize_look(Some(&pvc("2Gi", "1Gi", None)), 2 * GI),
            Look::Waiting(
                "2Gi requested, capacity still 1Gi: no volume resizer has acted yet".into()
            )
        );
        assert!(
            matches!(resize_look(Some(&pvc("1Gi", "1Gi", None)), 2 * GI), Look::Waiting(w) if w.contains("not recorded"))
        );
        assert!(
            matches!(resize_look(Some(&pvc("2Gi", "1Gi", Some("Resizing"))), 2 * GI), Look::Waiting(w) if w.contains("resizer is growing"))
        );
        assert!(matches!(
            resize_look(
                Some(&pvc("2Gi", "1Gi", Some("FileSystemResizePending"))),
                2 * GI
            ),
            Look::Healthy(_)
        ));
        assert_eq!(
            resize_look(Some(&pvc("2Gi", "2Gi", None)), 2 * GI),
            Look::Healthy("capacity is 2Gi".into())
        );
    }
}
