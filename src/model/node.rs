//! What Lookout keeps of a Node: whether it is cordoned and its conditions.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

use super::meta::{Condition, condition, lean, nullable};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Node {
    #[serde(deserialize_with = "lean")]
    pub metadata: ObjectMeta,
    pub spec: NodeSpec,
    pub status: NodeStatus,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeSpec {
    /// Cordoned: no new pods are scheduled here.
    pub unschedulable: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeStatus {
    /// Ready, MemoryPressure, DiskPressure, PIDPressure, NetworkUnavailable (heartbeat times are
    /// not kept: they change every few seconds and say nothing detection uses).
    #[serde(deserialize_with = "nullable")]
    pub conditions: Vec<Condition>,
}

impl Node {
    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        condition(&self.status.conditions, type_)
    }
}
