//! PURE: the primary resource's status and conditions, per kind, as facts in a fixed order.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{
    Node, PersistentVolumeClaim, Pod, PodTemplateSpec, ResourceQuota,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use chrono::{DateTime, Utc};

use super::model::{ConditionFacts, ResourceFacts, resources_line};
use super::pods::{resources, time};
use crate::detect::ObjectRef;
use crate::model::{CronJob, HorizontalPodAutoscaler, meta::Condition};

/// The primary resource as read.
#[derive(Debug, Clone)]
pub enum Primary {
    Deployment(Box<Deployment>),
    StatefulSet(Box<StatefulSet>),
    DaemonSet(Box<DaemonSet>),
    ReplicaSet(Box<ReplicaSet>),
    Job(Box<Job>),
    CronJob(Box<CronJob>),
    Pod(Box<Pod>),
    Node(Box<Node>),
    Pvc(Box<PersistentVolumeClaim>),
    Hpa(Box<HorizontalPodAutoscaler>),
    Quota(Box<ResourceQuota>),
}

/// Whether `status` is the good one for a condition of this type: pressure, failure and
/// limits are good when False, everything else when True.
pub fn healthy(type_: &str, status: &str) -> bool {
    let bad_when_true = type_.ends_with("Pressure")
        || matches!(
            type_,
            "NetworkUnavailable" | "ReplicaFailure" | "Failed" | "FailureTarget" | "ScalingLimited"
        );
    if bad_when_true {
        status == "False"
    } else {
        status == "True"
    }
}

/// A field that is a `String` in some condition structs and an `Option<String>` in others.
pub trait Text {
    fn text(&self) -> String;
}

impl Text for String {
    fn text(&self) -> String {
        self.clone()
    }
}

impl Text for Option<String> {
    fn text(&self) -> String {
        self.clone().unwrap_or_default()
    }
}

/// A condition of any kind's condition struct (they share field names, not a type).
macro_rules! condition {
    ($c:expr) => {{
        use $crate::context::resource::Text as _;
        let c = $c;
        let (type_, status) = (c.type_.text(), c.status.text());
        $crate::context::ConditionFacts {
            healthy: $crate::context::resource::healthy(&type_, &status),
            type_,
            status,
            reason: c.reason.text(),
            message: c.message.text(),
            since: $crate::context::pods::time(c.last_transition_time.as_ref()),
        }
    }};
}
pub(super) use condition;

fn lean_condition(c: &Condition) -> ConditionFacts {
    let status = format!("{:?}", c.status);
    ConditionFacts {
        healthy: healthy(&c.type_, &status),
        type_: c.type_.clone(),
        status,
        reason: c.reason.clone().unwrap_or_default(),
        message: c.message.clone().unwrap_or_default(),
        since: c.last_transition_time,
    }
}

fn n(v: Option<i32>) -> i32 {
    v.unwrap_or(0)
}

/// `app=shop/web:1.4.2` and each container's requests and limits, from a pod template.
fn template_facts(t: Option<&PodTemplateSpec>, out: &mut Vec<(String, String)>) {
    let Some(spec) = t.and_then(|t| t.spec.as_ref()) else {
        return;
    };
    let images: Vec<String> = spec
        .containers
        .iter()
        .map(|c| format!("{}={}", c.name, c.image.as_deref().unwrap_or("")))
        .collect();
    out.push(("images".into(), images.join(" ")));
    for c in &spec.containers {
        let (requests, limits) = resources(c.resources.as_ref());
        let line = resources_line(&requests, &limits);
        if !line.is_empty() {
            out.push((format!("resources {}", c.name), line));
        }
    }
}

