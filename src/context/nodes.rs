//! PURE: a node's health as facts: its conditions (each marked healthy or not), whether it
//! is cordoned, its taints.

use k8s_openapi::api::core::v1::Node;

use super::model::NodeFacts;
use super::resource::condition;
#[cfg(test)]
use super::resource::healthy;

pub fn node_facts(node: &Node) -> NodeFacts {
    let spec = node.spec.clone().unwrap_or_default();
    let conditions: Vec<_> = node
        .status
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
        .map(|c| condition!(c))
        .collect();
    let ready = conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    let taints = spec
        .taints
        .iter()
        .flatten()
        .map(|t| match &t.value {
            Some(v) if !v.is_empty() => format!("{}={v}:{}", t.key, t.effect),
            _ => format!("{}:{}", t.key, t.effect),
        })
        .collect();
    NodeFacts {
        name: node.metadata.name.clone().unwrap_or_default(),
        healthy: ready && conditions.iter().all(|c| c.healthy),
        unschedulable: spec.unschedulable == Some(true),
        taints,
        conditions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_with_memory_pressure_is_unhealthy_and_shows_its_taints() {
        let node: Node = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "n1"},
            "spec": {"unschedulable": true, "taints": [
                {"key": "node.kubernetes.io/memory-pressure", "effect": "NoSchedule"},
                {"key": "dedicated", "value": "db", "effect": "NoExecute"}]},
            "status": {"conditions": [
                {"type": "Ready", "status": "True"},
                {"type": "MemoryPressure", "status": "True", "reason": "KubeletHasInsufficientMemory"}]}
        }))
        .unwrap();
        let f = node_facts(&node);
        assert!(!f.healthy && f.unschedulable);
        assert_eq!(
            f.taints,
            [
                "node.kubernetes.io/memory-pressure:NoSchedule",
                "dedicated=db:NoExecute"
            ]
        );
        assert!(f.conditions[0].healthy && !f.conditions[1].healthy);
        assert!(healthy("DiskPressure", "False") && !healthy("Ready", "Unknown"));
    }
}
