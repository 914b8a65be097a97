//! What Lookout keeps of a Pod: container names, images and resources; the ConfigMaps, Secrets
//! and claims it references; the node; and the status detection reads (phase, conditions,
//! container states and restart counts).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Deserializer, Serialize};

use super::meta::{Condition, NameRef, condition, lean, nullable};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Pod {
    #[serde(deserialize_with = "lean")]
    pub metadata: ObjectMeta,
    pub spec: PodSpec,
    pub status: PodStatus,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PodSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub containers: Vec<Container>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub init_containers: Vec<Container>,
    /// Only the volumes that reference a ConfigMap, a Secret or a claim.
    #[serde(
        deserialize_with = "referencing_volumes",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub volumes: Vec<Volume>,
}

/// A container as far as detection and the incident card need it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Container {
    pub name: String,
    pub image: String,
    pub resources: Resources,
    /// Only variables taken from a ConfigMap or Secret key.
    #[serde(
        deserialize_with = "referencing_env",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub env: Vec<EnvVar>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub env_from: Vec<EnvFromSource>,
    /// Present when the container has a readiness probe (its settings are not kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub readiness_probe: Option<Probe>,
    /// Present when the container has a liveness probe.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub liveness_probe: Option<Probe>,
}

/// Requests and limits as the API writes them (`100m`, `256Mi`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Resources {
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub requests: BTreeMap<String, String>,
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub limits: BTreeMap<String, String>,
}

/// A probe's presence; its settings are skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probe {}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EnvVar {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_from: Option<EnvVarSource>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EnvVarSource {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_map_key_ref: Option<KeyRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_key_ref: Option<KeyRef>,
}

/// A key of a ConfigMap or Secret.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeyRef {
    pub name: String,
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EnvFromSource {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_map_ref: Option<NameRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<NameRef>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Volume {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_map: Option<NameRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretVolume>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistent_volume_claim: Option<ClaimRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub projected: Option<Projected>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SecretVolume {
    pub secret_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClaimRef {
    pub claim_name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Projected {
    #[serde(deserialize_with = "nullable")]
    pub sources: Vec<ProjectedSource>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProjectedSource {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_map: Option<NameRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<NameRef>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PodStatus {
    /// `Pending`, `Running`, `Succeeded`, `Failed` or `Unknown`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Set for pod-level failures, e.g. `Evicted`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub init_container_statuses: Vec<ContainerStatus>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub container_statuses: Vec<ContainerStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ContainerStatus {
    pub name: String,
    pub image: String,
    pub ready: bool,
    pub restart_count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started: Option<bool>,
    pub state: ContainerState,
    pub last_state: ContainerState,
}

/// At most one of the three is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerState {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting: Option<Waiting>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub running: Option<Running>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terminated: Option<Terminated>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Waiting {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Running {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Terminated {
    pub exit_code: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
}

/// A ConfigMap or Secret a pod needs (not marked optional), wherever it is referenced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConfigRef<'a> {
    /// `ConfigMap` or `Secret`.
    pub kind: &'static str,
    pub name: &'a str,
}

impl Pod {
    pub fn phase(&self) -> &str {
        self.status.phase.as_deref().unwrap_or_default()
    }

    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        condition(&self.status.conditions, type_)
    }

    pub fn node_name(&self) -> Option<&str> {
        self.spec.node_name.as_deref().filter(|n| !n.is_empty())
    }

    /// The spec of a container (init or regular) by name.
    pub fn container(&self, name: &str) -> Option<&Container> {
        self.spec
            .init_containers
            .iter()
            .chain(&self.spec.containers)
            .find(|c| c.name == name)
    }

    /// Init container statuses first, then the regular ones: the order a person reads them.
    pub fn container_statuses(&self) -> impl Iterator<Item = &ContainerStatus> {
        self.status
            .init_container_statuses
            .iter()
            .chain(&self.status.container_statuses)
    }

    /// Every ConfigMap and Secret the pod cannot start without.
    pub fn required_config(&self) -> impl Iterator<Item = ConfigRef<'_>> {
        let required = |optional: Option<bool>| optional != Some(true);
        let from_containers = self
            .spec
            .init_containers
            .iter()
            .chain(&self.spec.containers)
            .flat_map(move |c| {
                let env = c.env.iter().filter_map(move |e| {
                    let src = e.value_from.as_ref()?;
                    match (&src.config_map_key_ref, &src.secret_key_ref) {
                        (Some(k), _) if required(k.optional) => Some(config_map(&k.name)),
                        (_, Some(k)) if required(k.optional) => Some(secret(&k.name)),
                        _ => None,
                    }
                });
                let env_from = c.env_from.iter().filter_map(move |e| {
                    match (&e.config_map_ref, &e.secret_ref) {
                        (Some(r), _) if required(r.optional) => Some(config_map(&r.name)),
                        (_, Some(r)) if required(r.optional) => Some(secret(&r.name)),
                        _ => None,
                    }
                });
                env.chain(env_from)
            });
        let from_volumes = self.spec.volumes.iter().flat_map(move |v| {
            let direct = [
                v.config_map
                    .as_ref()
                    .filter(|r| required(r.optional))
                    .map(|r| config_map(&r.name)),
                v.secret
                    .as_ref()
                    .filter(|s| required(s.optional))
                    .map(|s| secret(&s.secret_name)),
            ];
            let projected = v.projected.iter().flat_map(move |p| {
                p.sources
                    .iter()
                    .filter_map(move |s| match (&s.config_map, &s.secret) {
                        (Some(r), _) if required(r.optional) => Some(config_map(&r.name)),
                        (_, Some(r)) if required(r.optional) => Some(secret(&r.name)),
                        _ => None,
                    })
            });
            direct.into_iter().flatten().chain(projected)
        });
        from_containers.chain(from_volumes)
    }
}

fn config_map(name: &str) -> ConfigRef<'_> {
    ConfigRef {
        kind: "ConfigMap",
        name,
    }
}

fn secret(name: &str) -> ConfigRef<'_> {
    ConfigRef {
        kind: "Secret",
        name,
    }
}

impl ContainerStatus {
    pub fn waiting_reason(&self) -> Option<&str> {
        self.state.waiting.as_ref()?.reason.as_deref()
    }
}

impl Terminated {
    pub fn reason(&self) -> &str {
        self.reason.as_deref().unwrap_or_default()
    }
}

/// Keeps only the env variables that read a ConfigMap or Secret key; plain values and field
/// references are dropped (their values are never allocated).
fn referencing_env<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<EnvVar>, D::Error> {
    let mut env: Vec<EnvVar> = nullable(d)?;
    env.retain(|e| {
        e.value_from
            .as_ref()
            .is_some_and(|s| s.config_map_key_ref.is_some() || s.secret_key_ref.is_some())
    });
    Ok(env)
}

/// Keeps only the volumes that reference a ConfigMap, a Secret or a claim.
fn referencing_volumes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Volume>, D::Error> {
    let mut volumes: Vec<Volume> = nullable(d)?;
    volumes.retain(|v| {
        v.config_map.is_some()
            || v.secret.is_some()
            || v.persistent_volume_claim.is_some()
            || v.projected.as_ref().is_some_and(|p| {
                p.sources
                    .iter()
                    .any(|s| s.config_map.is_some() || s.secret.is_some())
            })
    });
    for v in &mut volumes {
        if let Some(p) = &mut v.projected {
            // Service account tokens and downward API items carry nothing we attribute.
            p.sources
                .retain(|s| s.config_map.is_some() || s.secret.is_some());
        }
    }
    Ok(volumes)
}
