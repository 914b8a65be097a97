//! PURE: the scheduler's filters, in kube-scheduler 1.20's order (NodeUnschedulable,
//! TaintToleration, NodeAffinity, NodeResourcesFit; the first failing filter decides a node's
//! reason), its least-allocated choice, and its `FailedScheduling` message
//! (`0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient cpu.`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, Pod, Taint};

use super::quantity;
use crate::actions::node::placement::{matches_affinity, tolerated};

/// CPU (millicores), memory (bytes) and pod count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resources {
    pub cpu: i64,
    pub memory: i64,
    pub pods: i64,
}

impl std::ops::AddAssign for Resources {
    fn add_assign(&mut self, o: Self) {
        self.cpu += o.cpu;
        self.memory += o.memory;
        self.pods += o.pods;
    }
}

/// What the scheduler knows of one candidate node.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    pub node: &'a Node,
    pub allocatable: Resources,
    pub requested: Resources,
}

/// The pod's effective request: the sum of its containers or the largest init container,
/// whichever is more, plus one pod.
pub fn pod_requests(pod: &Pod) -> Resources {
    let Some(spec) = pod.spec.as_ref() else {
        return Resources::default();
    };
    let of = |c: &k8s_openapi::api::core::v1::Container| {
        let get = |name: &str| {
            c.resources
                .as_ref()
                .and_then(|r| r.requests.as_ref())
                .and_then(|r| r.get(name))
                .map(|q| q.0.clone())
        };
        (
            get("cpu")
                .and_then(|q| quantity::parse_cpu_millis(&q))
                .unwrap_or(0),
            get("memory")
                .and_then(|q| quantity::parse_bytes(&q))
                .unwrap_or(0),
        )
    };
    let (mut cpu, mut memory) = spec
        .containers
        .iter()
        .map(of)
        .fold((0, 0), |(a, b), (c, m)| (a + c, b + m));
    for init in spec.init_containers.iter().flatten() {
        let (c, m) = of(init);
        cpu = cpu.max(c);
        memory = memory.max(m);
    }
    Resources {
        cpu,
        memory,
        pods: 1,
    }
}

/// Why `pod` cannot go to `c`'s node, or `None` when it fits.
pub fn reject(pod: &Pod, c: &Candidate<'_>) -> Option<Vec<String>> {
    let spec = pod.spec.as_ref()?;
    let node_spec = c.node.spec.clone().unwrap_or_default();
    let tolerations = spec.tolerations.clone().unwrap_or_default();
    if node_spec.unschedulable == Some(true) {
        let cordon = Taint {
            key: "node.kubernetes.io/unschedulable".into(),
            effect: "NoSchedule".into(),
            ..Taint::default()
        };
        if !tolerated(&cordon, &tolerations) {
            return Some(vec!["node(s) were unschedulable".into()]);
        }
    }
    for taint in node_spec.taints.iter().flatten() {
        if matches!(taint.effect.as_str(), "NoSchedule" | "NoExecute")
            && !tolerated(taint, &tolerations)
        {
            return Some(vec![format!(
                "node(s) had taint {{{}: {}}}, that the pod didn't tolerate",
                taint.key,
                taint.value.as_deref().unwrap_or("")
            )]);
        }
    }
    if !matches_affinity(pod, c.node) {
        return Some(vec!["node(s) didn't match node selector".into()]);
    }
    let r = pod_requests(pod);
    let free = |alloc: i64, used: i64| alloc - used;
    let mut reasons = Vec::new();
    if r.pods > free(c.allocatable.pods, c.requested.pods) {
        reasons.push("Too many pods".to_string());
    }
    if r.cpu > 0 && r.cpu > free(c.allocatable.cpu, c.requested.cpu) {
        reasons.push("Insufficient cpu".to_string());
    }
    if r.memory > 0 && r.memory > free(c.allocatable.memory, c.requested.memory) {
        reasons.push("Insufficient memory".to_string());
    }
    (!reasons.is_empty()).then_some(reasons)
}

