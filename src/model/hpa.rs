//! What Lookout keeps of a HorizontalPodAutoscaler: its target, bounds, replica counts and
//! conditions. autoscaling/v2 (1.23+) and v2beta2 (the 1.20 test server) have the same shape
//! for these fields, so one type is watched at whichever version discovery finds
//! ([`HpaVersion`]).

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

use super::meta::{Condition, condition, lean, nullable};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HorizontalPodAutoscaler {
    #[serde(deserialize_with = "lean")]
    pub metadata: ObjectMeta,
    pub spec: HpaSpec,
    pub status: HpaStatus,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HpaSpec {
    pub scale_target_ref: ScaleTargetRef,
    /// Unset means 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_replicas: Option<i32>,
    pub max_replicas: i32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ScaleTargetRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HpaStatus {
    pub current_replicas: i32,
    pub desired_replicas: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_scale_time: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

impl HorizontalPodAutoscaler {
    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        condition(&self.status.conditions, type_)
    }
}

/// The versions a HorizontalPodAutoscaler with conditions may be served at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum HpaVersion {
    /// autoscaling/v2 (Kubernetes 1.23+).
    #[default]
    V2,
    /// autoscaling/v2beta2 (1.12 to 1.25).
    V2beta2,
}

impl HpaVersion {
    /// Newest first: try them in this order against discovery.
    pub const PREFERRED: [Self; 2] = [Self::V2, Self::V2beta2];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2 => "v2",
            Self::V2beta2 => "v2beta2",
        }
    }
}
