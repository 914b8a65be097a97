//! Deployment actions: scale, rollout restart, roll back to an earlier revision, adjust a
//! container's resources, delete one pod. Each is a patch of the Deployment (except the pod
//! delete, see [`super::pod`]); the rollout they start is verified by watching the Deployment,
//! its ReplicaSets and its pods ([`rollout`]).

mod resources;
mod restart;
mod revisions;
mod rollback;
pub mod rollout;
mod scale;

use k8s_openapi::api::apps::v1::Deployment;
use serde_json::Value;

use super::change::{PatchProposal, plan_patch};
use super::context::{ActionContext, typed};
use super::error::{ActionError, Result};
use super::guards;
use super::plan::Plan;
use super::registry::Registry;
use super::spec::ActionSpec;
use crate::detect::ObjectRef;

pub use resources::AdjustResources;
pub use restart::Restart;
pub use rollback::Rollback;
pub use scale::Scale;

/// Registers the Deployment family (its pod delete lives with the pod actions).
pub fn register(registry: &mut Registry) {
    registry.register(Scale);
    registry.register(Restart);
    registry.register(Rollback);
    registry.register(AdjustResources);
}

/// The JSON pointers a template change touches and rollback restores.
pub(crate) const TEMPLATE: &[&str] = &["/spec/template"];

pub(crate) fn target(namespace: &str, name: &str) -> ObjectRef {
    ObjectRef::namespaced("Deployment", namespace, name)
}

/// Reads the Deployment for planning: namespace allowed, it exists.
pub(crate) async fn fetch(ctx: &ActionContext, target: &ObjectRef) -> Result<(Value, Deployment)> {
    let live = ctx.fetch_target(target).await?;
    let deployment = typed(&live, target)?;
    Ok((live, deployment))
}

/// The usual plan of a Deployment patch: read it, let `propose` decide (and guard), dry-run.
pub(crate) async fn plan_with(
    ctx: &ActionContext,
    spec: &'static ActionSpec,
    params: &Value,
    target: &ObjectRef,
    propose: impl FnOnce(&Deployment) -> Result<PatchProposal>,
) -> Result<Plan> {
    let (live, deployment) = fetch(ctx, target).await?;
    let proposal = propose(&deployment)?;
    plan_patch(ctx, spec, params, target, &live, proposal).await
}

/// A paused Deployment does not roll out: a template change would only wait.
pub(crate) fn not_paused(d: &Deployment, target: &ObjectRef) -> Result<()> {
    if d.spec.paused == Some(true) {
        return Err(ActionError::refused(
            guards::PAUSED,
            format!("{target} is paused, so a template change would not roll out; resume it first"),
        ));
    }
    Ok(())
}

/// Images of the template's containers, for summaries: `app=shop/web:1.4`.
pub(crate) fn images(template: &k8s_openapi::api::core::v1::PodTemplateSpec) -> String {
    template
        .spec
        .iter()
        .flat_map(|s| s.containers.iter())
        .map(|c| format!("{}={}", c.name, c.image.as_deref().unwrap_or("?")))
        .collect::<Vec<_>>()
        .join(", ")
}