/// The feasible node with the lowest requested share after placing the pod (ties by name), or
/// the FailedScheduling message.
pub fn choose<'a>(pod: &Pod, candidates: &[Candidate<'a>]) -> Result<&'a Node, String> {
    if candidates.is_empty() {
        return Err("no nodes available to schedule pods".into());
    }
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut best: Option<(f64, &Candidate<'a>)> = None;
    let r = pod_requests(pod);
    for c in candidates {
        match reject(pod, c) {
            Some(reasons) => {
                for reason in reasons {
                    *counts.entry(reason).or_default() += 1;
                }
            }
            None => {
                let share = |used: i64, alloc: i64| {
                    if alloc <= 0 {
                        1.0
                    } else {
                        used as f64 / alloc as f64
                    }
                };
                let score = share(c.requested.cpu + r.cpu, c.allocatable.cpu)
                    + share(c.requested.memory + r.memory, c.allocatable.memory);
                if best.is_none_or(|(s, _)| score < s) {
                    best = Some((score, c));
                }
            }
        }
    }
    match best {
        Some((_, c)) => Ok(c.node),
        None => {
            let mut parts: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
            parts.sort();
            Err(format!(
                "0/{} nodes are available: {}.",
                candidates.len(),
                parts.join(", ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, extra: serde_json::Value) -> Node {
        let mut n = serde_json::json!({"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}}, "spec": {}});
        if let Some(spec) = extra.as_object() {
            n["spec"] = serde_json::Value::Object(spec.clone());
        }
        serde_json::from_value(n).unwrap()
    }

    fn pod(spec: serde_json::Value) -> Pod {
        serde_json::from_value(serde_json::json!({"metadata": {"name": "p"}, "spec": spec}))
            .unwrap()
    }

    fn wants(cpu: &str, memory: &str) -> Pod {
        pod(
            serde_json::json!({"containers": [{"name": "app", "resources": {"requests": {"cpu": cpu, "memory": memory}}}]}),
        )
    }

    fn cand(n: &Node, cpu: i64, mem: i64) -> Candidate<'_> {
        Candidate {
            node: n,
            allocatable: Resources {
                cpu,
                memory: mem,
                pods: 110,
            },
            requested: Resources::default(),
        }
    }

    #[test]
    fn insufficient_memory_everywhere() {
        let nodes: Vec<Node> = (1..=3)
            .map(|i| node(&format!("n{i}"), serde_json::json!({})))
            .collect();
        let cands: Vec<_> = nodes.iter().map(|n| cand(n, 4000, 1 << 30)).collect();
        let err = choose(&wants("100m", "2Gi"), &cands).unwrap_err();
        assert_eq!(err, "0/3 nodes are available: 3 Insufficient memory.");
    }

    #[test]
    fn cordoned_and_cpu_reasons_sorted() {
        let nodes = [
            node("n1", serde_json::json!({"unschedulable": true})),
            node("n2", serde_json::json!({})),
            node("n3", serde_json::json!({})),
        ];
        let cands: Vec<_> = nodes.iter().map(|n| cand(n, 1000, 8 << 30)).collect();
        let err = choose(&wants("2", "64Mi"), &cands).unwrap_err();
        assert_eq!(
            err,
            "0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient cpu."
        );
    }

    #[test]
    fn taints_and_tolerations() {
        let tainted = node(
            "n1",
            serde_json::json!({"taints": [{"key": "node.kubernetes.io/memory-pressure", "effect": "NoSchedule"}]}),
        );
        let cands = [cand(&tainted, 4000, 8 << 30)];
        let err = choose(&wants("1", "1Mi"), &cands).unwrap_err();
        assert_eq!(
            err,
            "0/1 nodes are available: 1 node(s) had taint {node.kubernetes.io/memory-pressure: }, that the pod didn't tolerate."
        );
        let tolerant = pod(serde_json::json!({
            "containers": [{"name": "app"}],
            "tolerations": [{"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"}]
        }));
        assert!(choose(&tolerant, &cands).is_ok());
    }

    #[test]
    fn daemonset_affinity_picks_its_node() {
        let nodes = [
            node("n1", serde_json::json!({})),
            node("n2", serde_json::json!({})),
        ];
        let cands: Vec<_> = nodes.iter().map(|n| cand(n, 4000, 8 << 30)).collect();
        let ds = pod(serde_json::json!({
            "containers": [{"name": "agent"}],
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n2"]}]}]
            }}}
        }));
        assert_eq!(
            choose(&ds, &cands).unwrap().metadata.name.as_deref(),
            Some("n2")
        );
        let elsewhere = pod(
            serde_json::json!({"containers": [{"name": "a"}], "nodeSelector": {"disk": "ssd"}}),
        );
        assert_eq!(
            choose(&elsewhere, &cands).unwrap_err(),
            "0/2 nodes are available: 2 node(s) didn't match node selector."
        );
    }

    #[test]
    fn least_allocated_spreads() {
        let nodes = [
            node("n1", serde_json::json!({})),
            node("n2", serde_json::json!({})),
        ];
        let mut cands: Vec<_> = nodes.iter().map(|n| cand(n, 4000, 8 << 30)).collect();
        cands[0].requested = Resources {
            cpu: 2000,
            memory: 1 << 30,
            pods: 2,
        };
        assert_eq!(
            choose(&wants("100m", "1Mi"), &cands)
                .unwrap()
                .metadata
                .name
                .as_deref(),
            Some("n2")
        );
    }

    #[test]
    fn init_containers_count_by_max() {
        let p = pod(serde_json::json!({
            "initContainers": [{"name": "i", "resources": {"requests": {"memory": "1Gi"}}}],
            "containers": [{"name": "a", "resources": {"requests": {"memory": "100Mi", "cpu": "250m"}}},
                           {"name": "b", "resources": {"requests": {"memory": "100Mi"}}}]
        }));
        assert_eq!(
            pod_requests(&p),
            Resources {
                cpu: 250,
                memory: 1 << 30,
                pods: 1
            }
        );
    }
}