fn pairs(list: &[(&str, String)]) -> Vec<(String, String)> {
    list.iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// The facts and conditions of the primary resource.
pub fn resource_facts(object: &ObjectRef, primary: &Primary) -> ResourceFacts {
    let mut facts: Vec<(String, String)> = Vec::new();
    let mut conditions: Vec<ConditionFacts> = Vec::new();
    let mut times: Vec<(String, DateTime<Utc>)> = Vec::new();
    let created = match primary {
        Primary::Deployment(d) => {
            let s = d.status.clone().unwrap_or_default();
            let spec = &d.spec;
            facts.push((
                "replicas".into(),
                format!(
                    "{} desired, {} updated, {} ready, {} available, {} unavailable",
                    spec.replicas.unwrap_or(1),
                    n(s.updated_replicas),
                    n(s.ready_replicas),
                    n(s.available_replicas),
                    n(s.unavailable_replicas)
                ),
            ));
            if spec.paused == Some(true) {
                facts.push(("paused".into(), "true".into()));
            }
            template_facts(Some(&spec.template), &mut facts);
            conditions.extend(s.conditions.iter().flatten().map(|c| condition!(c)));
            d.metadata.creation_timestamp.as_ref()
        }
        Primary::StatefulSet(x) => {
            let s = x.status.clone().unwrap_or_default();
            let spec = &x.spec;
            facts.push((
                "replicas".into(),
                format!(
                    "{} desired, {} ready, {} current, {} updated",
                    spec.replicas.unwrap_or(1),
                    n(s.ready_replicas),
                    n(s.current_replicas),
                    n(s.updated_replicas)
                ),
            ));
            if s.current_revision != s.update_revision {
                facts.push((
                    "revision".into(),
                    format!(
                        "rolling from {} to {}",
                        s.current_revision.unwrap_or_default(),
                        s.update_revision.unwrap_or_default()
                    ),
                ));
            }
            template_facts(Some(&spec.template), &mut facts);
            conditions.extend(s.conditions.iter().flatten().map(|c| condition!(c)));
            x.metadata.creation_timestamp.as_ref()
        }
        Primary::DaemonSet(x) => {
            let s = x.status.clone().unwrap_or_default();
            facts.push((
                "pods".into(),
                format!(
                    "{} desired, {} scheduled, {} ready, {} updated, {} available, {} misscheduled",
                    s.desired_number_scheduled,
                    s.current_number_scheduled,
                    s.number_ready,
                    n(s.updated_number_scheduled),
                    n(s.number_available),
                    s.number_misscheduled
                ),
            ));
            template_facts(Some(&x.spec.template), &mut facts);
            conditions.extend(s.conditions.iter().flatten().map(|c| condition!(c)));
            x.metadata.creation_timestamp.as_ref()
        }
        Primary::ReplicaSet(x) => {
            let s = x.status.clone().unwrap_or_default();
            facts.push((
                "replicas".into(),
                format!(
                    "{} desired, {} ready, {} available",
                    x.spec.replicas.unwrap_or(1),
                    n(s.ready_replicas),
                    n(s.available_replicas)
                ),
            ));
            template_facts(x.spec.template.as_ref(), &mut facts);
            conditions.extend(s.conditions.iter().flatten().map(|c| condition!(c)));
            x.metadata.creation_timestamp.as_ref()
        }
        Primary::Job(j) => {
            let s = j.status.clone().unwrap_or_default();
            let spec = j.spec.clone().unwrap_or_default();
            facts.push((
                "pods".into(),
                format!(
                    "{} active, {} succeeded, {} failed",
                    n(s.active),
                    n(s.succeeded),
                    n(s.failed)
                ),
            ));
            facts.extend(pairs(&[(
                "limits",
                format!(
                    "backoffLimit {}{}",
                    spec.backoff_limit.unwrap_or(6),
                    spec.active_deadline_seconds
                        .map(|d| format!(", activeDeadlineSeconds {d}"))
                        .unwrap_or_default()
                ),
            )]));
            template_facts(Some(&spec.template), &mut facts);
            times.extend(
                [
                    ("started", &s.start_time),
                    ("completed", &s.completion_time),
                ]
                .into_iter()
                .filter_map(|(label, t)| Some((label.to_string(), time(t.as_ref())?))),
            );
            conditions.extend(s.conditions.iter().flatten().map(|c| condition!(c)));
            j.metadata.creation_timestamp.as_ref()
        }
        Primary::CronJob(c) => {
            facts.push(("schedule".into(), c.spec.schedule.clone()));
            let s = &c.status;
            let active: Vec<&str> = s.active.iter().map(|a| a.name.as_str()).collect();
            facts.extend(pairs(&[
                (
                    "suspended",
                    if c.suspended() {
                        "true".into()
                    } else {
                        String::new()
                    },
                ),
                ("active jobs", active.join(" ")),
                ("images", c.spec.job_template.spec.template.images()),
            ]));
            times.extend(
                [
                    ("last scheduled", s.last_schedule_time),
                    ("last successful", s.last_successful_time),
                ]
                .into_iter()
                .filter_map(|(label, t)| Some((label.to_string(), t?))),
            );
            c.metadata.creation_timestamp.as_ref()
        }
        Primary::Pod(p) => {
            let s = p.status.clone().unwrap_or_default();
            facts.extend(pairs(&[
                ("phase", s.phase.clone().unwrap_or_default()),
                ("reason", s.reason.clone().unwrap_or_default()),
                ("message", s.message.clone().unwrap_or_default()),
                (
                    "node",
                    p.spec
                        .as_ref()
                        .and_then(|s| s.node_name.clone())
                        .unwrap_or_default(),
                ),
            ]));
            conditions.extend(s.conditions.iter().flatten().map(|c| condition!(c)));
            p.metadata.creation_timestamp.as_ref()
        }
        Primary::Node(node) => {
            let n = super::nodes::node_facts(node);
            let s = node.status.clone().unwrap_or_default();
            let capacity = |m: Option<&BTreeMap<String, Quantity>>| {
                ["cpu", "memory", "pods"]
                    .iter()
                    .filter_map(|k| m.and_then(|m| m.get(*k)).map(|q| format!("{k} {}", q.0)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            facts.extend(pairs(&[
                (
                    "unschedulable",
                    if n.unschedulable {
                        "true (cordoned)".into()
                    } else {
                        String::new()
                    },
                ),
                ("taints", n.taints.join(", ")),
                ("allocatable", capacity(s.allocatable.as_ref())),
                (
                    "kubelet",
                    s.node_info
                        .as_ref()
                        .map(|i| i.kubelet_version.clone())
                        .unwrap_or_default(),
                ),
            ]));
            conditions = n.conditions;
            node.metadata.creation_timestamp.as_ref()
        }
        Primary::Pvc(p) => {
            let s = p.status.clone().unwrap_or_default();
            let spec = p.spec.clone().unwrap_or_default();
            let requested = spec
                .resources
                .as_ref()
                .and_then(|r| r.requests.as_ref())
                .and_then(|m| m.get("storage"))
                .map(|q| q.0.clone())
                .unwrap_or_default();
            facts.extend(pairs(&[
                ("phase", s.phase.clone().unwrap_or_default()),
                (
                    "storageClass",
                    spec.storage_class_name.clone().unwrap_or_default(),
                ),
                ("requested", requested),
                (
                    "capacity",
                    s.capacity
                        .as_ref()
                        .and_then(|c| c.get("storage"))
                        .map(|q| q.0.clone())
                        .unwrap_or_default(),
                ),
                (
                    "accessModes",
                    spec.access_modes.clone().unwrap_or_default().join(","),
                ),
                ("volume", spec.volume_name.clone().unwrap_or_default()),
            ]));
            conditions.extend(s.conditions.iter().flatten().map(|c| condition!(c)));
            p.metadata.creation_timestamp.as_ref()
        }
        Primary::Hpa(h) => {
            let t = &h.spec.scale_target_ref;
            facts.push((
                "replicas".into(),
                format!(
                    "{} current, {} desired, min {}, max {}",
                    h.status.current_replicas,
                    h.status.desired_replicas,
                    h.spec.min_replicas.unwrap_or(1),
                    h.spec.max_replicas
                ),
            ));
            facts.push(("target".into(), format!("{} {}", t.kind, t.name)));
            conditions.extend(h.status.conditions.iter().map(lean_condition));
            h.metadata.creation_timestamp.as_ref()
        }
        Primary::Quota(q) => {
            let s = q.status.clone().unwrap_or_default();
            let used = s.used.unwrap_or_default();
            let usage: Vec<String> = s
                .hard
                .unwrap_or_default()
                .iter()
                .map(|(k, hard)| {
                    let u = used.get(k).map_or("0", |q| q.0.as_str());
                    format!("{k} {u}/{}", hard.0)
                })
                .collect();
            facts.push(("used/hard".into(), usage.join(", ")));
            q.metadata.creation_timestamp.as_ref()
        }
    };
    ResourceFacts {
        object: object.clone(),
        created: time(created),
        facts,
        times,
        conditions,
    }
}
