//! `node.drain`: cordon a node, then evict its pods through the Eviction API — never a direct
//! delete — as `kubectl drain --ignore-daemonsets` does ([`super::pods_on_node`] decides which).
//!
//! The plan dry-runs the cordon and every eviction: a PodDisruptionBudget that allows no
//! disruption now refuses the plan with the budget's reason. Execution makes one pass of
//! evictions; those the API server refuses (429, a budget: their replacements must become
//! Ready first) are retried with back-off during verification, until the verify deadline.
//! Verification wants the node empty of evictable pods and every evicted pod's replacement
//! Ready elsewhere; on timeout it reports each pod it could not evict and why. Rollback
//! uncordons the node (the evicted pods stay where their controllers put them).

use std::collections::BTreeMap;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::info;

use super::evict::{self, Evicted};
use super::placement;
use super::pods_on_node::{self, Disposition, OnNode};
use super::{Params, cordon_patch, cordoned, target};
use crate::actions::action::Action;
use crate::actions::context::{self, ActionContext};
use crate::actions::diff;
use crate::actions::error::{ActionError, Result};
use crate::actions::guards;
use crate::actions::plan::{Change, Execution, PatchType, Plan, Snapshot, Verification};
use crate::actions::pods;
use crate::actions::spec::{ActionSpec, Risk, parse_params, schema_for};

/// No other node could take an evicted pod (none Ready and schedulable, or none its node
/// selector, required affinity and tolerations allow).
pub const NO_OTHER_NODE: &str = "no_other_node";

const ATTEMPTS: usize = 4;

pub static SPEC: ActionSpec = ActionSpec {
    name: "node.drain",
    summary: "Drain a node: cordon it, then evict its pods (not DaemonSet or static pods) \
              through the Eviction API, respecting PodDisruptionBudgets; rollback uncordons.",
    risk: Risk::High,
    kinds: &["Node"],
    reversible: true,
    params_schema: schema_for::<Params>,
};

/// What a drain plan carries out: the node and its pods as planned.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DrainPlan {
    pub node: String,
    /// The Eviction apiVersion found at planning (`policy/v1beta1`).
    pub eviction: String,
    pub pods: Vec<OnNode>,
}

/// What a drain did, for verification: the pods it evicts, those refused so far and why, and
/// the uids of the pods that existed before (a replacement is a pod not among them).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DrainRun {
    pub node: String,
    pub eviction: String,
    pub evicting: Vec<OnNode>,
    /// Pod key (`ns/name`) -> why it was not evicted yet.
    pub blocked: BTreeMap<String, String>,
    pub before: Vec<String>,
}

pub struct Drain;

fn drain_plan(plan: &Plan) -> Result<DrainPlan> {
    match &plan.change {
        Change::Custom { data } => serde_json::from_value(data.clone())
            .map_err(|e| ActionError::BadPlan(format!("drain plan: {e}"))),
        _ => Err(ActionError::BadPlan(format!(
            "{} expects a drain",
            plan.action
        ))),
    }
}

/// The pods to evict, in the order listed.
fn evictable(pods: &[OnNode]) -> Vec<&OnNode> {
    pods.iter()
        .filter(|p| p.disposition == Disposition::Evict)
        .collect()
}

