//! `events`: what the cluster said about an object or a namespace, newest first, bounded.
//! `describe` shows the same lines for its object.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kube::api::{Api, ListParams};
use kube::core::DynamicObject;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::format;
use crate::actions::action::ReadTool;
use crate::actions::context::{ActionContext, to_json};
use crate::actions::error::{ActionError, Result};
use crate::actions::spec::{ToolSpec, parse_params, schema_for};

pub static SPEC: ToolSpec = ToolSpec {
    name: "events",
    summary: "Recent Kubernetes events of an object or a whole namespace, newest first.",
    params_schema: schema_for::<Params>,
};

/// Parameters of `events`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Namespace of the events; for a Node's events leave it out.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Only events about objects of this kind (`Pod`, `Deployment`, `Node`).
    #[serde(default)]
    pub kind: Option<String>,
    /// Only events about the object of this name.
    #[serde(default)]
    pub name: Option<String>,
    /// Most events to return (bounded by the configured maximum).
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub limit: Option<usize>,
}

pub struct Events;

#[async_trait]
impl ReadTool for Events {
    fn spec(&self) -> &'static ToolSpec {
        &SPEC
    }

    async fn run(&self, ctx: &ActionContext, params: &Value) -> Result<String> {
        let p: Params = parse_params(SPEC.name, params)?;
        // Events about a Secret are not the Secret: those may be read.
        let kind = match p.kind.as_deref() {
            None => None,
            Some(k) if crate::actions::kinds::is_secret(k) => Some("Secret"),
            Some(k) => Some(super::read_kind(SPEC.name, k)?.kind),
        };
        let limit = p
            .limit
            .unwrap_or(usize::MAX)
            .min(ctx.config.read.max_events);
        let events = fetch(ctx, p.namespace.as_deref(), kind, p.name.as_deref()).await?;
        let scope = match (kind, &p.name, &p.namespace) {
            (k, Some(n), ns) => format!(
                "{}{}{n}",
                k.map(|k| format!("{k} ")).unwrap_or_default(),
                ns.as_deref().map(|ns| format!("{ns}/")).unwrap_or_default()
            ),
            (_, None, Some(ns)) => format!("namespace {ns}"),
            (_, None, None) => "all namespaces".into(),
        };
        if events.is_empty() {
            return Ok(format!(
                "no events for {scope} (events expire after an hour)\n"
            ));
        }
        let text = format!(
            "events for {scope}, newest first ({} of {}):\n{}",
            events.len().min(limit),
            events.len(),
            lines(ctx.clock.now(), &events, limit)
        );
        Ok(super::bounded(ctx, &text))
    }
}

/// Events in `namespace` (all when `None`), optionally about one object (`kind` as the API
/// spells it); newest first.
pub async fn fetch(
    ctx: &ActionContext,
    namespace: Option<&str>,
    kind: Option<&str>,
    name: Option<&str>,
) -> Result<Vec<Value>> {
    let ar = ctx.resource("Event")?;
    let api: Api<DynamicObject> = match namespace {
        Some(ns) => Api::namespaced_with(ctx.client.clone(), ns, &ar),
        None => Api::all_with(ctx.client.clone(), &ar),
    };
    let mut fields = Vec::new();
    if let Some(n) = name {
        fields.push(format!("involvedObject.name={n}"));
    }
    if let Some(k) = kind {
        fields.push(format!("involvedObject.kind={k}"));
    }
    let list = api
        .list(&ListParams::default().fields(&fields.join(",")))
        .await
        .map_err(|e| ActionError::kube("list", "events", e))?;
    let mut events: Vec<Value> = list.items.into_iter().map(to_json).collect::<Result<_>>()?;
    events.sort_by(|a, b| {
        last_seen(b).cmp(&last_seen(a)).then_with(|| {
            a["metadata"]["name"]
                .as_str()
                .cmp(&b["metadata"]["name"].as_str())
        })
    });
    Ok(events)
}

/// When an event last happened: lastTimestamp, else eventTime, firstTimestamp, creation.
fn last_seen(e: &Value) -> Option<DateTime<Utc>> {
    [
        "/lastTimestamp",
        "/eventTime",
        "/firstTimestamp",
        "/metadata/creationTimestamp",
    ]
    .iter()
    .find_map(|p| format::time(e, p))
}

/// One line per event: `3m  Warning  BackOff  Pod/cart-1 (x12): Back-off restarting ...`.
pub fn lines(now: DateTime<Utc>, events: &[Value], limit: usize) -> String {
    let rows: Vec<Vec<String>> = events
        .iter()
        .take(limit)
        .map(|e| {
            let count = e["count"].as_i64().unwrap_or(1);
            let object = format!(
                "{}/{}{}",
                e["involvedObject"]["kind"].as_str().unwrap_or("?"),
                e["involvedObject"]["name"].as_str().unwrap_or("?"),
                if count > 1 {
                    format!(" (x{count})")
                } else {
                    String::new()
                }
            );
            vec![
                format::age(now, last_seen(e)),
                e["type"].as_str().unwrap_or("").to_string(),
                e["reason"].as_str().unwrap_or("").to_string(),
                object,
                format::cut_chars(e["message"].as_str().unwrap_or("").trim(), 240),
            ]
        })
        .collect();
    format::table(&["AGE", "TYPE", "REASON", "OBJECT", "MESSAGE"], &rows)
}
