//! "Healthy again" for a Deployment, observed through watches on the Deployment, its
//! ReplicaSets and its pods. After a template change: the controller saw the new generation,
//! every replica is updated and available, no old pod is left, and the new revision's pods are
//! all Ready without a single restart. After a scale: the target count is there and available.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::core::Selector;
use kube::runtime::watcher;

use super::revisions::REVISION;
use crate::actions::context::{ActionContext, typed};
use crate::actions::error::{ActionError, Result};
use crate::actions::plan::{Execution, Verification};
use crate::actions::pods;
use crate::actions::verify::{self, Look};
use crate::detect::ObjectRef;

/// Watches until the rollout started by `execution` completes healthy, or times out.
pub async fn verify_rollout(
    ctx: &ActionContext,
    target: &ObjectRef,
    execution: &Execution,
) -> Result<Verification> {
    let w = Watches::open(ctx, target).await?;
    let generation = execution.generation;
    let (d, r, p) = (w.deployment.clone(), w.sets.clone(), w.pods.clone());
    verify::until_healthy(ctx, w.changes, move || {
        rollout_look(
            verify::items(&d).first(),
            &verify::items(&r),
            &verify::items(&p),
            generation,
        )
    })
    .await
}

/// Watches until the Deployment has `replicas` available, or times out.
pub async fn verify_scale(
    ctx: &ActionContext,
    target: &ObjectRef,
    execution: &Execution,
    replicas: i32,
) -> Result<Verification> {
    let w = Watches::open(ctx, target).await?;
    let generation = execution.generation;
    let d = w.deployment.clone();
    verify::until_healthy(ctx, w.changes, move || {
        scale_look(verify::items(&d).first(), generation, replicas)
    })
    .await
}

struct Watches {
    deployment: kube::runtime::reflector::Store<Deployment>,
    sets: kube::runtime::reflector::Store<ReplicaSet>,
    pods: kube::runtime::reflector::Store<Pod>,
    changes: futures::stream::BoxStream<'static, ()>,
}

impl Watches {
    async fn open(ctx: &ActionContext, target: &ObjectRef) -> Result<Self> {
        let ns = target.namespace.as_deref().unwrap_or("default");
        let d: Deployment = typed(&ctx.get(target).await?, target)?;
        let selector = Selector::try_from(d.spec.selector.clone())
            .map_err(|e| ActionError::BadPlan(format!("{target} selector: {e}")))?
            .to_string();
        let c = &ctx.client;
        let (deployment, s1) = verify::watch(
            Api::<Deployment>::namespaced(c.clone(), ns),
            watcher::Config::default().fields(&format!("metadata.name={}", target.name)),
        );
        let (sets, s2) = verify::watch(
            Api::<ReplicaSet>::namespaced(c.clone(), ns),
            watcher::Config::default().labels(&selector),
        );
        let (pods, s3) = verify::watch(
            Api::<Pod>::namespaced(c.clone(), ns),
            watcher::Config::default().labels(&selector),
        );
        Ok(Self {
            deployment,
            sets,
            pods,
            changes: verify::merged(vec![s1, s2, s3]),
        })
    }
}

/// The controller has seen the generation the change produced.
fn observed(d: &Deployment, generation: Option<i64>) -> std::result::Result<(), String> {
    let seen = d
        .status
        .as_ref()
        .and_then(|s| s.observed_generation)
        .unwrap_or(0);
    match generation {
        Some(g) if seen < g => Err(format!(
            "the controller has not seen generation {g} yet (at {seen})"
        )),
        _ => Ok(()),
    }
}

/// PURE: is the rollout done and healthy?
pub fn rollout_look(
    d: Option<&Deployment>,
    sets: &[ReplicaSet],
    all_pods: &[Pod],
    generation: Option<i64>,
) -> Look {
    let Some(d) = d else {
        return Look::Waiting("the Deployment is gone".into());
    };
    if let Err(why) = observed(d, generation) {
        return Look::Waiting(why);
    }
    let want = d.spec.replicas.unwrap_or(1);
    let s = d.status.clone().unwrap_or_default();
    let (total, updated, available) = (
        s.replicas.unwrap_or(0),
        s.updated_replicas.unwrap_or(0),
        s.available_replicas.unwrap_or(0),
    );
    if updated != want || available != want || total != want {
        return Look::Waiting(format!(
            "rolling out: {updated}/{want} updated, {available}/{want} available, {total} in total"
        ));
    }
    let revision = d
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(REVISION));
    let uid = d.metadata.uid.as_deref();
    let current = sets.iter().find(|rs| {
        rs.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(REVISION))
            == revision
            && rs
                .metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| Some(o.uid.as_str()) == uid)
    });
    let Some(hash) = current
        .and_then(|rs| rs.metadata.labels.as_ref())
        .and_then(|l| l.get("pod-template-hash"))
    else {
        return Look::Waiting("the new ReplicaSet is not visible yet".into());
    };
    let new: Vec<&Pod> = all_pods
        .iter()
        .filter(|p| !pods::is_terminating(p))
        .filter(|p| {
            p.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("pod-template-hash"))
                == Some(hash)
        })
        .collect();
    let ready = new.iter().filter(|p| pods::is_ready(p)).count();
    if let Some(bad) = new.iter().find(|p| pods::restarts(p) > 0) {
        return Look::Waiting(format!("new pod {}", pods::describe(bad)));
    }
    if new.len() < want as usize || ready < new.len() {
        return Look::Waiting(format!("{ready}/{want} new pods ready"));
    }
    let rev = revision.map(String::as_str).unwrap_or("?");
    Look::Healthy(format!(
        "{want}/{want} pods of revision {rev} ready, no restarts"
    ))
}

/// PURE: has the scale arrived?
pub fn scale_look(d: Option<&Deployment>, generation: Option<i64>, replicas: i32) -> Look {
    let Some(d) = d else {
        return Look::Waiting("the Deployment is gone".into());
    };
    if let Err(why) = observed(d, generation) {
        return Look::Waiting(why);
    }
    let s = d.status.clone().unwrap_or_default();
    let (total, available) = (s.replicas.unwrap_or(0), s.available_replicas.unwrap_or(0));
    if total != replicas || available < replicas {
        return Look::Waiting(format!(
            "{available}/{replicas} available, {total} in total"
        ));
    }
    Look::Healthy(format!("{replicas}/{replicas} replicas available"))
}

#[cfg(test)]
mod tests;
