//! The records an action produces. A [`Plan`] is what a person approves: it is stored with the
//! approval, so it carries everything execution needs (the exact change), everything rollback
//! needs (the snapshot) and everything a person needs to decide (summary, diff, risk). An
//! [`Execution`] records what happened; a [`Verification`] what was observed afterwards.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::spec::Risk;
use crate::detect::ObjectRef;

/// A proposed change to one object, checked by a server-side dry-run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The action's registry name (`deployment.scale`).
    pub action: String,
    /// The parameters as given (validated).
    pub params: Value,
    /// The object the action changes.
    pub target: ObjectRef,
    /// The object's uid when planned: an object deleted and re-created under the same name is
    /// not the one that was approved.
    pub uid: String,
    /// The object's resourceVersion when planned.
    pub resource_version: String,
    /// What rollback restores, and what must still hold at execution time.
    pub snapshot: Snapshot,
    /// The operation itself; execution needs nothing else.
    pub change: Change,
    /// Unified diff of the YAML that changes (live object vs. server dry-run result).
    pub diff: String,
    /// One line for people: `raise memory limit of container app from 64Mi to 128Mi`.
    pub summary: String,
    pub risk: Risk,
    pub created_at: DateTime<Utc>,
}

impl Plan {
    pub fn namespace(&self) -> Option<&str> {
        self.target.namespace.as_deref()
    }

    /// A copy whose diff and summary went through `redact` (for chat); the change itself is
    /// untouched, so a redacted plan is for display only.
    pub fn redacted(&self, redact: impl Fn(&str) -> String) -> Plan {
        Plan {
            diff: redact(&self.diff),
            summary: redact(&self.summary),
            ..self.clone()
        }
    }
}

/// How a patch is to be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatchType {
    /// RFC 7386 JSON merge patch: maps merge, lists are replaced whole.
    Merge,
    /// Kubernetes strategic merge patch: lists such as `containers` merge by name.
    Strategic,
}

/// The operation a plan carries out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Change {
    /// Patch the target.
    Patch { patch_type: PatchType, patch: Value },
    /// Delete the target (a Pod): only the object with this uid.
    Delete {
        uid: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        grace_period_seconds: Option<u32>,
    },
    /// Create an object (a Job from a template) in the target's namespace; `object` is complete,
    /// with a fixed name so a repeat finds it instead of creating another.
    Create { object: Value },
    /// Anything else (a drain: cordon plus evictions). The action that made it interprets it in
    /// its own `execute`, `landed` and `rollback`.
    Custom { data: Value },
}

/// The state before the change, as the values at JSON pointers of the target (`/spec/replicas`,
/// `/spec/template`). Rollback writes them back exactly; execution refuses to go on when they
/// no longer match the live object (someone else changed what was approved).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub fields: Vec<Field>,
}

/// One snapshotted value; `value` is `None` when the field was absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    pub pointer: String,
    pub value: Option<Value>,
}

impl Snapshot {
    /// Takes the values at `pointers` from `object`.
    pub fn take(object: &Value, pointers: &[&str]) -> Self {
        Self {
            fields: pointers
                .iter()
                .map(|p| Field {
                    pointer: (*p).to_string(),
                    value: object.pointer(p).cloned(),
                })
                .collect(),
        }
    }

    pub fn pointers(&self) -> Vec<&str> {
        self.fields.iter().map(|f| f.pointer.as_str()).collect()
    }

    /// The first snapshotted field whose live value differs, if any.
    pub fn first_difference(&self, live: &Value) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| live.pointer(&f.pointer) != f.value.as_ref())
            .map(|f| f.pointer.as_str())
    }
}

/// What execution did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    pub executed_at: DateTime<Utc>,
    /// The target's resourceVersion after the change (empty after a delete).
    pub resource_version: String,
    /// The target's metadata.generation after the change, when it has one: verification waits
    /// for the controller to observe it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    /// Action-specific facts verification needs (the pods that existed before a delete).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub details: Value,
}

/// What verification concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Healthy, and it stayed so for the settle period.
    Healthy,
    /// Not healthy within the timeout.
    TimedOut,
}

/// The result of watching for "healthy again".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    pub outcome: Outcome,
    /// What was seen last, for people: `3/3 new pods ready, no restarts`, or what was missing.
    pub detail: String,
    /// How long it took.
    #[serde(with = "crate::config::duration")]
    pub took: Duration,
}

impl Verification {
    pub fn healthy(&self) -> bool {
        self.outcome == Outcome::Healthy
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn snapshot_takes_values_and_spots_changes() {
        let obj = json!({"spec": {"replicas": 2, "template": {"a": 1}}});
        let snap = Snapshot::take(&obj, &["/spec/replicas", "/spec/paused"]);
        assert_eq!(snap.fields[0].value, Some(json!(2)));
        assert_eq!(snap.fields[1].value, None);
        assert_eq!(snap.first_difference(&obj), None);
        let moved = json!({"spec": {"replicas": 3}});
        assert_eq!(snap.first_difference(&moved), Some("/spec/replicas"));
        let paused = json!({"spec": {"replicas": 2, "paused": true}});
        assert_eq!(snap.first_difference(&paused), Some("/spec/paused"));
    }

    #[test]
    fn change_serialises_with_an_op_tag() {
        let c = Change::Patch {
            patch_type: PatchType::Strategic,
            patch: json!({"spec": {"replicas": 3}}),
        };
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["op"], "patch");
        assert_eq!(v["patch_type"], "strategic");
        assert_eq!(serde_json::from_value::<Change>(v).unwrap(), c);
    }
}
