//! The pods on a node and what a drain does with each, as `kubectl drain --ignore-daemonsets`
//! decides: DaemonSet pods and mirror (static) pods stay, finished pods are left alone, pods in
//! protected namespaces stay (Lookout takes no action there), pods without a controller block
//! the drain (evicted, they would not come back), every other pod is evicted.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use serde::{Deserialize, Serialize};

use crate::actions::context::ActionContext;
use crate::actions::error::{ActionError, Result};
use crate::actions::pods;

/// The annotation the kubelet puts on the API mirror of a static pod.
const MIRROR: &str = "kubernetes.io/config.mirror";

/// What a drain does with one pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    Evict,
    /// Already being deleted: it leaves by itself.
    Terminating,
    DaemonSet,
    Mirror,
    /// Succeeded or Failed: holds nothing, left alone.
    Finished,
    Protected,
    /// No controller: the drain is refused.
    Unmanaged,
}

impl Disposition {
    /// Whether the pod is still on the node after the drain.
    pub fn stays(self) -> bool {
        !matches!(self, Disposition::Evict | Disposition::Terminating)
    }
}

/// A pod's controller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub kind: String,
    pub name: String,
    pub uid: String,
}

/// One pod on the node, as a drain sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnNode {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    pub disposition: Disposition,
    /// Has emptyDir volumes, whose data the eviction loses.
    #[serde(default)]
    pub local_data: bool,
}

impl OnNode {
    /// `shop/web-6d9f-x2 (ReplicaSet web-6d9f)`.
    pub fn label(&self) -> String {
        match &self.owner {
            Some(o) => format!("{}/{} ({} {})", self.namespace, self.name, o.kind, o.name),
            None => format!("{}/{} (no controller)", self.namespace, self.name),
        }
    }

    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// PURE: what a drain does with `pod`.
pub fn classify(pod: &Pod, protected: &[String]) -> OnNode {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let owner = pods::controller(pod.metadata.owner_references.as_ref()).map(|o| Owner {
        kind: o.kind.clone(),
        name: o.name.clone(),
        uid: o.uid.clone(),
    });
    let mirror = pod
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(MIRROR));
    let phase = pod
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("");
    let disposition = if mirror {
        Disposition::Mirror
    } else if owner.as_ref().is_some_and(|o| o.kind == "DaemonSet") {
        Disposition::DaemonSet
    } else if matches!(phase, "Succeeded" | "Failed") {
        Disposition::Finished
    } else if pods::is_terminating(pod) {
        Disposition::Terminating
    } else if protected.contains(&namespace) {
        Disposition::Protected
    } else if owner.is_none() {
        Disposition::Unmanaged
    } else {
        Disposition::Evict
    };
    let local_data = pod
        .spec
        .as_ref()
        .and_then(|s| s.volumes.as_ref())
        .is_some_and(|vs| vs.iter().any(|v| v.empty_dir.is_some()));
    OnNode {
        namespace,
        name: pods::name(pod).to_string(),
        uid: pods::uid(pod).to_string(),
        owner,
        disposition,
        local_data,
    }
}

/// The pods bound to `node`, in every namespace, sorted by namespace and name.
pub async fn list(ctx: &ActionContext, node: &str) -> Result<Vec<Pod>> {
    let api: Api<Pod> = Api::all(ctx.client.clone());
    let mut pods = api
        .list(&ListParams::default().fields(&format!("spec.nodeName={node}")))
        .await
        .map_err(|e| ActionError::kube("list pods on", format!("Node {node}"), e))?
        .items;
    pods.sort_by(|a, b| {
        (a.metadata.namespace.as_deref(), pods::name(a))
            .cmp(&(b.metadata.namespace.as_deref(), pods::name(b)))
    });
    Ok(pods)
}

/// PURE: the text a drain's diff compares: the cordon and the pods on the node.
pub fn describe(unschedulable: bool, pods: &[&OnNode]) -> String {
    let mut out = format!("unschedulable: {unschedulable}\npods on the node:\n");
    if pods.is_empty() {
        out += "  (none)\n";
    }
    for p in pods {
        out += &format!("  {}\n", p.label());
    }
    out
}

/// PURE: one line for people: what is evicted, what stays, what data is lost.
pub fn summary(target: &str, pods: &[OnNode], was_cordoned: bool) -> String {
    let evict: Vec<&OnNode> = pods
        .iter()
        .filter(|p| p.disposition == Disposition::Evict)
        .collect();
    let count = |d: Disposition| pods.iter().filter(|p| p.disposition == d).count();
    let mut stays = Vec::new();
    for (d, what) in [
        (Disposition::DaemonSet, "DaemonSet"),
        (Disposition::Mirror, "static"),
        (Disposition::Protected, "protected-namespace"),
        (Disposition::Finished, "finished"),
    ] {
        match count(d) {
            0 => {}
            n => stays.push(format!("{n} {what}")),
        }
    }
    let mut s = format!(
        "drain {target}: {}evict {} pod{} (PodDisruptionBudgets respected)",
        if was_cordoned { "" } else { "cordon it, then " },
        evict.len(),
        if evict.len() == 1 { "" } else { "s" }
    );
    if !stays.is_empty() {
        s += &format!("; staying: {}", stays.join(", "));
    }
    let lost: Vec<String> = evict
        .iter()
        .filter(|p| p.local_data)
        .map(|p| p.key())
        .collect();
    if !lost.is_empty() {
        s += &format!("; emptyDir data is lost for {}", lost.join(", "));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(ns: &str, owner: Option<&str>, extra: serde_json::Value) -> Pod {
        let mut v = json!({"metadata": {"name": "p", "namespace": ns, "uid": "u"},
                           "spec": {"containers": []}, "status": {"phase": "Running"}});
        if let Some(kind) = owner {
            v["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": kind, "name": "w", "uid": "o", "controller": true}]);
        }
        crate::actions::diff::merge_into(&mut v, extra);
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_drain_evicts_controlled_pods_and_leaves_the_rest() {
        let prot = vec!["kube-system".to_string()];
        let d = |p: Pod| classify(&p, &prot).disposition;
        assert_eq!(
            d(pod("shop", Some("ReplicaSet"), json!({}))),
            Disposition::Evict
        );
        assert_eq!(
            d(pod("shop", Some("DaemonSet"), json!({}))),
            Disposition::DaemonSet
        );
        assert_eq!(d(pod("shop", None, json!({}))), Disposition::Unmanaged);
        assert_eq!(
            d(pod(
                "shop",
                None,
                json!({"metadata": {"annotations": {MIRROR: "x"}}})
            )),
            Disposition::Mirror
        );
        assert_eq!(
            d(pod("kube-system", Some("ReplicaSet"), json!({}))),
            Disposition::Protected
        );
        assert_eq!(
            d(pod(
                "shop",
                Some("Job"),
                json!({"status": {"phase": "Succeeded"}})
            )),
            Disposition::Finished
        );
        assert_eq!(
            d(pod(
                "shop",
                Some("ReplicaSet"),
                json!({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"}})
            )),
            Disposition::Terminating
        );
        let local = classify(
            &pod(
                "shop",
                Some("StatefulSet"),
                json!({"spec": {"volumes": [{"name": "tmp", "emptyDir": {}}]}}),
            ),
            &prot,
        );
        assert!(local.local_data);
        assert_eq!(local.label(), "shop/p (StatefulSet w)");
    }
}