#[async_trait]
impl Action for Drain {
    fn spec(&self) -> &'static ActionSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &ActionContext, params: &Value) -> Result<Plan> {
        let p: Params = parse_params(SPEC.name, params)?;
        let target = target(&p.name);
        let live = ctx.fetch_target(&target).await?;
        let eviction = evict::api_version(ctx).await?;
        let protected = &ctx.config.protected_namespaces;
        let raw = pods_on_node::list(ctx, &p.name).await?;
        let pods: Vec<OnNode> = raw
            .iter()
            .map(|pod| pods_on_node::classify(pod, protected))
            .collect();
        let unmanaged: Vec<String> = pods
            .iter()
            .filter(|p| p.disposition == Disposition::Unmanaged)
            .map(OnNode::key)
            .collect();
        if !unmanaged.is_empty() {
            return Err(ActionError::refused(
                guards::TARGET,
                format!(
                    "pods on {target} have no controller and would not come back once evicted: {}",
                    unmanaged.join(", ")
                ),
            ));
        }
        let to_evict = evictable(&pods);
        let was_cordoned = cordoned(&live);
        if to_evict.is_empty() && was_cordoned {
            return Err(ActionError::refused(
                guards::NO_CHANGE,
                format!("{target} is cordoned and has no pods to evict"),
            ));
        }
        if !to_evict.is_empty() {
            let nodes = Api::<Node>::all(ctx.client.clone())
                .list(&ListParams::default())
                .await
                .map_err(|e| ActionError::kube("list", "Nodes", e))?
                .items;
            let evicted: Vec<&Pod> = raw
                .iter()
                .filter(|pod| to_evict.iter().any(|e| e.uid == pods::uid(pod)))
                .collect();
            let homeless = placement::homeless(&evicted, &nodes, &p.name);
            if !homeless.is_empty() {
                let list: Vec<String> = homeless
                    .iter()
                    .map(|(pod, why)| format!("{pod} ({why})"))
                    .collect();
                return Err(ActionError::refused(
                    NO_OTHER_NODE,
                    format!(
                        "no other node could take these pods of {target}: {}",
                        list.join("; ")
                    ),
                ));
            }
        }
        if !was_cordoned {
            let after = ctx
                .patch(&target, PatchType::Merge, &cordon_patch(true), None, true)
                .await?;
            if !cordoned(&after) {
                return Err(ActionError::BadPlan(format!(
                    "the server's dry-run did not cordon {target}"
                )));
            }
        }
        let mut blocked = Vec::new();
        for pod in &to_evict {
            if let Evicted::Blocked(why) = evict::evict(ctx, &eviction, pod, true).await? {
                blocked.push(format!("{}: {why}", pod.key()));
            }
        }
        if !blocked.is_empty() {
            return Err(ActionError::refused(
                guards::DISRUPTION_BUDGET,
                format!(
                    "evicting from {target} would break a PodDisruptionBudget now: {}",
                    blocked.join("; ")
                ),
            ));
        }
        let before: Vec<&OnNode> = pods.iter().collect();
        let after: Vec<&OnNode> = pods.iter().filter(|p| p.disposition.stays()).collect();
        let diff = diff::unified(
            &pods_on_node::describe(was_cordoned, &before),
            &pods_on_node::describe(true, &after),
            &format!("{target} (live)"),
            &format!("{target} (after drain, server dry-run)"),
        );
        let summary = pods_on_node::summary(&target.to_string(), &pods, was_cordoned);
        Ok(Plan {
            action: SPEC.name.to_string(),
            params: params.clone(),
            target: target.clone(),
            uid: context::uid(&live).to_string(),
            resource_version: context::resource_version(&live).to_string(),
            snapshot: Snapshot::take(&live, &["/spec/unschedulable"]),
            change: Change::Custom {
                data: serde_json::to_value(DrainPlan {
                    node: p.name.clone(),
                    eviction,
                    pods,
                })
                .map_err(|e| ActionError::BadPlan(format!("drain plan: {e}")))?,
            },
            diff,
            summary,
            risk: SPEC.risk,
            created_at: ctx.clock.now(),
        })
    }

    async fn execute(&self, ctx: &ActionContext, plan: &Plan) -> Result<Execution> {
        let data = drain_plan(plan)?;
        let target = &plan.target;
        let live = ctx
            .get_opt(target)
            .await?
            .ok_or_else(|| ActionError::stale(format!("{target} no longer exists")))?;
        if context::uid(&live) != plan.uid {
            return Err(ActionError::stale(format!(
                "{target} was re-created since the plan"
            )));
        }
        if let Some(pointer) = plan.snapshot.first_difference(&live) {
            return Err(ActionError::stale(format!(
                "{target} changed at {pointer} since the plan"
            )));
        }
        let planned: Vec<&str> = data.pods.iter().map(|p| p.uid.as_str()).collect();
        let now: Vec<OnNode> = pods_on_node::list(ctx, &data.node)
            .await?
            .iter()
            .map(|pod| pods_on_node::classify(pod, &ctx.config.protected_namespaces))
            .collect();
        let arrived: Vec<String> = now
            .iter()
            .filter(|p| matches!(p.disposition, Disposition::Evict | Disposition::Unmanaged))
            .filter(|p| !planned.contains(&p.uid.as_str()))
            .map(OnNode::key)
            .collect();
        if !arrived.is_empty() {
            return Err(ActionError::stale(format!(
                "pods arrived on {target} since the plan: {}",
                arrived.join(", ")
            )));
        }
        let rv = cordon(ctx, target, &live).await?;
        let mut run = DrainRun {
            node: data.node.clone(),
            eviction: data.eviction.clone(),
            before: now.iter().map(|p| p.uid.clone()).collect(),
            ..DrainRun::default()
        };
        for pod in evictable(&data.pods) {
            let Some(current) = now.iter().find(|p| p.uid == pod.uid) else {
                continue;
            };
            if current.disposition == Disposition::Terminating {
                run.evicting.push(pod.clone());
                continue;
            }
            match evict::evict(ctx, &data.eviction, pod, false).await? {
                Evicted::Done => run.evicting.push(pod.clone()),
                Evicted::Gone => {}
                Evicted::Blocked(why) => {
                    run.blocked.insert(pod.key(), why);
                    run.evicting.push(pod.clone());
                }
            }
        }
        info!(node = %data.node, evicting = run.evicting.len(), blocked = run.blocked.len(), "drain executed");
        Ok(Execution {
            executed_at: ctx.clock.now(),
            resource_version: rv,
            generation: None,
            details: serde_json::to_value(&run)
                .map_err(|e| ActionError::BadPlan(format!("drain run: {e}")))?,
        })
    }

    async fn landed(&self, ctx: &ActionContext, plan: &Plan) -> Result<bool> {
        let data = drain_plan(plan)?;
        let Some(live) = ctx.get_opt(&plan.target).await? else {
            return Ok(false);
        };
        if context::uid(&live) != plan.uid || !cordoned(&live) {
            return Ok(false);
        }
        let planned: Vec<&str> = evictable(&data.pods)
            .iter()
            .map(|p| p.uid.as_str())
            .collect();
        let left = pods_on_node::list(ctx, &data.node)
            .await?
            .iter()
            .map(|pod| pods_on_node::classify(pod, &ctx.config.protected_namespaces))
            .any(|p| p.disposition == Disposition::Evict && planned.contains(&p.uid.as_str()));
        Ok(!left)
    }

    async fn verify(
        &self,
        ctx: &ActionContext,
        _plan: &Plan,
        execution: &Execution,
    ) -> Result<Verification> {
        let run: DrainRun = serde_json::from_value(execution.details.clone())
            .map_err(|e| ActionError::BadPlan(format!("execution details: {e}")))?;
        super::watch::verify_drain(ctx, run).await
    }

    async fn rollback(&self, ctx: &ActionContext, plan: &Plan) -> Result<()> {
        uncordon_to_snapshot(ctx, plan).await
    }
}

