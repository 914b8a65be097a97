//! Conversation tools over the cluster that the catalogue's read tools do not cover in one
//! call: a workload's rollout history (Deployments from their ReplicaSets, StatefulSets and
//! DaemonSets from their ControllerRevisions) and the conditions of the nodes. Read-only,
//! bounded; the caller redacts.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::actions::ActionContext;
use crate::detect::ObjectRef;
use crate::llm::ToolSpec;

pub const ROLLOUT_TOOL: &str = "rollout_history";
pub const NODES_TOOL: &str = "node_conditions";

/// Revisions shown, newest first.
const MAX_REVISIONS: usize = 10;
/// Nodes with a problem shown in full; healthy ones are only counted beyond this many names.
const MAX_NODES: usize = 20;

pub fn specs() -> Vec<ToolSpec> {
    vec![
        ToolSpec::new(
            ROLLOUT_TOOL,
            "Rollout history of a Deployment, StatefulSet or DaemonSet, newest revision first: \
             when each revision was created, its images and resources, how many of its pods \
             are ready, the change cause. Read-only.",
            json!({"type": "object", "properties": {
                "kind": {"type": "string", "enum": ["Deployment", "StatefulSet", "DaemonSet"]},
                "namespace": {"type": "string"},
                "name": {"type": "string"}},
              "required": ["kind", "namespace", "name"]}),
        ),
        ToolSpec::new(
            NODES_TOOL,
            "Node health: Ready and pressure conditions (with reason, message and since when), \
             cordons and taints; every node, or one by name. Read-only.",
            json!({"type": "object", "properties": {
                "name": {"type": "string", "description": "One node; leave out for all."}},
              "required": []}),
        ),
    ]
}

fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn time(v: &Value, pointer: &str) -> Option<DateTime<Utc>> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .and_then(|t| t.parse().ok())
}

fn age(now: DateTime<Utc>, then: Option<DateTime<Utc>>) -> String {
    let Some(then) = then else {
        return "?".into();
    };
    let secs = (now - then).num_seconds().max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

fn owned_by(v: &Value, uid: &str) -> bool {
    v.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|owners| {
            owners
                .iter()
                .any(|o| o["controller"] == true && o["uid"].as_str() == Some(uid))
        })
}

/// `app=shop/web:1.4 (limits memory=64Mi)`, one per container of a pod template.
fn containers(template: Option<&Value>) -> Vec<String> {
    let Some(list) = template
        .and_then(|t| t.pointer("/spec/containers"))
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    list.iter()
        .map(|c| {
            let mut text = format!("{}={}", s(c, "/name"), s(c, "/image"));
            let mut res = Vec::new();
            for part in ["requests", "limits"] {
                if let Some(m) = c
                    .pointer(&format!("/resources/{part}"))
                    .and_then(Value::as_object)
                    .filter(|m| !m.is_empty())
                {
                    let q: Vec<String> = m
                        .iter()
                        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                        .collect();
                    res.push(format!("{part} {}", q.join(" ")));
                }
            }
            if !res.is_empty() {
                text += &format!(" ({})", res.join("; "));
            }
            text
        })
        .collect()
}

/// The `rollout_history` tool.
pub async fn rollout_history(
    ctx: &ActionContext,
    args: &Map<String, Value>,
) -> Result<String, String> {
    let arg = |n: &str| args.get(n).and_then(Value::as_str).unwrap_or_default();
    let (kind, ns, name) = (arg("kind"), arg("namespace"), arg("name"));
    let target = ObjectRef::namespaced(kind, ns, name);
    let workload = ctx.get(&target).await.map_err(|e| e.to_string())?;
    let uid = s(&workload, "/metadata/uid").to_string();
    let now = ctx.clock.now();
    let deployment = kind == "Deployment";
    let owned_kind = if deployment {
        "ReplicaSet"
    } else {
        "ControllerRevision"
    };
    let mut revisions: Vec<(i64, Value)> = ctx
        .list(owned_kind, Some(ns), None)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|v| owned_by(v, &uid))
        .map(|v| {
            let revision = if deployment {
                s(
                    &v,
                    "/metadata/annotations/deployment.kubernetes.io~1revision",
                )
                .parse()
                .unwrap_or(0)
            } else {
                v.pointer("/revision").and_then(Value::as_i64).unwrap_or(0)
            };
            (revision, v)
        })
        .collect();
    revisions.sort_by_key(|(r, _)| std::cmp::Reverse(*r));
    if revisions.is_empty() {
        return Ok(format!("no recorded revisions for {target}"));
    }
    let current = if deployment {
        revisions.first().map(|(r, _)| *r).unwrap_or(0)
    } else {
        // A StatefulSet or DaemonSet names its current revision (DaemonSets: the newest).
        let named = s(&workload, "/status/updateRevision");
        revisions
            .iter()
            .find(|(_, v)| !named.is_empty() && s(v, "/metadata/name") == named)
            .or(revisions.first())
            .map(|(r, _)| *r)
            .unwrap_or(0)
    };
    let mut out = format!(
        "rollout history of {target} ({} revisions, newest first):\n",
        revisions.len()
    );
    for (revision, v) in revisions.iter().take(MAX_REVISIONS) {
        let template = if deployment {
            v.pointer("/spec/template")
        } else {
            v.pointer("/data/spec/template")
        };
        out += &format!(
            "revision {revision}{} · {} · created {} ago",
            if *revision == current {
                " (current)"
            } else {
                ""
            },
            s(v, "/metadata/name"),
            age(now, time(v, "/metadata/creationTimestamp"))
        );
        if deployment {
            let n = |p: &str| v.pointer(p).and_then(Value::as_i64).unwrap_or(0);
            out += &format!(
                " · pods {}/{} ready",
                n("/status/readyReplicas"),
                n("/status/replicas")
            );
        }
        out += "\n";
        for c in containers(template) {
            out += &format!("  {c}\n");
        }
        let cause = s(v, "/metadata/annotations/kubernetes.io~1change-cause");
        if !cause.is_empty() {
            out += &format!("  change-cause: {cause}\n");
        }
    }
    if revisions.len() > MAX_REVISIONS {
        out += &format!(
            "[{} older revisions left out]\n",
            revisions.len() - MAX_REVISIONS
        );
    }
    Ok(out)
}

