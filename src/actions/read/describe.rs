//! `describe`: a kubectl-describe-like summary — status, conditions, containers with state,
//! restarts and resources, a workload's pods (unhealthy first), a node's capacity, and the
//! object's recent events. Built from JSON so it reads any API version the same way.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::format::{self, age, time};
use super::{events, list};
use crate::actions::action::ReadTool;
use crate::actions::context::ActionContext;
use crate::actions::error::Result;
use crate::actions::spec::{ToolSpec, parse_params, schema_for};
use crate::actions::workload;
use crate::detect::ObjectRef;

pub static SPEC: ToolSpec = ToolSpec {
    name: "describe",
    summary: "Describe an object like kubectl describe: status, conditions, containers (state, \
              restarts, limits), pods of a workload, recent events.",
    params_schema: schema_for::<Params>,
};

/// Parameters of `describe`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[schemars(schema_with = "super::kind_schema")]
    pub kind: String,
    /// Name of the object.
    pub name: String,
    /// Namespace (required for namespaced kinds).
    #[serde(default)]
    pub namespace: Option<String>,
}

/// Pods shown for a workload; events shown for any object.
const PODS_SHOWN: usize = 5;
const EVENTS_SHOWN: usize = 10;

pub struct Describe;

#[async_trait]
impl ReadTool for Describe {
    fn spec(&self) -> &'static ToolSpec {
        &SPEC
    }

    async fn run(&self, ctx: &ActionContext, params: &Value) -> Result<String> {
        let p: Params = parse_params(SPEC.name, params)?;
        let kind = super::read_kind(SPEC.name, &p.kind)?;
        let ns = super::namespace_for(SPEC.name, kind, p.namespace.as_deref())?;
        let target = ObjectRef::new(kind.kind, ns, &p.name);
        let object = ctx.get(&target).await?;
        let now = ctx.clock.now();
        let mut out = header(&target, &object, now);
        match kind.kind {
            "Pod" => out += &pod(&object, now),
            "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
                out += &workload_status(&object);
                if let Ok(w) = workload::workload(ctx, &target).await {
                    let mut pods = workload::pods_of(ctx, &w).await?;
                    let total = pods.len();
                    pods.sort_by_key(|p| {
                        (
                            crate::actions::pods::is_ready(p),
                            -crate::actions::pods::restarts(p),
                        )
                    });
                    let shown: Vec<Value> = pods
                        .into_iter()
                        .take(PODS_SHOWN)
                        .filter_map(|p| serde_json::to_value(p).ok())
                        .collect();
                    out += &format!("Pods ({} of {total}, unhealthy first):\n", shown.len());
                    out += &indent(&list::render("Pod", now, &shown, false));
                }
            }
            "Node" => out += &node(&object),
            _ => {
                out += &conditions(&object);
                if let Some(spec) = object.get("spec") {
                    let budget = ctx.config.read.max_output_chars / 3;
                    out += "Spec:\n";
                    out += &indent(&format::bounded(
                        &crate::actions::diff::to_yaml(spec),
                        budget,
                    ));
                }
            }
        }
        // Events of cluster-scoped objects (Nodes) live in some namespace: search them all.
        let evs = events::fetch(ctx, ns, Some(kind.kind), Some(&p.name)).await?;
        if evs.is_empty() {
            out += "Events: none (they expire after an hour)\n";
        } else {
            out += &format!(
                "Events (newest first, {} of {}):\n",
                evs.len().min(EVENTS_SHOWN),
                evs.len()
            );
            out += &indent(&events::lines(now, &evs, EVENTS_SHOWN));
        }
        Ok(super::bounded(ctx, &out))
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or("")
}

