//! Carrying out a [`Change`] the same way for every action: plan with a server-side dry-run and
//! a diff; execute only while the object still matches the snapshot and the dry-run still gives
//! the approved diff, with the object's resourceVersion as a precondition; tell whether a change
//! already landed; restore a snapshot exactly.
//!
//! A Deployment's resourceVersion moves with every status update, so a precondition failure
//! (409) is retried from a fresh read, a few times: only a change to what was approved voids
//! the approval, not a controller bumping status.

use kube::api::{DeleteParams, PostParams, Preconditions};
use serde_json::Value;
use tracing::{debug, info};

use super::context::{self, ActionContext};
use super::diff;
use super::error::{ActionError, Result, status_code};
use super::plan::{Change, Execution, PatchType, Plan, Snapshot};
use super::spec::ActionSpec;
use crate::detect::ObjectRef;

/// How often a write is retried after a resourceVersion conflict before giving up.
const CONFLICT_ATTEMPTS: usize = 4;

/// What an action decided to patch, before the dry-run.
#[derive(Debug, Clone)]
pub struct PatchProposal {
    pub patch_type: PatchType,
    pub patch: Value,
    /// The fields the patch touches, restored by rollback and shown in the diff.
    pub pointers: &'static [&'static str],
    pub summary: String,
}

/// Dry-runs a patch against the live object and returns the plan. `live` is the object the
/// proposal was computed from; the dry-run carries its resourceVersion, so the diff is exactly
/// what the patch does to it (after a status-only conflict, to a fresh read whose snapshotted
/// fields are the same).
pub async fn plan_patch(
    ctx: &ActionContext,
    spec: &'static ActionSpec,
    params: &Value,
    target: &ObjectRef,
    live: &Value,
    proposal: PatchProposal,
) -> Result<Plan> {
    let snapshot = Snapshot::take(live, proposal.pointers);
    let mut live = live.clone();
    let mut attempt = 1;
    let after = loop {
        let rv = context::resource_version(&live).to_string();
        match ctx
            .patch(
                target,
                proposal.patch_type,
                &proposal.patch,
                Some(&rv),
                true,
            )
            .await
        {
            // Only status moved (a controller at work): dry-run again against the fresh object,
            // as long as what the proposal was computed from is unchanged.
            Err(e) if e.is_conflict() && attempt < CONFLICT_ATTEMPTS => {
                attempt += 1;
                live = ctx.get(target).await?;
                if let Some(pointer) = snapshot.first_difference(&live) {
                    return Err(ActionError::stale(format!(
                        "{target} changed at {pointer} while planning; plan again"
                    )));
                }
            }
            Err(e) if e.is_conflict() => {
                return Err(ActionError::stale(format!(
                    "{target} kept changing while planning; plan again"
                )));
            }
            other => break other?,
        }
    };
    let diff = diff::object_diff(&live, &after, proposal.pointers, &target.to_string());
    if diff.is_empty() {
        return Err(ActionError::refused(
            super::guards::NO_CHANGE,
            format!(
                "the server reports no change to {target}: {}",
                proposal.summary
            ),
        ));
    }
    Ok(Plan {
        action: spec.name.to_string(),
        params: params.clone(),
        target: target.clone(),
        uid: context::uid(&live).to_string(),
        resource_version: context::resource_version(&live).to_string(),
        snapshot,
        change: Change::Patch {
            patch_type: proposal.patch_type,
            patch: proposal.patch,
        },
        diff,
        summary: proposal.summary,
        risk: spec.risk,
        created_at: ctx.clock.now(),
    })
}

/// Executes the plan's change (the default `Action::execute`).
pub async fn execute(ctx: &ActionContext, plan: &Plan) -> Result<Execution> {
    match &plan.change {
        Change::Patch { patch_type, patch } => execute_patch(ctx, plan, *patch_type, patch).await,
        Change::Delete {
            uid,
            grace_period_seconds,
        } => execute_delete(ctx, plan, uid, *grace_period_seconds).await,
        Change::Create { object } => execute_create(ctx, plan, object).await,
        Change::Custom { .. } => Err(ActionError::BadPlan(format!(
            "{} has a custom change but no execute of its own",
            plan.action
        ))),
    }
}