/// Cordons the node unless it already is; returns its resourceVersion afterwards.
async fn cordon(
    ctx: &ActionContext,
    target: &crate::detect::ObjectRef,
    live: &Value,
) -> Result<String> {
    let mut live = live.clone();
    for _ in 0..ATTEMPTS {
        if cordoned(&live) {
            return Ok(context::resource_version(&live).to_string());
        }
        let rv = context::resource_version(&live).to_string();
        match ctx
            .patch(
                target,
                PatchType::Merge,
                &cordon_patch(true),
                Some(&rv),
                false,
            )
            .await
        {
            // A heartbeat moved the node's resourceVersion: read it again.
            Err(e) if e.is_conflict() => live = ctx.get(target).await?,
            Err(e) => return Err(e),
            Ok(done) => return Ok(context::resource_version(&done).to_string()),
        }
    }
    Err(ActionError::stale(format!(
        "{target} kept changing while cordoning"
    )))
}

/// Writes the snapshotted `spec.unschedulable` back (dry-run first): uncordons a node the
/// drain cordoned, leaves one that was cordoned before.
async fn uncordon_to_snapshot(ctx: &ActionContext, plan: &Plan) -> Result<()> {
    let target = &plan.target;
    let fields: Vec<(String, Option<Value>)> = plan
        .snapshot
        .fields
        .iter()
        .map(|f| (f.pointer.clone(), f.value.clone()))
        .collect();
    'attempts: for _ in 0..ATTEMPTS {
        let live = ctx.get(target).await?;
        if context::uid(&live) != plan.uid {
            return Err(ActionError::stale(format!(
                "{target} was re-created since the plan"
            )));
        }
        let Some(patch) = diff::restore_patch(&live, &fields) else {
            return Ok(());
        };
        let rv = context::resource_version(&live).to_string();
        for dry_run in [true, false] {
            match ctx
                .patch(target, PatchType::Merge, &patch, Some(&rv), dry_run)
                .await
            {
                Err(e) if e.is_conflict() => continue 'attempts,
                Err(e) => return Err(e),
                Ok(_) => {}
            }
        }
        info!(action = %plan.action, %target, "uncordoned to the snapshot");
        return Ok(());
    }
    Err(ActionError::stale(format!(
        "{target} kept changing while rolling back"
    )))
}