/// Whether a node condition's status is the good one.
fn healthy(kind: &str, status: &str) -> bool {
    match kind {
        "Ready" => status == "True",
        _ => status == "False",
    }
}

/// PURE: one node as a line; `None` when it is healthy, schedulable and untainted.
pub fn node_line(v: &Value, now: DateTime<Utc>) -> Option<String> {
    let name = s(v, "/metadata/name");
    let conditions = v
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut problems: Vec<String> = conditions
        .iter()
        .filter(|c| !healthy(s(c, "/type"), s(c, "/status")))
        .map(|c| {
            format!(
                "{}={} ({}: {}) for {}",
                s(c, "/type"),
                s(c, "/status"),
                s(c, "/reason"),
                s(c, "/message"),
                age(now, time(c, "/lastTransitionTime"))
            )
        })
        .collect();
    if !conditions.iter().any(|c| s(c, "/type") == "Ready") {
        problems.push("Ready condition missing (never reported)".into());
    }
    if v.pointer("/spec/unschedulable") == Some(&Value::Bool(true)) {
        problems.push("cordoned".into());
    }
    let taints: Vec<String> = v
        .pointer("/spec/taints")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|t| format!("{}:{}", s(t, "/key"), s(t, "/effect")))
        .collect();
    if !taints.is_empty() {
        problems.push(format!("taints {}", taints.join(", ")));
    }
    (!problems.is_empty()).then(|| format!("{name}: {}", problems.join("; ")))
}

/// The `node_conditions` tool.
pub async fn node_conditions(
    ctx: &ActionContext,
    args: &Map<String, Value>,
) -> Result<String, String> {
    let now = ctx.clock.now();
    let nodes = match args.get("name").and_then(Value::as_str) {
        Some(name) => vec![
            ctx.get(&ObjectRef::cluster_scoped("Node", name))
                .await
                .map_err(|e| e.to_string())?,
        ],
        None => ctx
            .list("Node", None, None)
            .await
            .map_err(|e| e.to_string())?,
    };
    let mut sick = Vec::new();
    let mut fine = Vec::new();
    for n in &nodes {
        match node_line(n, now) {
            Some(line) => sick.push(line),
            None => fine.push(s(n, "/metadata/name").to_string()),
        }
    }
    let mut out = format!(
        "{} nodes: {} healthy, {} with problems\n",
        nodes.len(),
        fine.len(),
        sick.len()
    );
    for line in sick.iter().take(MAX_NODES) {
        out += &format!("{line}\n");
    }
    if sick.len() > MAX_NODES {
        out += &format!("[{} more with problems]\n", sick.len() - MAX_NODES);
    }
    if !fine.is_empty() {
        let shown: Vec<&str> = fine.iter().take(MAX_NODES).map(String::as_str).collect();
        out += &format!(
            "healthy: {}{}\n",
            shown.join(", "),
            if fine.len() > MAX_NODES { ", ..." } else { "" }
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_healthy_node_is_quiet_and_a_sick_one_says_why() {
        let now: DateTime<Utc> = "2024-05-01T10:10:00Z".parse().unwrap();
        let ok = json!({"metadata": {"name": "n1"}, "status": {"conditions": [
            {"type": "Ready", "status": "True"},
            {"type": "MemoryPressure", "status": "False"}]}});
        assert_eq!(node_line(&ok, now), None);
        let sick = json!({"metadata": {"name": "n2"},
            "spec": {"unschedulable": true, "taints": [{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}]},
            "status": {"conditions": [
                {"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown",
                 "message": "Kubelet stopped posting node status.", "lastTransitionTime": "2024-05-01T10:05:00Z"},
                {"type": "DiskPressure", "status": "False"}]}});
        assert_eq!(
            node_line(&sick, now).unwrap(),
            "n2: Ready=Unknown (NodeStatusUnknown: Kubelet stopped posting node status.) for 5m; \
             cordoned; taints node.kubernetes.io/unreachable:NoExecute"
        );
    }

    #[test]
    fn template_containers_show_images_and_resources() {
        let t = json!({"spec": {"containers": [{"name": "app", "image": "shop/web:2",
            "resources": {"limits": {"memory": "64Mi"}, "requests": {}}}]}});
        assert_eq!(
            containers(Some(&t)),
            ["app=shop/web:2 (limits memory=64Mi)"]
        );
    }
}
