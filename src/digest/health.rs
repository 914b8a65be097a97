//! Cluster health at a glance, read live from the API server: nodes ready, and pods that are
//! not running (or running but not ready) by namespace, within Lookout's namespace scope.
//! Shared by the `status` command and the digests.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::ListParams;

use crate::chat::message::Text;
use crate::detect::{Scope, ScopeConfig};

/// Pods listed per request while paging through the cluster.
const PAGE: u32 = 500;

/// Where to read cluster health.
#[derive(Clone)]
pub struct ClusterView {
    pub client: kube::Client,
    pub scope: ScopeConfig,
}

/// One look at the cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ClusterHealth {
    pub nodes: usize,
    pub nodes_ready: usize,
    /// Names of nodes not ready.
    pub nodes_not_ready: Vec<String>,
    /// Pods in scope.
    pub pods: usize,
    /// Namespace -> reason (`CrashLoopBackOff`, `Pending`, `not ready`...) -> pods.
    pub unhealthy: BTreeMap<String, BTreeMap<String, usize>>,
}

impl ClusterHealth {
    pub fn unhealthy_pods(&self) -> usize {
        self.unhealthy.values().flat_map(|r| r.values()).sum()
    }

    /// For people: the nodes line, then one line per namespace with unhealthy pods (at most
    /// `max_namespaces`, worst first).
    pub fn lines(&self, max_namespaces: usize) -> Vec<Text> {
        let mut nodes = Text::plain("")
            .bold("Nodes: ")
            .and(format!("{}/{} ready", self.nodes_ready, self.nodes));
        if !self.nodes_not_ready.is_empty() {
            let mut names = self.nodes_not_ready.clone();
            names.truncate(5);
            nodes = nodes.and(format!(" (not ready: {})", names.join(", ")));
        }
        let mut out = vec![nodes];
        let bad = self.unhealthy_pods();
        out.push(Text::plain("").bold("Pods: ").and(if bad == 0 {
            format!("all {} running", self.pods)
        } else {
            format!("{bad} of {} not running or not ready", self.pods)
        }));
        let mut by_ns: Vec<(&String, usize, String)> = self
            .unhealthy
            .iter()
            .map(|(ns, reasons)| {
                let mut r: Vec<(&String, &usize)> = reasons.iter().collect();
                r.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
                let detail: Vec<String> = r.iter().map(|(k, n)| format!("{n} {k}")).collect();
                (ns, reasons.values().sum(), detail.join(", "))
            })
            .collect();
        by_ns.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        for (ns, _, detail) in by_ns.iter().take(max_namespaces) {
            out.push(
                Text::plain("   ")
                    .code(ns.as_str())
                    .and(format!(": {detail}")),
            );
        }
        if by_ns.len() > max_namespaces {
            out.push(Text::plain(format!(
                "   … and {} more namespaces",
                by_ns.len() - max_namespaces
            )));
        }
        out
    }
}

impl ClusterView {
    /// Lists nodes and pods (paged).
    pub async fn read(&self) -> Result<ClusterHealth, kube::Error> {
        let scope = Scope::new(&self.scope);
        let mut health = ClusterHealth::default();
        let nodes: Api<Node> = Api::all(self.client.clone());
        for node in nodes.list(&ListParams::default()).await? {
            health.nodes += 1;
            if node_ready(&node) {
                health.nodes_ready += 1;
            } else {
                health
                    .nodes_not_ready
                    .push(node.metadata.name.unwrap_or_default());
            }
        }
        let pods: Api<Pod> = Api::all(self.client.clone());
        let mut params = ListParams::default().limit(PAGE);
        loop {
            let page = pods.list(&params).await?;
            for pod in &page.items {
                let ns = pod.metadata.namespace.clone().unwrap_or_default();
                if !scope.namespace_in_scope(&ns) {
                    continue;
                }
                health.pods += 1;
                if let Some(reason) = pod_problem(pod) {
                    *health
                        .unhealthy
                        .entry(ns)
                        .or_default()
                        .entry(reason)
                        .or_default() += 1;
                }
            }
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(token) => params = params.continue_token(&token),
                None => break,
            }
        }
        Ok(health)
    }
}

fn node_ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Why a pod is not healthy: a waiting container's reason, its phase, or `not ready`;
/// `None` for running-and-ready and completed pods.
pub fn pod_problem(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?;
    let phase = status.phase.as_deref().unwrap_or("Unknown");
    let waiting = status
        .container_statuses
        .iter()
        .flatten()
        .filter_map(|c| c.state.as_ref()?.waiting.as_ref()?.reason.clone())
        .find(|r| r != "ContainerCreating" || phase != "Running");
    match phase {
        "Succeeded" => None,
        "Running" => {
            if let Some(reason) = waiting {
                return Some(reason);
            }
            let all_ready = status.container_statuses.iter().flatten().all(|c| c.ready);
            (!all_ready).then(|| "not ready".to_string())
        }
        "Failed" => Some(status.reason.clone().unwrap_or_else(|| "Failed".into())),
        other => Some(waiting.unwrap_or_else(|| other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(json: serde_json::Value) -> Pod {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn problems_name_the_reason() {
        let crash = pod(
            serde_json::json!({"status": {"phase": "Running", "containerStatuses": [
            {"name": "a", "ready": false, "restartCount": 3, "image": "x", "imageID": "",
             "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}}),
        );
        assert_eq!(pod_problem(&crash).as_deref(), Some("CrashLoopBackOff"));
        let pending = pod(serde_json::json!({"status": {"phase": "Pending"}}));
        assert_eq!(pod_problem(&pending).as_deref(), Some("Pending"));
        let evicted = pod(serde_json::json!({"status": {"phase": "Failed", "reason": "Evicted"}}));
        assert_eq!(pod_problem(&evicted).as_deref(), Some("Evicted"));
        let unready = pod(
            serde_json::json!({"status": {"phase": "Running", "containerStatuses": [
            {"name": "a", "ready": false, "restartCount": 0, "image": "x", "imageID": "",
             "state": {"running": {}}}]}}),
        );
        assert_eq!(pod_problem(&unready).as_deref(), Some("not ready"));
        let fine = pod(
            serde_json::json!({"status": {"phase": "Running", "containerStatuses": [
            {"name": "a", "ready": true, "restartCount": 0, "image": "x", "imageID": "",
             "state": {"running": {}}}]}}),
        );
        assert_eq!(pod_problem(&fine), None);
        let done = pod(serde_json::json!({"status": {"phase": "Succeeded"}}));
        assert_eq!(pod_problem(&done), None);
    }
}
