//! PURE: what an answer looked at, said by Lookout rather than by the model. Every tool call
//! that ran adds a label (`Deployment shop/web`, `logs of pod shop/web-1`), and event reasons
//! seen in tool results (`BackOff`, `OOMKilling`) are collected, so the "Looked at" line under an
//! answer is a fact about the tool calls, whatever the model claims.

use serde_json::{Map, Value};

/// Labels listed before the rest is counted.
const MAX_LABELS: usize = 8;
/// Event reasons listed.
const MAX_REASONS: usize = 8;

/// The citations of one answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Citations {
    labels: Vec<String>,
    reasons: Vec<String>,
}

impl Citations {
    /// Records a tool call that ran, and the event reasons in its result.
    pub fn add(&mut self, tool: &str, args: &Map<String, Value>, output: &str) {
        let label = label(tool, args);
        if !self.labels.contains(&label) {
            self.labels.push(label);
        }
        for reason in event_reasons(output) {
            if !self.reasons.contains(&reason) {
                self.reasons.push(reason);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// `Looked at: Deployment shop/web, logs of pod shop/web-1 (previous) · events: BackOff`,
    /// or `None` when no tool ran.
    pub fn line(&self) -> Option<String> {
        if self.labels.is_empty() {
            return None;
        }
        let mut shown: Vec<&str> = self
            .labels
            .iter()
            .take(MAX_LABELS)
            .map(String::as_str)
            .collect();
        let more = self.labels.len().saturating_sub(MAX_LABELS);
        let more = (more > 0).then(|| format!("{more} more"));
        if let Some(m) = &more {
            shown.push(m);
        }
        let mut line = format!("Looked at: {}", shown.join(", "));
        if !self.reasons.is_empty() {
            let reasons: Vec<&str> = self
                .reasons
                .iter()
                .take(MAX_REASONS)
                .map(String::as_str)
                .collect();
            line += &format!(" · event reasons: {}", reasons.join(", "));
        }
        Some(line)
    }
}

fn arg<'a>(args: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    args.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn object(kind: &str, namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) if kind != "Node" => format!("{kind} {ns}/{name}"),
        _ => format!("{kind} {name}"),
    }
}

/// How a tool call is named in the "Looked at" line.
pub fn label(tool: &str, args: &Map<String, Value>) -> String {
    let ns = arg(args, "namespace");
    let name = arg(args, "name");
    let kind = arg(args, "kind");
    match (tool, kind, name) {
        ("get" | "describe", Some(kind), Some(name)) => object(kind, ns, name),
        ("logs", _, _) => {
            let pod = arg(args, "pod").unwrap_or("?");
            let previous = args.get("previous") == Some(&Value::Bool(true));
            format!(
                "logs of pod {}/{pod}{}",
                ns.unwrap_or("?"),
                if previous { " (previous)" } else { "" }
            )
        }
        ("events", Some(kind), Some(name)) => format!("events of {}", object(kind, ns, name)),
        ("events", _, _) => match ns {
            Some(ns) => format!("events in {ns}"),
            None => "events in all namespaces".into(),
        },
        ("list", Some(kind), _) => match ns {
            Some(ns) => format!("{kind} list in {ns}"),
            None => format!("{kind} list"),
        },
        ("incidents", _, _) => format!("{} incidents", arg(args, "which").unwrap_or("open")),
        ("incident_timeline", _, _) => {
            format!("timeline of {}", arg(args, "id").unwrap_or("?"))
        }
        ("rollout_history", _, Some(name)) => format!(
            "rollout history of {}",
            object(kind.unwrap_or("Deployment"), ns, name)
        ),
        ("node_conditions", _, Some(name)) => format!("conditions of Node {name}"),
        ("node_conditions", _, None) => "node conditions".into(),
        (tool, _, _) => tool.to_string(),
    }
}

/// Event reasons in a tool's output: rows of the events table (`AGE TYPE REASON OBJECT
/// MESSAGE`), as `events` and `describe` print it.
pub fn event_reasons(output: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in output.lines() {
        let mut words = line.split_whitespace();
        let (Some(_age), Some(kind), Some(reason)) = (words.next(), words.next(), words.next())
        else {
            continue;
        };
        if matches!(kind, "Normal" | "Warning") && !out.iter().any(|r| r == reason) {
            out.push(reason.to_string());
        }
    }
    out
}

/// The answer without any "Looked at" line the model wrote itself (Lookout adds its own).
pub fn strip_looked_at(answer: &str) -> String {
    answer
        .lines()
        .filter(|l| {
            !l.trim_start()
                .trim_start_matches(['*', '_', '-', ' '])
                .to_lowercase()
                .starts_with("looked at:")
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn the_line_names_objects_once_and_the_event_reasons_seen() {
        let mut c = Citations::default();
        assert_eq!(c.line(), None);
        let events = "events for Pod shop/web-1, newest first (2 of 2):\n\
                      AGE  TYPE     REASON   OBJECT          MESSAGE\n\
                      1m   Warning  BackOff  Pod/web-1 (x4)  Back-off restarting failed container\n\
                      3m   Normal   Pulled   Pod/web-1       Container image already present\n";
        c.add(
            "describe",
            &args(json!({"kind": "Deployment", "namespace": "shop", "name": "web"})),
            "Events:\n  2m  Warning  OOMKilling  Pod/web-1  Memory cgroup out of memory\n",
        );
        c.add(
            "events",
            &args(json!({"namespace": "shop", "kind": "Pod", "name": "web-1"})),
            events,
        );
        c.add(
            "describe",
            &args(json!({"kind": "Deployment", "namespace": "shop", "name": "web"})),
            "",
        );
        c.add(
            "logs",
            &args(json!({"namespace": "shop", "pod": "web-1", "previous": true})),
            "boom",
        );
        assert_eq!(
            c.line().unwrap(),
            "Looked at: Deployment shop/web, events of Pod shop/web-1, logs of pod shop/web-1 \
             (previous) · event reasons: OOMKilling, BackOff, Pulled"
        );
    }

    #[test]
    fn node_and_store_tools_have_their_own_labels() {
        assert_eq!(
            label("describe", &args(json!({"kind": "Node", "name": "n1"}))),
            "Node n1"
        );
        assert_eq!(
            label("incident_timeline", &args(json!({"id": "local/INC-3"}))),
            "timeline of local/INC-3"
        );
        assert_eq!(
            label("incidents", &args(json!({"which": "past"}))),
            "past incidents"
        );
        assert_eq!(
            label("node_conditions", &args(json!({}))),
            "node conditions"
        );
        assert_eq!(
            label("list", &args(json!({"kind": "Pod", "namespace": "shop"}))),
            "Pod list in shop"
        );
    }

    #[test]
    fn the_models_own_looked_at_line_is_replaced() {
        let text = "The pods are OOM-killed.\n\n**Looked at:** describe, logs\nlooked at: x";
        assert_eq!(strip_looked_at(text), "The pods are OOM-killed.");
        assert_eq!(strip_looked_at("No tools needed."), "No tools needed.");
    }
}
