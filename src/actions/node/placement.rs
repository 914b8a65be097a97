//! PURE: whether another node could take the pods a drain evicts, judged from the specs as the
//! scheduler's filters would: the node is Ready and schedulable, its labels satisfy the pod's
//! `nodeSelector` and required node affinity, and the pod tolerates its `NoSchedule` and
//! `NoExecute` taints. Free capacity is not judged (it changes by the second and the scheduler
//! has the last word), so a drain can still leave a pod Pending on a full cluster; what this
//! catches is a pod that no other node could ever take.

use k8s_openapi::api::core::v1::{
    Node, NodeSelectorRequirement, NodeSelectorTerm, Pod, Taint, Toleration,
};

use crate::actions::pods;

/// Why `node` cannot take `pod`, or `None` when it can.
pub fn why_not(pod: &Pod, node: &Node) -> Option<String> {
    let name = node.metadata.name.as_deref().unwrap_or_default();
    if node.spec.as_ref().and_then(|s| s.unschedulable) == Some(true) {
        return Some(format!("{name} is cordoned"));
    }
    if !ready(node) {
        return Some(format!("{name} is not Ready"));
    }
    let labels = node.metadata.labels.clone().unwrap_or_default();
    let spec = pod.spec.as_ref();
    if let Some(selector) = spec.and_then(|s| s.node_selector.as_ref()) {
        for (k, v) in selector {
            if labels.get(k) != Some(v) {
                return Some(format!(
                    "{name} lacks the label {k}={v} of its nodeSelector"
                ));
            }
        }
    }
    if !matches_affinity(pod, node) {
        return Some(format!("{name} does not match its required node affinity"));
    }
    let tolerations = spec.and_then(|s| s.tolerations.clone()).unwrap_or_default();
    let taints = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    taints
        .iter()
        .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
        .find(|t| !tolerated(t, &tolerations))
        .map(|t| {
            let value = t
                .value
                .as_deref()
                .map(|v| format!("={v}"))
                .unwrap_or_default();
            format!(
                "{name} has the taint {}{value}:{} it does not tolerate",
                t.key, t.effect
            )
        })
}

/// Whether `node`'s labels (and name) satisfy `pod`'s nodeSelector and required node
/// affinity. Shared with the simulated scheduler.
pub(crate) fn matches_affinity(pod: &Pod, node: &Node) -> bool {
    let Some(spec) = pod.spec.as_ref() else {
        return true;
    };
    let labels = node.metadata.labels.clone().unwrap_or_default();
    if let Some(selector) = &spec.node_selector
        && !selector.iter().all(|(k, v)| labels.get(k) == Some(v))
    {
        return false;
    }
    let required = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|a| {
            a.required_during_scheduling_ignored_during_execution
                .as_ref()
        });
    let name = node.metadata.name.as_deref().unwrap_or_default();
    required.is_none_or(|r| {
        r.node_selector_terms
            .iter()
            .any(|t| term_matches(t, name, &labels))
    })
}

/// Whether one of `tolerations` tolerates `taint`. Shared with the simulated scheduler.
pub(crate) fn tolerated(taint: &Taint, tolerations: &[Toleration]) -> bool {
    tolerations.iter().any(|t| tolerates(t, taint))
}

/// The pods among `evicted` that no node other than `draining` could take, each with why: a
/// Ready, schedulable node's reason when there is one (that is what the pod asks for), else
/// the first node's, else that there is no other node.
pub fn homeless(evicted: &[&Pod], nodes: &[Node], draining: &str) -> Vec<(String, String)> {
    let others: Vec<&Node> = nodes
        .iter()
        .filter(|n| n.metadata.name.as_deref() != Some(draining))
        .collect();
    let open = |n: &Node| ready(n) && n.spec.as_ref().and_then(|s| s.unschedulable) != Some(true);
    evicted
        .iter()
        .filter_map(|pod| {
            let reasons: Vec<(bool, Option<String>)> =
                others.iter().map(|n| (open(n), why_not(pod, n))).collect();
            if reasons.iter().any(|(_, why)| why.is_none()) {
                return None;
            }
            let why = reasons
                .iter()
                .find(|(open, _)| *open)
                .or(reasons.first())
                .and_then(|(_, why)| why.clone())
                .unwrap_or_else(|| "there is no other node".into());
            let key = format!(
                "{}/{}",
                pod.metadata.namespace.as_deref().unwrap_or_default(),
                pods::name(pod)
            );
            Some((key, why))
        })
        .collect()
}

fn ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// A term matches when all its requirements do; an empty term matches nothing (as in the
/// scheduler).
fn term_matches(
    term: &NodeSelectorTerm,
    name: &str,
    labels: &std::collections::BTreeMap<String, String>,
) -> bool {
    let expressions = term.match_expressions.as_deref().unwrap_or_default();
    let fields = term.match_fields.as_deref().unwrap_or_default();
    if expressions.is_empty() && fields.is_empty() {
        return false;
    }
    expressions
        .iter()
        .all(|r| requirement(r, labels.get(&r.key).map(String::as_str)))
        && fields.iter().all(|r| {
            // `metadata.name` is the only field the scheduler supports.
            r.key == "metadata.name" && requirement(r, Some(name))
        })
}