/// Name, age, labels, controller.
fn header(target: &ObjectRef, v: &Value, now: DateTime<Utc>) -> String {
    let mut out = format!(
        "{target} (created {} ago)\n",
        age(now, time(v, "/metadata/creationTimestamp"))
    );
    if let Some(labels) = v.pointer("/metadata/labels").and_then(Value::as_object) {
        let l: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
            .collect();
        out += &format!("Labels: {}\n", l.join(", "));
    }
    let owners = v
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array);
    if let Some(o) = owners
        .into_iter()
        .flatten()
        .find(|o| o["controller"] == true)
    {
        out += &format!("Controlled by: {}/{}\n", s(o, "/kind"), s(o, "/name"));
    }
    out
}

/// `Conditions: Ready=False (ContainersNotReady: ...), ...`
fn conditions(v: &Value) -> String {
    let cs = v.pointer("/status/conditions").and_then(Value::as_array);
    let Some(cs) = cs.filter(|c| !c.is_empty()) else {
        return String::new();
    };
    let mut out = String::from("Conditions:\n");
    for c in cs {
        let detail = match (s(c, "/reason"), s(c, "/message")) {
            ("", "") => String::new(),
            (r, "") => format!(" ({r})"),
            (r, m) => format!(" ({r}: {})", format::cut_chars(m, 160)),
        };
        out += &format!("  {}={}{detail}\n", s(c, "/type"), s(c, "/status"));
    }
    out
}

/// `cpu=100m, memory=64Mi`
fn quantities(v: Option<&Value>) -> String {
    let Some(map) = v.and_then(Value::as_object) else {
        return "none".into();
    };
    map.iter()
        .map(|(k, q)| format!("{k}={}", q.as_str().unwrap_or("")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One line per container of a pod spec: image, requests, limits.
fn container_specs(spec: &Value) -> String {
    let mut out = String::new();
    for c in spec
        .get("containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out += &format!(
            "  {} (image {})\n    requests: {}; limits: {}\n",
            s(c, "/name"),
            s(c, "/image"),
            quantities(c.pointer("/resources/requests")),
            quantities(c.pointer("/resources/limits"))
        );
    }
    out
}

/// `waiting CrashLoopBackOff: back-off 10s ...`, `terminated OOMKilled (exit 137)`, `running`.
fn state(st: Option<&Value>) -> Option<String> {
    let st = st?.as_object()?;
    let (kind, detail) = st.iter().next()?;
    let reason = s(detail, "/reason");
    let mut out = kind.clone();
    if !reason.is_empty() {
        out += &format!(" {reason}");
    }
    if let Some(code) = detail.get("exitCode").and_then(Value::as_i64) {
        out += &format!(" (exit {code})");
    }
    let msg = s(detail, "/message");
    if !msg.is_empty() {
        out += &format!(": {}", format::cut_chars(msg, 160));
    }
    Some(out)
}

fn pod(v: &Value, now: DateTime<Utc>) -> String {
    let mut out = format!(
        "Status: {} (phase {}), node {}, started {} ago\n",
        list::pod_status(v),
        s(v, "/status/phase"),
        v.pointer("/spec/nodeName")
            .and_then(Value::as_str)
            .unwrap_or("<none>"),
        age(now, time(v, "/status/startTime"))
    );
    out += &conditions(v);
    out += "Containers:\n";
    let statuses = v
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array);
    for c in v
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = s(c, "/name");
        out += &format!("  {name} (image {})\n", s(c, "/image"));
        if let Some(st) = statuses.into_iter().flatten().find(|st| st["name"] == name) {
            out += &format!(
                "    ready: {}, restarts: {}\n",
                st["ready"].as_bool().unwrap_or(false),
                st["restartCount"].as_i64().unwrap_or(0)
            );
            if let Some(now_state) = state(st.get("state")) {
                out += &format!("    state: {now_state}\n");
            }
            if let Some(last) = state(st.get("lastState")) {
                out += &format!("    last state: {last}\n");
            }
        }
        out += &format!(
            "    requests: {}; limits: {}\n",
            quantities(c.pointer("/resources/requests")),
            quantities(c.pointer("/resources/limits"))
        );
    }
    out
}

