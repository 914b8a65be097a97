//! `list`: objects of one kind as a compact table, like `kubectl get`, sorted by namespace and
//! name and bounded in rows.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::format::{self, age, time};
use crate::actions::action::ReadTool;
use crate::actions::context::ActionContext;
use crate::actions::error::Result;
use crate::actions::spec::{ToolSpec, parse_params, schema_for};

pub static SPEC: ToolSpec = ToolSpec {
    name: "list",
    summary: "List objects of one kind (in a namespace, optionally by label selector) as a table.",
    params_schema: schema_for::<Params>,
};

/// Parameters of `list`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[schemars(schema_with = "super::kind_schema")]
    pub kind: String,
    /// Namespace; leave out for all namespaces (or for cluster-scoped kinds).
    #[serde(default)]
    pub namespace: Option<String>,
    /// Label selector, such as `app=cart` or `tier in (web,api)`.
    #[serde(default)]
    pub label_selector: Option<String>,
}

pub struct List;

#[async_trait]
impl ReadTool for List {
    fn spec(&self) -> &'static ToolSpec {
        &SPEC
    }

    async fn run(&self, ctx: &ActionContext, params: &Value) -> Result<String> {
        let p: Params = parse_params(SPEC.name, params)?;
        let kind = super::read_kind(SPEC.name, &p.kind)?;
        let ns = if kind.namespaced {
            p.namespace.as_deref()
        } else {
            None
        };
        let mut items = ctx.list(kind.kind, ns, p.label_selector.as_deref()).await?;
        items.sort_by_key(key);
        let scope = match ns {
            Some(ns) => format!("in {ns}"),
            None if kind.namespaced => "in all namespaces".into(),
            None => "(cluster-wide)".into(),
        };
        if items.is_empty() {
            return Ok(format!("no {} {scope}\n", kind.plural));
        }
        let max = ctx.config.read.max_list_rows;
        let mut text = format!("{} {} {scope}:\n", items.len(), kind.plural);
        text += &render(
            kind.kind,
            ctx.clock.now(),
            &items[..items.len().min(max)],
            ns.is_none() && kind.namespaced,
        );
        if items.len() > max {
            text += &format!(
                "[... and {} more; narrow with namespace or label_selector]\n",
                items.len() - max
            );
        }
        Ok(super::bounded(ctx, &text))
    }
}

fn key(v: &Value) -> (String, String) {
    let s = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    (s("/metadata/namespace"), s("/metadata/name"))
}

fn num(v: &Value, p: &str) -> i64 {
    v.pointer(p).and_then(Value::as_i64).unwrap_or(0)
}

