//! What Lookout reads of a core/v1 Event. Events are classified into small facts as they
//! arrive (`detect::events::classify`); the watcher does not keep Event objects.

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

use super::meta::{lean, to_chrono};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Event {
    #[serde(deserialize_with = "lean")]
    pub metadata: ObjectMeta,
    pub involved_object: InvolvedObject,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `Normal` or `Warning`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_timestamp: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_timestamp: Option<DateTime<Utc>>,
    /// Set by newer reporters (events.k8s.io), with `series` for repetitions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_time: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series: Option<EventSeries>,
    pub source: EventSource,
    /// `reportingComponent` on the wire (core/v1 names the field ReportingController in Go).
    #[serde(rename = "reportingComponent", skip_serializing_if = "Option::is_none")]
    pub reporting_controller: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InvolvedObject {
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Names the container for container events: `spec.containers{app}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_path: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EventSeries {
    pub count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_observed_time: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EventSource {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

impl Event {
    pub fn reason(&self) -> &str {
        self.reason.as_deref().unwrap_or_default()
    }

    pub fn message(&self) -> &str {
        self.message.as_deref().unwrap_or_default()
    }

    pub fn is_warning(&self) -> bool {
        self.type_.as_deref() == Some("Warning")
    }

    /// How often it happened: the series count for new-style events, else `count`, at least 1.
    pub fn occurrences(&self) -> u32 {
        self.series
            .as_ref()
            .map(|s| s.count)
            .or(self.count)
            .unwrap_or(1)
            .max(1)
    }

    /// When it last happened, from whichever of the several time fields the reporter filled.
    pub fn last_seen(&self) -> Option<DateTime<Utc>> {
        self.series
            .as_ref()
            .and_then(|s| s.last_observed_time)
            .or(self.last_timestamp)
            .or(self.event_time)
            .or(self.first_timestamp)
            .or_else(|| self.metadata.creation_timestamp.as_ref().map(to_chrono))
    }

    /// When it first happened.
    pub fn first_seen(&self) -> Option<DateTime<Utc>> {
        self.first_timestamp
            .or(self.event_time)
            .or_else(|| self.metadata.creation_timestamp.as_ref().map(to_chrono))
            .or(self.last_timestamp)
    }

    /// The container named by `fieldPath` (`spec.containers{app}` -> `app`).
    pub fn container(&self) -> Option<&str> {
        let path = self.involved_object.field_path.as_deref()?;
        let start = path.find('{')? + 1;
        let end = path[start..].find('}')? + start;
        Some(&path[start..end])
    }
}
