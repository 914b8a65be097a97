//! What an action runs with, and the small IO every action shares: resolving a kind to the
//! resource this cluster serves, reading an object (as JSON, whatever its API version), and
//! sending a patch for real or as a server-side dry-run.

use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, DynamicObject};
use serde_json::Value;

use super::config::ActionsConfig;
use super::error::{ActionError, Result, status_code};
use super::guards;
use super::kinds;
use super::plan::PatchType;
use crate::clock::SharedClock;
use crate::cluster::ServedApis;
use crate::detect::ObjectRef;

/// Everything an action or tool needs besides its parameters.
#[derive(Clone)]
pub struct ActionContext {
    pub client: kube::Client,
    pub clock: SharedClock,
    pub config: ActionsConfig,
    /// API versions discovered at start (CronJob, HPA, PDB differ between clusters).
    pub served: ServedApis,
}

impl std::fmt::Debug for ActionContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActionContext")
            .field("config", &self.config)
            .field("served", &self.served)
            .finish_non_exhaustive()
    }
}

impl ActionContext {
    pub fn new(
        client: kube::Client,
        clock: SharedClock,
        config: ActionsConfig,
        served: ServedApis,
    ) -> Self {
        Self {
            client,
            clock,
            config,
            served,
        }
    }

    /// The resource serving `kind` on this cluster.
    pub fn resource(&self, kind: &str) -> Result<ApiResource> {
        let k = kinds::lookup(kind)
            .ok_or_else(|| ActionError::BadPlan(format!("unknown kind {kind}")))?;
        k.resource(&self.served)
            .ok_or_else(|| ActionError::NotServed {
                what: format!("{} ({})", k.kind, k.plural),
            })
    }

    /// A dynamic API for `kind` in `namespace` (all namespaces when `None` and the kind is
    /// namespaced).
    pub fn api(&self, kind: &str, namespace: Option<&str>) -> Result<Api<DynamicObject>> {
        let ar = self.resource(kind)?;
        let namespaced = kinds::lookup(kind).is_some_and(|k| k.namespaced);
        Ok(match namespace {
            Some(ns) if namespaced => Api::namespaced_with(self.client.clone(), ns, &ar),
            _ => Api::all_with(self.client.clone(), &ar),
        })
    }

    fn api_for(&self, target: &ObjectRef) -> Result<Api<DynamicObject>> {
        self.api(&target.kind, target.namespace.as_deref())
    }

    /// Reads the target as JSON; `None` when it does not exist.
    pub async fn get_opt(&self, target: &ObjectRef) -> Result<Option<Value>> {
        let obj = self
            .api_for(target)?
            .get_opt(&target.name)
            .await
            .map_err(|e| ActionError::kube("get", target, e))?;
        obj.map(to_json).transpose()
    }

    /// Reads the target as JSON; `NotFound` when it does not exist.
    pub async fn get(&self, target: &ObjectRef) -> Result<Value> {
        self.get_opt(target)
            .await?
            .ok_or_else(|| ActionError::NotFound {
                target: target.clone(),
            })
    }

    /// Lists `kind` in `namespace` as JSON, optionally by label selector.
    pub async fn list(
        &self,
        kind: &str,
        namespace: Option<&str>,
        labels: Option<&str>,
    ) -> Result<Vec<Value>> {
        let mut lp = ListParams::default();
        if let Some(l) = labels {
            lp = lp.labels(l);
        }
        let list = self.api(kind, namespace)?.list(&lp).await.map_err(|e| {
            ActionError::kube(
                "list",
                format!("{kind} in {}", namespace.unwrap_or("all namespaces")),
                e,
            )
        })?;
        list.items.into_iter().map(to_json).collect()
    }

    /// The start of every plan: the namespace is not protected and the target exists.
    pub async fn fetch_target(&self, target: &ObjectRef) -> Result<Value> {
        guards::namespace_allowed(&self.config, target.namespace.as_deref())?;
        self.get(target).await
    }

    /// Sends a patch; with `resource_version`, the server refuses it (409) when the object has
    /// moved on. Returns the object as the server has (or, dry-run, would have) it afterwards.
    pub async fn patch(
        &self,
        target: &ObjectRef,
        patch_type: PatchType,
        patch: &Value,
        resource_version: Option<&str>,
        dry_run: bool,
    ) -> Result<Value> {
        let mut body = patch.clone();
        if let Some(rv) = resource_version {
            super::diff::merge_into(
                &mut body,
                serde_json::json!({"metadata": {"resourceVersion": rv}}),
            );
        }
        let mut pp = PatchParams {
            field_manager: Some(self.config.field_manager.clone()),
            ..PatchParams::default()
        };
        if dry_run {
            pp = pp.dry_run();
        }
        let p = match patch_type {
            PatchType::Merge => Patch::Merge(&body),
            PatchType::Strategic => Patch::Strategic(&body),
        };
        let op = if dry_run { "dry-run patch" } else { "patch" };
        let obj = self
            .api_for(target)?
            .patch(&target.name, &pp, &p)
            .await
            .map_err(|e| match status_code(&e) {
                Some(404) => ActionError::NotFound {
                    target: target.clone(),
                },
                _ => ActionError::kube(op, target, e),
            })?;
        to_json(obj)
    }
}

/// A dynamic object as plain JSON (apiVersion, kind, metadata and the rest).
pub fn to_json(obj: DynamicObject) -> Result<Value> {
    serde_json::to_value(obj).map_err(|e| ActionError::BadPlan(format!("object as JSON: {e}")))
}

/// `metadata.uid` of an object as JSON.
pub fn uid(obj: &Value) -> &str {
    obj.pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// `metadata.resourceVersion` of an object as JSON.
pub fn resource_version(obj: &Value) -> &str {
    obj.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// `metadata.generation` of an object as JSON.
pub fn generation(obj: &Value) -> Option<i64> {
    obj.pointer("/metadata/generation").and_then(Value::as_i64)
}

/// Reads an object as JSON into a typed struct (a Deployment, a Pod).
pub fn typed<K: serde::de::DeserializeOwned>(obj: &Value, what: &ObjectRef) -> Result<K> {
    serde_json::from_value(obj.clone())
        .map_err(|e| ActionError::BadPlan(format!("{what} does not read as its kind: {e}")))
}
