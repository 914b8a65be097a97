//! PURE: the guards. Each takes facts and says yes, or no with a reason a person can act on.
//! Guard names are stable (metrics, audit, tests); the reason text is for people and the model.

use super::config::ActionsConfig;
use super::error::{ActionError, Result};
use super::quantity::Resource;

pub const PROTECTED_NAMESPACE: &str = "protected_namespace";
pub const SCALE_TO_ZERO: &str = "scale_to_zero";
pub const REPLICA_BOUND: &str = "replica_bound";
pub const RESOURCE_FACTOR: &str = "resource_factor";
pub const LIMITS_BELOW_REQUESTS: &str = "limits_below_requests";
pub const LAST_POD: &str = "last_pod";
pub const DISRUPTION_BUDGET: &str = "pod_disruption_budget";
/// The target is not what the action expects (wrong kind, not owned by the named workload).
pub const TARGET: &str = "target";
pub const NO_CHANGE: &str = "no_change";
pub const PAUSED: &str = "paused";
pub const AUTOSCALED: &str = "autoscaled";
pub const SECRETS: &str = "secrets";

/// No action in a protected namespace.
pub fn namespace_allowed(config: &ActionsConfig, namespace: Option<&str>) -> Result<()> {
    match namespace {
        Some(ns) if config.protected_namespaces.iter().any(|p| p == ns) => {
            Err(ActionError::refused(
                PROTECTED_NAMESPACE,
                format!("namespace {ns} is protected: Lookout takes no action there"),
            ))
        }
        _ => Ok(()),
    }
}

/// A replica count change: never to zero, never above `max_replicas`, never more than
/// `max_scale_factor` times the current count in one step, and it must change something.
pub fn replicas(config: &ActionsConfig, what: &str, current: i32, wanted: i32) -> Result<()> {
    if wanted < 1 {
        return Err(ActionError::refused(
            SCALE_TO_ZERO,
            format!(
                "scaling {what} to {wanted} would stop it entirely; Lookout never scales to zero"
            ),
        ));
    }
    if wanted > config.max_replicas {
        return Err(ActionError::refused(
            REPLICA_BOUND,
            format!(
                "{wanted} replicas is above the limit of {}",
                config.max_replicas
            ),
        ));
    }
    let ceiling = (f64::from(current.max(1)) * config.max_scale_factor).floor() as i32;
    if wanted > ceiling {
        return Err(ActionError::refused(
            REPLICA_BOUND,
            format!(
                "scaling {what} from {current} to {wanted} is more than {}x in one step (at most {ceiling})",
                config.max_scale_factor
            ),
        ));
    }
    if wanted == current {
        return Err(ActionError::refused(
            NO_CHANGE,
            format!("{what} already has {current} replicas"),
        ));
    }
    Ok(())
}

/// A new request or limit may differ from the value it replaces (or, where there is none, from
/// its counterpart: the request for a limit, the limit for a request) by at most the
/// configured factor, up or down.
pub fn resource_factor(
    config: &ActionsConfig,
    resource: Resource,
    what: &str,
    reference: Option<i64>,
    new: i64,
) -> Result<()> {
    let factor = match resource {
        Resource::Cpu => config.max_cpu_factor,
        Resource::Memory => config.max_memory_factor,
    };
    let Some(old) = reference.filter(|o| *o > 0) else {
        return Ok(());
    };
    if new <= 0 {
        return Err(ActionError::refused(
            RESOURCE_FACTOR,
            format!("{what} cannot be set to {}", resource.format(new)),
        ));
    }
    let ratio = new as f64 / old as f64;
    if ratio > factor || ratio < 1.0 / factor {
        return Err(ActionError::refused(
            RESOURCE_FACTOR,
            format!(
                "{what} from {} to {} is a factor of {:.1}; at most {factor}x up or down is allowed in one step",
                resource.format(old),
                resource.format(new),
                if ratio >= 1.0 { ratio } else { 1.0 / ratio },
            ),
        ));
    }
    Ok(())
}

/// After a change, every limit must be at least its request.
pub fn limit_covers_request(
    resource: Resource,
    container: &str,
    request: Option<i64>,
    limit: Option<i64>,
) -> Result<()> {
    match (request, limit) {
        (Some(r), Some(l)) if l < r => Err(ActionError::refused(
            LIMITS_BELOW_REQUESTS,
            format!(
                "{} limit {} of container {container} would be below its request {}",
                resource.name(),
                resource.format(l),
                resource.format(r)
            ),
        )),
        _ => Ok(()),
    }
}

/// What the last-pod guard needs to know about one pod of a workload.
#[derive(Debug, Clone, PartialEq)]
pub struct PodFacts {
    pub name: String,
    pub ready: bool,
    /// Already being deleted: it does not count as a pod that stays.
    pub terminating: bool,
}

/// Never delete the last pod of a workload, nor its last ready pod.
pub fn not_last_pod(workload: &str, pods: &[PodFacts], target: &str) -> Result<()> {
    let live: Vec<&PodFacts> = pods.iter().filter(|p| !p.terminating).collect();
    let others = live.iter().filter(|p| p.name != target).count();
    if others == 0 {
        return Err(ActionError::refused(
            LAST_POD,
            format!("{target} is the only pod of {workload}; deleting it leaves nothing running"),
        ));
    }
    let target_ready = live.iter().any(|p| p.name == target && p.ready);
    let other_ready = live.iter().any(|p| p.name != target && p.ready);
    if target_ready && !other_ready {
        return Err(ActionError::refused(
            LAST_POD,
            format!(
                "{target} is the only ready pod of {workload}; deleting it leaves none serving"
            ),
        ));
    }
    Ok(())
}

/// What the disruption-budget guard needs to know about one PodDisruptionBudget that selects
/// the pod.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetFacts {
    pub name: String,
    pub disruptions_allowed: i64,
    pub current_healthy: i64,
    pub desired_healthy: i64,
}

/// Deleting a ready pod spends one disruption of every budget that selects it; an unready pod
/// is not counted healthy, so deleting it spends nothing.
pub fn within_budgets(pod: &str, pod_ready: bool, budgets: &[BudgetFacts]) -> Result<()> {
    if !pod_ready {
        return Ok(());
    }
    match budgets.iter().find(|b| b.disruptions_allowed < 1) {
        Some(b) => Err(ActionError::refused(
            DISRUPTION_BUDGET,
            format!(
                "PodDisruptionBudget {} allows no disruption now ({} healthy, {} required); deleting {pod} would break it",
                b.name, b.current_healthy, b.desired_healthy
            ),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
