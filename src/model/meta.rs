//! Lean object metadata and the small pieces every lean type shares.
//!
//! `kube::Resource::meta()` must return a k8s-openapi [`ObjectMeta`], so we keep that type but
//! fill it through our own deserializer: only the fields detection, correlation and the incident
//! card use are read, and everything else (managedFields, finalizers, selfLink, the
//! `kubectl.kubernetes.io/last-applied-configuration` annotation, ...) is skipped without being
//! allocated.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// The annotation `kubectl apply` writes: a full copy of the object, never needed here.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The opt-out annotation: `lookout.dev/ignore: "true"` on a namespace, a workload or a pod
/// template tells Lookout to leave it alone.
pub const IGNORE_ANNOTATION: &str = "lookout.dev/ignore";

/// Deserializes metadata keeping only name, namespace, uid, resourceVersion, generation,
/// creation/deletion timestamps, labels, annotations (minus last-applied) and ownerReferences.
pub fn lean<'de, D: Deserializer<'de>>(d: D) -> Result<ObjectMeta, D::Error> {
    let m = LeanMeta::deserialize(d)?;
    Ok(ObjectMeta {
        name: m.name,
        namespace: m.namespace,
        uid: m.uid,
        resource_version: m.resource_version,
        generation: m.generation,
        creation_timestamp: m.creation_timestamp,
        deletion_timestamp: m.deletion_timestamp,
        labels: m.labels,
        annotations: m.annotations,
        owner_references: m.owner_references,
        ..ObjectMeta::default()
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LeanMeta {
    name: Option<String>,
    namespace: Option<String>,
    uid: Option<String>,
    resource_version: Option<String>,
    generation: Option<i64>,
    creation_timestamp: Option<Time>,
    deletion_timestamp: Option<Time>,
    labels: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "annotations")]
    annotations: Option<BTreeMap<String, String>>,
    owner_references: Option<Vec<OwnerReference>>,
}

/// Annotations without the last-applied copy of the object; its value is skipped unread.
pub fn annotations<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<BTreeMap<String, String>>, D::Error> {
    struct Annotations;

    impl<'de> Visitor<'de> for Annotations {
        type Value = Option<BTreeMap<String, String>>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map of annotations")
        }

        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(key) = map.next_key::<String>()? {
                if key == LAST_APPLIED {
                    map.next_value::<IgnoredAny>()?;
                } else {
                    out.insert(key, map.next_value()?);
                }
            }
            Ok(Some(out))
        }
    }

    d.deserialize_option(Annotations)
}

/// Reads `null` as the default value: the API server omits empty collections, but other
/// producers (and some older fields) write `null`.
pub fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A k8s-openapi timestamp as chrono.
pub fn to_chrono(t: &Time) -> DateTime<Utc> {
    DateTime::from_timestamp(t.0.as_second(), t.0.subsec_nanosecond().max(0) as u32)
        .unwrap_or_default()
}

/// A chrono timestamp as k8s-openapi's.
pub fn to_time(t: DateTime<Utc>) -> Time {
    Time(
        k8s_openapi::jiff::Timestamp::new(t.timestamp(), t.timestamp_subsec_nanos() as i32)
            .unwrap_or_default(),
    )
}

/// Read access to the lean metadata, without the `Option` noise.
pub trait MetaExt {
    fn meta_ref(&self) -> &ObjectMeta;

    fn name(&self) -> &str {
        self.meta_ref().name.as_deref().unwrap_or_default()
    }

    /// Empty for cluster-scoped objects.
    fn namespace(&self) -> &str {
        self.meta_ref().namespace.as_deref().unwrap_or_default()
    }

    fn uid(&self) -> Option<&str> {
        self.meta_ref().uid.as_deref()
    }

    fn created(&self) -> Option<DateTime<Utc>> {
        self.meta_ref().creation_timestamp.as_ref().map(to_chrono)
    }

    fn is_deleting(&self) -> bool {
        self.meta_ref().deletion_timestamp.is_some()
    }

    fn label(&self, key: &str) -> Option<&str> {
        self.meta_ref()
            .labels
            .as_ref()?
            .get(key)
            .map(String::as_str)
    }

    fn annotation(&self, key: &str) -> Option<&str> {
        self.meta_ref()
            .annotations
            .as_ref()?
            .get(key)
            .map(String::as_str)
    }

    /// The owner reference marked `controller: true` (the first one when none is marked).
    fn controller(&self) -> Option<&OwnerReference> {
        let owners = self.meta_ref().owner_references.as_deref()?;
        owners
            .iter()
            .find(|o| o.controller == Some(true))
            .or_else(|| owners.first())
    }

    /// Whether the object carries the opt-out annotation.
    fn opted_out(&self) -> bool {
        ignores(self.meta_ref().annotations.as_ref())
    }
}

impl<K: kube::Resource> MetaExt for K {
    fn meta_ref(&self) -> &ObjectMeta {
        self.meta()
    }
}

/// Whether a set of annotations opts out (`lookout.dev/ignore: "true"`).
pub fn ignores(annotations: Option<&BTreeMap<String, String>>) -> bool {
    annotations
        .and_then(|a| a.get(IGNORE_ANNOTATION))
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// A condition's status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConditionStatus {
    True,
    False,
    #[default]
    #[serde(other)]
    Unknown,
}

/// One status condition, the shape every kind shares (pods, nodes, workloads, jobs, HPAs...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: ConditionStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<DateTime<Utc>>,
}

impl Condition {
    pub fn is_true(&self) -> bool {
        self.status == ConditionStatus::True
    }

    pub fn is_false(&self) -> bool {
        self.status == ConditionStatus::False
    }

    pub fn reason(&self) -> &str {
        self.reason.as_deref().unwrap_or_default()
    }

    pub fn message(&self) -> &str {
        self.message.as_deref().unwrap_or_default()
    }
}

/// Finds a condition by type.
pub fn condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// A name and an optional flag, the shape of configMapRef / secretRef / configMap volumes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NameRef {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}
