//! What Lookout keeps of batch Jobs and CronJobs. CronJob is served as batch/v1 by current
//! servers and only as batch/v1beta1 before 1.21; both have the shape read here, so the same
//! type is watched at whichever version discovery finds ([`CronJobVersion`]).

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

use super::meta::{Condition, condition, lean, nullable};
use super::workload::PodTemplate;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Job {
    #[serde(deserialize_with = "lean")]
    pub metadata: ObjectMeta,
    pub spec: JobSpec,
    pub status: JobStatus,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct JobSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backoff_limit: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_deadline_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completions: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    pub template: PodTemplate,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct JobStatus {
    pub active: i32,
    pub succeeded: i32,
    pub failed: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

impl Job {
    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        condition(&self.status.conditions, type_)
    }

    /// The `Failed` condition when it is True.
    pub fn failed(&self) -> Option<&Condition> {
        self.condition("Failed").filter(|c| c.is_true())
    }

    pub fn succeeded(&self) -> bool {
        self.condition("Complete").is_some_and(Condition::is_true)
    }

    /// Finished one way or the other.
    pub fn finished(&self) -> bool {
        self.failed().is_some() || self.succeeded()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CronJob {
    #[serde(deserialize_with = "lean")]
    pub metadata: ObjectMeta,
    pub spec: CronJobSpec,
    pub status: CronJobStatus,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CronJobSpec {
    pub schedule: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    pub job_template: JobTemplate,
}

/// Of the job template, only the pod template's annotations and images.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct JobTemplate {
    pub spec: JobTemplateSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct JobTemplateSpec {
    pub template: PodTemplate,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CronJobStatus {
    /// The Jobs running now.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub active: Vec<ActiveJob>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_schedule_time: Option<DateTime<Utc>>,
    /// batch/v1 only (1.21+).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_successful_time: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ActiveJob {
    pub name: String,
}

impl CronJob {
    pub fn suspended(&self) -> bool {
        self.spec.suspend == Some(true)
    }
}

/// The versions CronJob may be served at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum CronJobVersion {
    /// batch/v1 (Kubernetes 1.21+).
    #[default]
    V1,
    /// batch/v1beta1 (up to 1.24).
    V1beta1,
}

impl CronJobVersion {
    /// Newest first: try them in this order against discovery.
    pub const PREFERRED: [Self; 2] = [Self::V1, Self::V1beta1];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1 => "v1",
            Self::V1beta1 => "v1beta1",
        }
    }
}