fn workload_status(v: &Value) -> String {
    let mut out = String::new();
    if let Some(status) = v.get("status").and_then(Value::as_object) {
        let counts: Vec<String> = [
            ("replicas", "replicas"),
            ("updatedReplicas", "updated"),
            ("readyReplicas", "ready"),
            ("availableReplicas", "available"),
            ("unavailableReplicas", "unavailable"),
            ("desiredNumberScheduled", "desired"),
            ("numberReady", "ready"),
            ("numberAvailable", "available"),
            ("active", "active"),
            ("succeeded", "succeeded"),
            ("failed", "failed"),
        ]
        .iter()
        .filter_map(|(k, label)| {
            status
                .get(*k)
                .and_then(Value::as_i64)
                .map(|n| format!("{label} {n}"))
        })
        .collect();
        let desired = v
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .map(|n| format!("desired {n}, "));
        out += &format!(
            "Replicas: {}{}\n",
            desired.unwrap_or_default(),
            counts.join(", ")
        );
    }
    if let Some(rev) = v
        .pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
        .and_then(Value::as_str)
    {
        out += &format!("Revision: {rev}\n");
    }
    if v.pointer("/spec/paused") == Some(&Value::Bool(true)) {
        out += "Paused: yes (rollouts wait)\n";
    }
    if let Some(sel) = v
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
    {
        let l: Vec<String> = sel
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
            .collect();
        out += &format!("Selector: {}\n", l.join(","));
    }
    out += &conditions(v);
    if let Some(spec) = v.pointer("/spec/template/spec") {
        out += "Template containers:\n";
        out += &container_specs(spec);
    }
    out
}

fn node(v: &Value) -> String {
    let mut out = String::new();
    if v.pointer("/spec/unschedulable") == Some(&Value::Bool(true)) {
        out += "Unschedulable: yes (cordoned)\n";
    }
    let taints: Vec<String> = v
        .pointer("/spec/taints")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|t| format!("{}={}:{}", s(t, "/key"), s(t, "/value"), s(t, "/effect")))
        .collect();
    if !taints.is_empty() {
        out += &format!("Taints: {}\n", taints.join(", "));
    }
    out += &conditions(v);
    out += &format!(
        "Capacity: {}\nAllocatable: {}\n",
        quantities(v.pointer("/status/capacity")),
        quantities(v.pointer("/status/allocatable"))
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_crash_looping_pod_reads_like_kubectl_describe() {
        let now = DateTime::parse_from_rfc3339("2024-01-01T01:00:00Z")
            .unwrap()
            .to_utc();
        let v = json!({
            "metadata": {"name": "cart-1", "namespace": "shop", "creationTimestamp": "2024-01-01T00:55:00Z",
                         "labels": {"app": "cart"},
                         "ownerReferences": [{"kind": "ReplicaSet", "name": "cart-7d", "controller": true}]},
            "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "shop/cart:1",
                     "resources": {"requests": {"memory": "64Mi"}, "limits": {"memory": "128Mi"}}}]},
            "status": {"phase": "Running", "startTime": "2024-01-01T00:55:00Z",
                "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
                "containerStatuses": [{"name": "app", "ready": false, "restartCount": 4,
                    "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
                    "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}]},
        });
        let target = ObjectRef::namespaced("Pod", "shop", "cart-1");
        let text = header(&target, &v, now) + &pod(&v, now);
        assert_eq!(
            text,
            "Pod shop/cart-1 (created 5m ago)\n\
             Labels: app=cart\n\
             Controlled by: ReplicaSet/cart-7d\n\
             Status: CrashLoopBackOff (phase Running), node n1, started 5m ago\n\
             Conditions:\n  Ready=False (ContainersNotReady)\n\
             Containers:\n  app (image shop/cart:1)\n    ready: false, restarts: 4\n\
             \x20   state: waiting CrashLoopBackOff: back-off 40s\n\
             \x20   last state: terminated OOMKilled (exit 137)\n\
             \x20   requests: memory=64Mi; limits: memory=128Mi\n"
        );
    }
}