async fn execute_patch(
    ctx: &ActionContext,
    plan: &Plan,
    patch_type: PatchType,
    patch: &Value,
) -> Result<Execution> {
    let target = &plan.target;
    let pointers = plan.snapshot.pointers();
    for attempt in 1..=CONFLICT_ATTEMPTS {
        let live = ctx.get(target).await.map_err(|e| match e {
            ActionError::NotFound { .. } => {
                ActionError::stale(format!("{target} no longer exists"))
            }
            e => e,
        })?;
        same_object(plan, &live)?;
        if let Some(pointer) = plan.snapshot.first_difference(&live) {
            return Err(ActionError::stale(format!(
                "{target} changed at {pointer} since the plan"
            )));
        }
        let rv = context::resource_version(&live).to_string();
        let after = match ctx.patch(target, patch_type, patch, Some(&rv), true).await {
            Err(e) if e.is_conflict() => continue,
            other => other?,
        };
        let now = diff::object_diff(&live, &after, &pointers, &target.to_string());
        if now != plan.diff {
            return Err(ActionError::stale(format!(
                "the dry-run of {} on {target} no longer gives the approved diff",
                plan.action
            )));
        }
        match ctx.patch(target, patch_type, patch, Some(&rv), false).await {
            Err(e) if e.is_conflict() => {
                debug!(%target, attempt, "resourceVersion moved between dry-run and patch; again");
                continue;
            }
            Err(e) => return Err(e),
            Ok(done) => {
                info!(action = %plan.action, %target, "executed");
                return Ok(Execution {
                    executed_at: ctx.clock.now(),
                    resource_version: context::resource_version(&done).to_string(),
                    generation: context::generation(&done),
                    details: Value::Null,
                });
            }
        }
    }
    Err(ActionError::stale(format!(
        "{target} kept changing while executing ({CONFLICT_ATTEMPTS} attempts)"
    )))
}

/// The plan is for this very object, not one re-created under the same name.
fn same_object(plan: &Plan, live: &Value) -> Result<()> {
    if context::uid(live) != plan.uid {
        return Err(ActionError::stale(format!(
            "{} was deleted and re-created since the plan",
            plan.target
        )));
    }
    Ok(())
}

