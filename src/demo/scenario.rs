//! What the demo breaks, and how: a small shop's `checkout` Deployment on the simulated
//! nodes, broken the way real workloads break.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::sim::{NodeProblem, Sim};

/// The sample workload's name.
pub const APP: &str = "checkout";

/// Which fault the demo injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// A new version needs more memory than its limit: OOM-killed, crash-looping (fix: raise
    /// the memory limit).
    Oom,
    /// A rollout to an image that does not exist (fix: roll back).
    BadImage,
    /// A node stops reporting (fix: cordon and drain; the pods run on the other nodes).
    NodeDown,
}

impl Scenario {
    /// One line on what is about to break and what the fix will be.
    pub fn story(self) -> &'static str {
        match self {
            Scenario::Oom => {
                "a new version of checkout needs 100Mi but its limit is 64Mi: it will be \
                 OOM-killed and crash-loop; the runbook raises the memory limit"
            }
            Scenario::BadImage => {
                "checkout is rolled out to an image that does not exist: its new pod cannot \
                 pull it; the runbook rolls the Deployment back"
            }
            Scenario::NodeDown => {
                "the node running most of checkout stops reporting: the runbook cordons it, \
                 then drains it so the pods run on the other nodes"
            }
        }
    }

    /// How many replicas the sample app runs (spread over nodes for the node scenario).
    fn replicas(self) -> i32 {
        match self {
            Scenario::NodeDown => 3,
            _ => 2,
        }
    }
}

/// Creates the demo namespace and the healthy sample app, and waits until it is available.
pub async fn deploy(client: &kube::Client, ns: &str, scenario: Scenario) -> Result<(), String> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let namespace: Namespace = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}
    }))
    .map_err(|e| e.to_string())?;
    namespaces
        .create(&PostParams::default(), &namespace)
        .await
        .map_err(|e| format!("cannot create namespace {ns}: {e}"))?;
    let deployment: Deployment = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": APP, "labels": {"app": APP}},
        "spec": {
            "replicas": scenario.replicas(),
            "selector": {"matchLabels": {"app": APP}},
            "template": {
                "metadata": {"labels": {"app": APP}},
                "spec": {
                    "terminationGracePeriodSeconds": 1,
                    "containers": [{
                        "name": "app", "image": "shop/checkout:1.4.2",
                        "resources": {
                            "requests": {"cpu": "100m", "memory": "64Mi"},
                            "limits": {"memory": "64Mi"}
                        }
                    }]
                }
            }
        }
    }))
    .map_err(|e| e.to_string())?;
    let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
    api.create(&PostParams::default(), &deployment)
        .await
        .map_err(|e| format!("cannot create the sample app: {e}"))?;
    for _ in 0..240 {
        let d = api.get(APP).await.map_err(|e| e.to_string())?;
        let available = d
            .status
            .as_ref()
            .and_then(|s| s.available_replicas)
            .unwrap_or(0);
        if available >= scenario.replicas() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err("the sample app did not become available within a minute".into())
}

/// Injects the scenario's fault. Returns what was broken, for the narration.
pub async fn break_it(
    client: &kube::Client,
    ns: &str,
    scenario: Scenario,
    sim: &Sim,
) -> Result<String, String> {
    let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let patch = |p: serde_json::Value| {
        let api = api.clone();
        async move {
            api.patch(APP, &PatchParams::default(), &Patch::Strategic(p))
                .await
                .map(|_| ())
                .map_err(|e| format!("cannot break {APP}: {e}"))
        }
    };
    match scenario {
        Scenario::Oom => {
            patch(json!({"spec": {"template": {"metadata": {"annotations": {
                crate::sim::annotations::MEMORY_NEED: "100Mi"
            }}}}}))
            .await?;
            Ok(format!(
                "rolled out Deployment {ns}/{APP} 1.5.0, which needs 100Mi"
            ))
        }
        Scenario::BadImage => {
            patch(json!({"spec": {"template": {"spec": {"containers": [
                {"name": "app", "image": "registry.invalid/shop/checkout:1.5.0"}
            ]}}}}))
            .await?;
            Ok(format!(
                "rolled out Deployment {ns}/{APP} to registry.invalid/shop/checkout:1.5.0"
            ))
        }
        Scenario::NodeDown => {
            let node = busiest_node(client, ns).await?;
            sim.set_node_condition(&node, NodeProblem::NotReady, true)
                .map_err(|e| format!("cannot take node {node} down: {e}"))?;
            Ok(format!(
                "node {node} stopped reporting (its kubelet is down)"
            ))
        }
    }
}

/// The node that runs most of the sample app's pods.
async fn busiest_node(client: &kube::Client, ns: &str) -> Result<String, String> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let list = pods
        .list(&ListParams::default().labels(&format!("app={APP}")))
        .await
        .map_err(|e| e.to_string())?;
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for p in list {
        if let Some(node) = p.spec.and_then(|s| s.node_name) {
            *counts.entry(node).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by_key(|(node, n)| (*n, std::cmp::Reverse(node.clone())))
        .map(|(node, _)| node)
        .ok_or_else(|| format!("no pod of {APP} is on a node"))
}

/// Deletes the demo namespace (its pods go with it).
pub async fn clean_up(client: &kube::Client, ns: &str) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    if let Err(e) = namespaces.delete(ns, &Default::default()).await {
        eprintln!("lookout demo: cannot delete namespace {ns}: {e}");
    }
}
