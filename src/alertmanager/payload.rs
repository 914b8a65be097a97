//! The webhook payload (version 4) and its translation into signals.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::detect::{Evidence, ObjectRef, Signal, SignalKey, SignalName};

/// Alertmanager's webhook body.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payload {
    pub version: String,
    pub group_key: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub receiver: String,
    #[serde(default)]
    pub group_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub external_url: String,
    pub alerts: Vec<Alert>,
}

/// One alert of a group.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub status: AlertStatus,
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub starts_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(default, rename = "generatorURL")]
    pub generator_url: String,
    #[serde(default)]
    pub fingerprint: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Firing,
    Resolved,
}

/// Why a body was refused (answered with 400 and this text).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PayloadError {
    #[error("body is not a valid Alertmanager webhook payload: {0}")]
    Json(String),
    #[error("unsupported payload version `{0}` (expected \"4\")")]
    Version(String),
    #[error("alert {index} has no `alertname` label")]
    NoAlertName { index: usize },
    #[error("groupKey is empty")]
    NoGroupKey,
}

/// An alert's change, ready to become a signal.
#[derive(Debug, Clone, PartialEq)]
pub enum AlertChange {
    Firing(Box<Signal>),
    Resolved(SignalKey),
}

/// Parses and validates a body.
pub fn parse(body: &[u8]) -> Result<Payload, PayloadError> {
    let payload: Payload =
        serde_json::from_slice(body).map_err(|e| PayloadError::Json(e.to_string()))?;
    if payload.version != "4" {
        return Err(PayloadError::Version(payload.version));
    }
    if payload.group_key.is_empty() {
        return Err(PayloadError::NoGroupKey);
    }
    if let Some(index) = payload
        .alerts
        .iter()
        .position(|a| a.labels.get("alertname").is_none_or(|n| n.is_empty()))
    {
        return Err(PayloadError::NoAlertName { index });
    }
    Ok(payload)
}

/// Labels that name a workload (kube-state-metrics' names). A Job is `job_name`: `job` is
/// Prometheus's own scrape-job label, present on nearly every alert.
const WORKLOAD_LABELS: [(&str, &str); 5] = [
    ("deployment", "Deployment"),
    ("statefulset", "StatefulSet"),
    ("daemonset", "DaemonSet"),
    ("cronjob", "CronJob"),
    ("job_name", "Job"),
];

/// The signal for one alert of a group. `pod_owner` resolves a pod's root owner (so an alert
/// about a pod joins its Deployment's incident); it may return None when the pod is unknown.
pub fn signal_for(
    group_key: &str,
    alert: &Alert,
    pod_owner: &dyn Fn(&str, &str) -> Option<ObjectRef>,
) -> AlertChange {
    let labels = &alert.labels;
    let alertname = labels.get("alertname").cloned().unwrap_or_default();
    let namespace = labels.get("namespace").filter(|n| !n.is_empty());
    let fingerprint = if alert.fingerprint.is_empty() {
        short_hash(&format!("{labels:?}"))
    } else {
        alert.fingerprint.clone()
    };
    let object = ObjectRef::new(
        "Alert",
        namespace.map(String::as_str),
        &format!("{alertname}/{fingerprint}"),
    );
    if alert.status == AlertStatus::Resolved {
        return AlertChange::Resolved(SignalKey {
            name: SignalName::Alert,
            object,
        });
    }

    let owner = namespace
        .and_then(|ns| workload_of(ns, labels, pod_owner))
        .unwrap_or_else(|| ObjectRef::cluster_scoped("AlertGroup", &short_hash(group_key)));
    let mut details: BTreeMap<String, String> = labels.clone();
    for (k, v) in &alert.annotations {
        details.insert(format!("annotation.{k}"), v.clone());
    }
    details.insert("group_key".into(), group_key.to_string());
    if !alert.generator_url.is_empty() {
        details.insert("generator_url".into(), alert.generator_url.clone());
    }
    let message = ["summary", "description", "message"]
        .iter()
        .find_map(|k| alert.annotations.get(*k))
        .cloned()
        .unwrap_or_else(|| alertname.clone());
    AlertChange::Firing(Box::new(Signal {
        name: SignalName::Alert,
        object,
        owner,
        node: labels.get("node").cloned(),
        cause: None,
        evidence: Evidence {
            reason: alertname,
            message,
            container: labels.get("container").cloned(),
            count: None,
            since: alert.starts_at,
            details,
        },
    }))
}

fn workload_of(
    namespace: &str,
    labels: &BTreeMap<String, String>,
    pod_owner: &dyn Fn(&str, &str) -> Option<ObjectRef>,
) -> Option<ObjectRef> {
    for (label, kind) in WORKLOAD_LABELS {
        if let Some(name) = labels.get(label).filter(|n| !n.is_empty()) {
            return Some(ObjectRef::namespaced(kind, namespace, name));
        }
    }
    let pod = labels.get("pod").filter(|p| !p.is_empty())?;
    Some(pod_owner(namespace, pod).unwrap_or_else(|| ObjectRef::namespaced("Pod", namespace, pod)))
}

fn short_hash(s: &str) -> String {
    hex::encode(&Sha256::digest(s.as_bytes())[..8])
}