/// Deletes the target if it is still the object planned (uid precondition), after a dry-run.
pub async fn execute_delete(
    ctx: &ActionContext,
    plan: &Plan,
    uid: &str,
    grace_period_seconds: Option<u32>,
) -> Result<Execution> {
    let target = &plan.target;
    let api = ctx.api(&target.kind, target.namespace.as_deref())?;
    let mut dp = DeleteParams {
        grace_period_seconds,
        preconditions: Some(Preconditions {
            uid: Some(uid.to_string()),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    let gone = |e: kube::Error| match status_code(&e) {
        Some(404) => ActionError::stale(format!("{target} no longer exists")),
        Some(409) => ActionError::stale(format!("{target} was re-created since the plan")),
        _ => ActionError::kube("delete", target, e),
    };
    api.delete(&target.name, &dp.clone().dry_run())
        .await
        .map_err(gone)?;
    dp.dry_run = false;
    api.delete(&target.name, &dp).await.map_err(gone)?;
    info!(action = %plan.action, %target, "deleted");
    Ok(Execution {
        executed_at: ctx.clock.now(),
        resource_version: String::new(),
        generation: None,
        details: Value::Null,
    })
}

async fn execute_create(ctx: &ActionContext, plan: &Plan, object: &Value) -> Result<Execution> {
    let (created, api) = created_ref(ctx, plan, object)?;
    let obj: kube::core::DynamicObject = serde_json::from_value(object.clone())
        .map_err(|e| ActionError::BadPlan(format!("object to create: {e}")))?;
    let mut pp = PostParams {
        dry_run: true,
        field_manager: Some(ctx.config.field_manager.clone()),
    };
    let failed = |e: kube::Error| match status_code(&e) {
        Some(409) => ActionError::stale(format!("{created} already exists")),
        _ => ActionError::kube("create", &created, e),
    };
    api.create(&pp, &obj).await.map_err(failed)?;
    pp.dry_run = false;
    let done = context::to_json(api.create(&pp, &obj).await.map_err(failed)?)?;
    info!(action = %plan.action, %created, "created");
    Ok(Execution {
        executed_at: ctx.clock.now(),
        resource_version: context::resource_version(&done).to_string(),
        generation: context::generation(&done),
        details: Value::Null,
    })
}

/// The reference and API of an object a `Create` change makes.
fn created_ref(
    ctx: &ActionContext,
    plan: &Plan,
    object: &Value,
) -> Result<(ObjectRef, kube::Api<kube::core::DynamicObject>)> {
    let kind = object["kind"].as_str().unwrap_or_default();
    let name = object.pointer("/metadata/name").and_then(Value::as_str);
    let Some(name) = name else {
        return Err(ActionError::BadPlan("object to create has no name".into()));
    };
    let created = ObjectRef::new(kind, plan.namespace(), name);
    Ok((created, ctx.api(kind, plan.namespace())?))
}

/// Whether the plan's change is in place (the default `Action::landed`): a patch is landed when
/// applying it again would change nothing; a delete when the planned object is gone or going; a
/// create when the object exists.
pub async fn landed(ctx: &ActionContext, plan: &Plan) -> Result<bool> {
    match &plan.change {
        Change::Patch { patch_type, patch } => {
            let Some(live) = ctx.get_opt(&plan.target).await? else {
                return Ok(false);
            };
            if context::uid(&live) != plan.uid {
                return Ok(false);
            }
            let after = ctx
                .patch(&plan.target, *patch_type, patch, None, true)
                .await?;
            let pointers = plan.snapshot.pointers();
            Ok(diff::project(&live, &pointers) == diff::project(&after, &pointers))
        }
        Change::Delete { uid, .. } => Ok(match ctx.get_opt(&plan.target).await? {
            None => true,
            Some(live) => {
                context::uid(&live) != uid || live.pointer("/metadata/deletionTimestamp").is_some()
            }
        }),
        Change::Create { object } => {
            let (created, _) = created_ref(ctx, plan, object)?;
            Ok(ctx.get_opt(&created).await?.is_some())
        }
        Change::Custom { .. } => Err(ActionError::BadPlan(format!(
            "{} has a custom change but no landed of its own",
            plan.action
        ))),
    }
}

/// Writes the snapshot back (the default `Action::rollback` for patches), dry-run first, with
/// the live resourceVersion as precondition. Nothing to do when it already matches.
pub async fn restore(ctx: &ActionContext, plan: &Plan) -> Result<()> {
    if !matches!(plan.change, Change::Patch { .. }) {
        return Err(ActionError::NotReversible {
            action: plan.action.clone(),
            reason: match plan.change {
                Change::Delete { .. } => {
                    "a deleted object is replaced by its controller, not restored"
                }
                _ => "it has no snapshot to restore",
            }
            .into(),
        });
    }
    let target = &plan.target;
    let fields: Vec<(String, Option<Value>)> = plan
        .snapshot
        .fields
        .iter()
        .map(|f| (f.pointer.clone(), f.value.clone()))
        .collect();
    for _ in 0..CONFLICT_ATTEMPTS {
        let live = ctx.get(target).await?;
        same_object(plan, &live)?;
        let Some(patch) = diff::restore_patch(&live, &fields) else {
            info!(action = %plan.action, %target, "already as in the snapshot");
            return Ok(());
        };
        let rv = context::resource_version(&live).to_string();
        for dry_run in [true, false] {
            match ctx
                .patch(target, PatchType::Merge, &patch, Some(&rv), dry_run)
                .await
            {
                Err(e) if e.is_conflict() => break,
                Err(e) => return Err(e),
                Ok(_) if dry_run => {}
                Ok(_) => {
                    info!(action = %plan.action, %target, "rolled back to the snapshot");
                    return Ok(());
                }
            }
        }
    }
    Err(ActionError::stale(format!(
        "{target} kept changing while rolling back ({CONFLICT_ATTEMPTS} attempts)"
    )))
}