fn requirement(r: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = r.values.as_deref().unwrap_or_default();
    let number = |s: &str| s.parse::<i64>().ok();
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => value.is_none_or(|v| !values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let (Some(v), Some(bound)) = (
                value.and_then(number),
                values.first().and_then(|b| number(b)),
            ) else {
                return false;
            };
            if r.operator == "Gt" {
                v > bound
            } else {
                v < bound
            }
        }
        _ => false,
    }
}

/// As the scheduler's `Toleration.ToleratesTaint`.
fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    if let Some(effect) = t.effect.as_deref().filter(|e| !e.is_empty())
        && effect != taint.effect
    {
        return false;
    }
    match t.operator.as_deref().unwrap_or("Equal") {
        // An empty key with Exists tolerates every taint.
        "Exists" => t
            .key
            .as_deref()
            .is_none_or(|k| k.is_empty() || k == taint.key),
        "Equal" => {
            t.key.as_deref() == Some(taint.key.as_str())
                && t.value.as_deref().unwrap_or_default()
                    == taint.value.as_deref().unwrap_or_default()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn node(name: &str, extra: Value) -> Node {
        let mut n = json!({"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            "spec": {}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        merge(&mut n, extra);
        serde_json::from_value(n).unwrap()
    }

    fn pod(spec: Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "web-1", "namespace": "shop"},
            "spec": merged(json!({"containers": [{"name": "app"}]}), spec)}))
        .unwrap()
    }

    fn merged(mut a: Value, b: Value) -> Value {
        merge(&mut a, b);
        a
    }

    fn merge(a: &mut Value, b: Value) {
        match (a, b) {
            (Value::Object(a), Value::Object(b)) => {
                for (k, v) in b {
                    merge(a.entry(k).or_insert(Value::Null), v);
                }
            }
            (a, b) => *a = b,
        }
    }

    #[test]
    fn only_ready_uncordoned_other_nodes_take_pods() {
        let p = pod(json!({}));
        let nodes = [
            node("a", json!({})),
            node("b", json!({"spec": {"unschedulable": true}})),
            node(
                "c",
                json!({"status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}}),
            ),
            node("d", json!({})),
        ];
        assert!(homeless(&[&p], &nodes, "a").is_empty());
        let left = homeless(&[&p], &nodes[..3], "a");
        assert_eq!(
            left,
            [("shop/web-1".to_string(), "b is cordoned".to_string())]
        );
        let alone = homeless(&[&p], &nodes[..1], "a");
        assert_eq!(alone[0].1, "there is no other node");
    }

    #[test]
    fn node_selectors_and_required_affinity_are_honoured() {
        let ssd = node(
            "b",
            json!({"metadata": {"labels": {"disktype": "ssd", "zone": "3"}}}),
        );
        let plain = node("c", json!({}));
        let selected = pod(json!({"nodeSelector": {"disktype": "ssd"}}));
        assert_eq!(why_not(&selected, &ssd), None);
        assert_eq!(
            why_not(&selected, &plain).unwrap(),
            "c lacks the label disktype=ssd of its nodeSelector"
        );
        let affinity = |op: &str, values: Value| {
            pod(
                json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
                {"nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": op, "values": values}]}]}}}}),
            )
        };
        assert_eq!(why_not(&affinity("In", json!(["3", "4"])), &ssd), None);
        assert!(why_not(&affinity("In", json!(["3"])), &plain).is_some());
        assert_eq!(why_not(&affinity("NotIn", json!(["3"])), &plain), None);
        assert!(why_not(&affinity("NotIn", json!(["3"])), &ssd).is_some());
        assert_eq!(why_not(&affinity("Exists", json!([])), &ssd), None);
        assert_eq!(why_not(&affinity("DoesNotExist", json!([])), &plain), None);
        assert_eq!(why_not(&affinity("Gt", json!(["2"])), &ssd), None);
        assert!(why_not(&affinity("Lt", json!(["2"])), &ssd).is_some());
        let by_name = pod(
            json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
            {"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["c"]}]}]}}}}),
        );
        assert_eq!(why_not(&by_name, &plain), None);
        assert!(why_not(&by_name, &ssd).is_some());
        // Terms are ORed.
        let either = pod(
            json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
            {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "disktype", "operator": "In", "values": ["hdd"]}]},
                {"matchExpressions": [{"key": "zone", "operator": "Exists"}]}]}}}}),
        );
        assert_eq!(why_not(&either, &ssd), None);
    }

    #[test]
    fn taints_must_be_tolerated() {
        let gpu = node(
            "b",
            json!({"spec": {"taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"},
                                       {"key": "soft", "effect": "PreferNoSchedule"}]}}),
        );
        assert_eq!(
            why_not(&pod(json!({})), &gpu).unwrap(),
            "b has the taint dedicated=gpu:NoSchedule it does not tolerate"
        );
        for toleration in [
            json!({"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}),
            json!({"key": "dedicated", "operator": "Exists"}),
            json!({"operator": "Exists"}),
            json!({"key": "dedicated", "operator": "Equal", "value": "gpu"}),
        ] {
            let p = pod(json!({"tolerations": [toleration.clone()]}));
            assert_eq!(why_not(&p, &gpu), None, "{toleration}");
        }
        for toleration in [
            json!({"key": "dedicated", "value": "tpu"}),
            json!({"key": "dedicated", "value": "gpu", "effect": "NoExecute"}),
            json!({"key": "other", "operator": "Exists"}),
        ] {
            let p = pod(json!({"tolerations": [toleration.clone()]}));
            assert!(why_not(&p, &gpu).is_some(), "{toleration}");
        }
    }
}