/// PURE: the table for a kind (the columns kubectl shows for it, or name and age).
pub fn render(kind: &str, now: DateTime<Utc>, items: &[Value], with_namespace: bool) -> String {
    let created = |v: &Value| age(now, time(v, "/metadata/creationTimestamp"));
    let (mut headers, rows): (Vec<&str>, Vec<Vec<String>>) = match kind {
        "Pod" => (
            vec!["NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE"],
            items
                .iter()
                .map(|v| {
                    let statuses = v
                        .pointer("/status/containerStatuses")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default();
                    let ready = statuses.iter().filter(|c| c["ready"] == true).count();
                    let restarts: i64 = statuses
                        .iter()
                        .map(|c| c["restartCount"].as_i64().unwrap_or(0))
                        .sum();
                    vec![
                        key(v).1,
                        format!("{ready}/{}", statuses.len()),
                        pod_status(v),
                        restarts.to_string(),
                        created(v),
                        v.pointer("/spec/nodeName")
                            .and_then(Value::as_str)
                            .unwrap_or("<none>")
                            .to_string(),
                    ]
                })
                .collect(),
        ),
        "Deployment" | "StatefulSet" | "ReplicaSet" => (
            vec!["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
            items
                .iter()
                .map(|v| {
                    vec![
                        key(v).1,
                        format!(
                            "{}/{}",
                            num(v, "/status/readyReplicas"),
                            num(v, "/spec/replicas")
                        ),
                        num(
                            v,
                            if kind == "ReplicaSet" {
                                "/status/replicas"
                            } else {
                                "/status/updatedReplicas"
                            },
                        )
                        .to_string(),
                        num(v, "/status/availableReplicas").to_string(),
                        created(v),
                    ]
                })
                .collect(),
        ),
        "DaemonSet" => (
            vec!["NAME", "DESIRED", "READY", "AVAILABLE", "AGE"],
            items
                .iter()
                .map(|v| {
                    vec![
                        key(v).1,
                        num(v, "/status/desiredNumberScheduled").to_string(),
                        num(v, "/status/numberReady").to_string(),
                        num(v, "/status/numberAvailable").to_string(),
                        created(v),
                    ]
                })
                .collect(),
        ),
        "Node" => (
            vec!["NAME", "STATUS", "AGE"],
            items
                .iter()
                .map(|v| {
                    let ready = conditions(v)
                        .into_iter()
                        .find(|(t, _)| t == "Ready")
                        .map(|(_, s)| s);
                    let mut status = match ready.as_deref() {
                        Some("True") => "Ready".to_string(),
                        _ => "NotReady".to_string(),
                    };
                    if v.pointer("/spec/unschedulable") == Some(&Value::Bool(true)) {
                        status += ",SchedulingDisabled";
                    }
                    vec![key(v).1, status, created(v)]
                })
                .collect(),
        ),
        _ => (
            vec!["NAME", "AGE"],
            items.iter().map(|v| vec![key(v).1, created(v)]).collect(),
        ),
    };
    let rows = if with_namespace {
        headers.insert(0, "NAMESPACE");
        rows.into_iter()
            .zip(items)
            .map(|(mut r, v)| {
                r.insert(0, key(v).0);
                r
            })
            .collect()
    } else {
        rows
    };
    format::table(&headers, &rows)
}

/// `(type, status)` of each status condition.
pub fn conditions(v: &Value) -> Vec<(String, String)> {
    v.pointer("/status/conditions")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    (
                        c["type"].as_str().unwrap_or("").to_string(),
                        c["status"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The STATUS column of `kubectl get pods`: Terminating, a container's waiting or terminated
/// reason, else the phase.
pub fn pod_status(v: &Value) -> String {
    if v.pointer("/metadata/deletionTimestamp").is_some() {
        return "Terminating".into();
    }
    let statuses = v
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array);
    for c in statuses.into_iter().flatten() {
        for p in ["/state/waiting/reason", "/state/terminated/reason"] {
            if let Some(r) = c.pointer(p).and_then(Value::as_str) {
                return r.to_string();
            }
        }
    }
    v.pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("Unknown")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pods_render_like_kubectl_get_pods() {
        let now = DateTime::parse_from_rfc3339("2024-01-01T01:00:00Z")
            .unwrap()
            .to_utc();
        let pod = |name: &str, ns: &str, waiting: Option<&str>, restarts: i64| {
            json!({
                "metadata": {"name": name, "namespace": ns, "creationTimestamp": "2024-01-01T00:50:00Z"},
                "spec": {"nodeName": "n1"},
                "status": {"phase": "Running", "containerStatuses": [{
                    "ready": waiting.is_none(), "restartCount": restarts,
                    "state": waiting.map(|w| json!({"waiting": {"reason": w}})).unwrap_or(json!({"running": {}})),
                }]},
            })
        };
        let items = [
            pod("a", "shop", None, 0),
            pod("b", "web", Some("CrashLoopBackOff"), 7),
        ];
        assert_eq!(
            render("Pod", now, &items, true),
            "NAMESPACE  NAME  READY  STATUS            RESTARTS  AGE  NODE\n\
             shop       a     1/1    Running           0         10m  n1\n\
             web        b     0/1    CrashLoopBackOff  7         10m  n1\n"
        );
        assert_eq!(
            render("ConfigMap", now, &items[..1], false),
            "NAME  AGE\na     10m\n"
        );
    }
}
