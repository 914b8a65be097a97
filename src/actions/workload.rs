//! Pods and the workloads they belong to, as actions that delete or evict pods need them: which
//! workload controls a pod (Pod -> ReplicaSet -> Deployment, or StatefulSet, DaemonSet, Job),
//! the workload's pods, and the PodDisruptionBudgets that cover a pod (policy/v1 or v1beta1, as
//! discovery found; read as dynamic objects).

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::{Api, ListParams};
use kube::core::{Selector, SelectorExt};
use serde_json::Value;

use super::context::{ActionContext, typed};
use super::error::{ActionError, Result};
use super::guards::BudgetFacts;
use super::pods;
use crate::detect::ObjectRef;

/// The workload that controls pods, with its label selector.
#[derive(Debug, Clone)]
pub struct Workload {
    pub target: ObjectRef,
    /// The selector as a label-selector string (`app=cart`).
    pub selector: String,
    pub object: Value,
}

/// Reads `target` as a workload (its `spec.selector` decides which pods are its own).
pub async fn workload(ctx: &ActionContext, target: &ObjectRef) -> Result<Workload> {
    let object = ctx.get(target).await?;
    let selector = object
        .pointer("/spec/selector")
        .cloned()
        .map(serde_json::from_value::<LabelSelector>)
        .transpose()
        .map_err(|e| ActionError::BadPlan(format!("{target} selector: {e}")))?
        .ok_or_else(|| {
            ActionError::refused(
                super::guards::TARGET,
                format!("{target} has no pod selector"),
            )
        })?;
    let selector = Selector::try_from(selector)
        .map_err(|e| ActionError::BadPlan(format!("{target} selector: {e}")))?
        .to_string();
    Ok(Workload {
        target: target.clone(),
        selector,
        object,
    })
}

/// The workload at the top of a pod's controller chain: the ReplicaSet's Deployment when
/// there is one, else the direct controller. `None` for a pod without a controller.
pub async fn owner_of(ctx: &ActionContext, pod: &Pod) -> Result<Option<ObjectRef>> {
    let ns = pod.metadata.namespace.as_deref();
    let Some(owner) = pods::controller(pod.metadata.owner_references.as_ref()) else {
        return Ok(None);
    };
    let direct = ObjectRef::new(&owner.kind, ns, &owner.name);
    if owner.kind != "ReplicaSet" {
        return Ok(Some(direct));
    }
    let Some(rs) = ctx.get_opt(&direct).await? else {
        return Ok(Some(direct));
    };
    let owners: Option<Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference>> = rs
        .pointer("/metadata/ownerReferences")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok());
    Ok(Some(match pods::controller(owners.as_ref()) {
        Some(top) if top.kind == "Deployment" => ObjectRef::new("Deployment", ns, &top.name),
        _ => direct,
    }))
}

/// The workload's pods (by its selector), sorted by name.
pub async fn pods_of(ctx: &ActionContext, workload: &Workload) -> Result<Vec<Pod>> {
    let ns = workload.target.namespace.as_deref().unwrap_or("default");
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), ns);
    let mut list = api
        .list(&ListParams::default().labels(&workload.selector))
        .await
        .map_err(|e| ActionError::kube("list pods of", &workload.target, e))?
        .items;
    list.sort_by(|a, b| pods::name(a).cmp(pods::name(b)));
    Ok(list)
}

/// The PodDisruptionBudgets whose selector matches the pod. None when the cluster serves no
/// PodDisruptionBudget API (then there can be no budgets).
pub async fn budgets_covering(ctx: &ActionContext, pod: &Pod) -> Result<Vec<BudgetFacts>> {
    let Some(ar) = ctx.served.pod_disruption_budgets.clone() else {
        return Ok(Vec::new());
    };
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let api: Api<kube::core::DynamicObject> = Api::namespaced_with(ctx.client.clone(), ns, &ar);
    let list = api
        .list(&ListParams::default())
        .await
        .map_err(|e| ActionError::kube("list", format!("PodDisruptionBudgets in {ns}"), e))?;
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    let mut out = Vec::new();
    for pdb in list.items {
        let v = super::context::to_json(pdb)?;
        if budget_selects(&v, &ar.version, &labels)? {
            out.push(budget_facts(&v));
        }
    }
    Ok(out)
}

/// Whether a budget's selector picks these labels. A missing selector picks nothing; an empty
/// one picks every pod in policy/v1 and none in policy/v1beta1.
fn budget_selects(
    pdb: &Value,
    version: &str,
    labels: &std::collections::BTreeMap<String, String>,
) -> Result<bool> {
    let Some(sel) = pdb.pointer("/spec/selector") else {
        return Ok(false);
    };
    let sel: LabelSelector = typed(sel, &ObjectRef::cluster_scoped("PodDisruptionBudget", ""))?;
    let empty = sel.match_labels.as_ref().is_none_or(|m| m.is_empty())
        && sel.match_expressions.as_ref().is_none_or(|m| m.is_empty());
    if empty {
        return Ok(version == "v1");
    }
    let selector = Selector::try_from(sel)
        .map_err(|e| ActionError::BadPlan(format!("PodDisruptionBudget selector: {e}")))?;
    Ok(selector.matches(labels))
}

/// A budget's status; a budget the disruption controller has not computed yet allows nothing.
fn budget_facts(pdb: &Value) -> BudgetFacts {
    let num = |p: &str| pdb.pointer(p).and_then(Value::as_i64).unwrap_or(0);
    BudgetFacts {
        name: pdb
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        disruptions_allowed: num("/status/disruptionsAllowed"),
        current_healthy: num("/status/currentHealthy"),
        desired_healthy: num("/status/desiredHealthy"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn budget_selectors_follow_their_api_version() {
        let labels = [("app".to_string(), "cart".to_string())].into();
        let by_app = json!({"spec": {"selector": {"matchLabels": {"app": "cart"}}}});
        let other = json!({"spec": {"selector": {"matchLabels": {"app": "web"}}}});
        let empty = json!({"spec": {"selector": {}}});
        let none = json!({"spec": {}});
        assert!(budget_selects(&by_app, "v1beta1", &labels).unwrap());
        assert!(!budget_selects(&other, "v1", &labels).unwrap());
        assert!(budget_selects(&empty, "v1", &labels).unwrap());
        assert!(!budget_selects(&empty, "v1beta1", &labels).unwrap());
        assert!(!budget_selects(&none, "v1", &labels).unwrap());
    }

    #[test]
    fn an_uncomputed_budget_allows_nothing() {
        let f = budget_facts(&json!({"metadata": {"name": "p"}, "spec": {}}));
        assert_eq!(f.disruptions_allowed, 0);
        let f = budget_facts(&json!({"metadata": {"name": "p"}, "status": {
            "disruptionsAllowed": 1, "currentHealthy": 3, "desiredHealthy": 2}}));
        assert_eq!(
            (f.disruptions_allowed, f.current_healthy, f.desired_healthy),
            (1, 3, 2)
        );
    }
}
