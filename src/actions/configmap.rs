//! `configmap.patch_key`: set one key of a ConfigMap. Never a Secret: the action names no kind,
//! it only ever reads and writes ConfigMaps. The diff shows the key's old and new value, which
//! may be sensitive: the caller redacts plans before display ([`super::Plan::redacted`]), and
//! the summary and logs carry sizes, never values. Pods read a changed ConfigMap only when
//! they restart (env) or after the kubelet's sync (mounted files).

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::action::Action;
use super::context::{self, ActionContext};
use super::diff;
use super::error::{ActionError, Result};
use super::guards;
use super::plan::{Change, Execution, PatchType, Plan, Snapshot, Verification};
use super::registry::Registry;
use super::spec::{ActionSpec, Risk, parse_params, schema_for};
use super::verify::{self, Look};
use super::watch_object::watch_one;
use crate::detect::ObjectRef;

pub static PATCH_KEY: ActionSpec = ActionSpec {
    name: "configmap.patch_key",
    summary: "Set the value of one key of a ConfigMap (never Secrets; pods pick it up on \
              restart or the kubelet's next sync).",
    risk: Risk::Medium,
    kinds: &["ConfigMap"],
    reversible: true,
    params_schema: schema_for::<Params>,
};

/// Registers `configmap.patch_key`.
pub fn register(registry: &mut Registry) {
    registry.register(PatchKey);
}

/// Parameters of `configmap.patch_key`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Namespace of the ConfigMap.
    pub namespace: String,
    /// Name of the ConfigMap.
    pub name: String,
    /// The key to set (letters, digits, `-`, `_`, `.`); added when absent.
    pub key: String,
    /// The new value.
    pub value: String,
}

pub struct PatchKey;

#[async_trait]
impl Action for PatchKey {
    fn spec(&self) -> &'static ActionSpec {
        &PATCH_KEY
    }

    async fn plan(&self, ctx: &ActionContext, params: &Value) -> Result<Plan> {
        let p: Params = parse_params(PATCH_KEY.name, params)?;
        valid_key(&p.key)?;
        let target = ObjectRef::namespaced("ConfigMap", &p.namespace, &p.name);
        let live = ctx.fetch_target(&target).await?;
        let old = live.pointer(&pointer(&p.key)).and_then(Value::as_str);
        check(&live, &target, &p.key, old, &p.value)?;
        let summary = match old {
            Some(o) => format!(
                "set key {} of {target} ({} bytes, was {} bytes)",
                p.key,
                p.value.len(),
                o.len()
            ),
            None => format!("add key {} to {target} ({} bytes)", p.key, p.value.len()),
        };
        let ptr = pointer(&p.key);
        let patch = json!({"data": {&p.key: &p.value}});
        let after = ctx
            .patch(
                &target,
                PatchType::Merge,
                &patch,
                Some(context::resource_version(&live)),
                true,
            )
            .await
            .map_err(|e| match e {
                e if e.is_conflict() => {
                    ActionError::stale(format!("{target} changed while planning; plan again"))
                }
                e => e,
            })?;
        let diff = diff::object_diff(&live, &after, &[&ptr], &target.to_string());
        if diff.is_empty() {
            return Err(ActionError::refused(
                guards::NO_CHANGE,
                format!("the server reports no change to key {} of {target}", p.key),
            ));
        }
        Ok(Plan {
            action: PATCH_KEY.name.to_string(),
            params: params.clone(),
            target: target.clone(),
            uid: context::uid(&live).to_string(),
            resource_version: context::resource_version(&live).to_string(),
            snapshot: Snapshot::take(&live, &[&ptr]),
            change: Change::Patch {
                patch_type: PatchType::Merge,
                patch,
            },
            diff,
            summary,
            risk: PATCH_KEY.risk,
            created_at: ctx.clock.now(),
        })
    }

    async fn verify(
        &self,
        ctx: &ActionContext,
        plan: &Plan,
        _execution: &Execution,
    ) -> Result<Verification> {
        let p: Params = parse_params(PATCH_KEY.name, &plan.params)?;
        let (latest, changes) = watch_one(ctx, &plan.target)?;
        verify::until_healthy(ctx, changes, move || {
            value_look(latest.get().as_ref(), &p.key, &p.value)
        })
        .await
    }
}

/// The JSON pointer of a data key (`~` and `/` escaped, though valid keys have neither).
fn pointer(key: &str) -> String {
    format!("/data/{}", key.replace('~', "~0").replace('/', "~1"))
}

/// PURE: a ConfigMap key is 1-253 characters of letters, digits, `-`, `_` and `.`.
pub fn valid_key(key: &str) -> Result<()> {
    let ok = !key.is_empty()
        && key.len() <= 253
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(ActionError::invalid(
            PATCH_KEY.name,
            format!("key: {key:?} is not a ConfigMap key (letters, digits, -, _ and . only)"),
        ))
    }
}

/// PURE: the ConfigMap can take the new value.
fn check(live: &Value, target: &ObjectRef, key: &str, old: Option<&str>, new: &str) -> Result<()> {
    if live["immutable"] == true {
        return Err(ActionError::refused(
            guards::TARGET,
            format!("{target} is immutable: it can only be replaced, not changed"),
        ));
    }
    if live
        .pointer("/binaryData")
        .and_then(|b| b.get(key))
        .is_some()
    {
        return Err(ActionError::refused(
            guards::TARGET,
            format!("key {key} of {target} holds binary data; Lookout only sets text values"),
        ));
    }
    if old == Some(new) {
        return Err(ActionError::refused(
            guards::NO_CHANGE,
            format!("key {key} of {target} already has that value"),
        ));
    }
    Ok(())
}

/// PURE: the ConfigMap holds the new value (values never appear in the detail).
pub fn value_look(cm: Option<&Value>, key: &str, value: &str) -> Look {
    let Some(cm) = cm else {
        return Look::Waiting("the ConfigMap is gone".into());
    };
    match cm.pointer(&pointer(key)).and_then(Value::as_str) {
        Some(v) if v == value => Look::Healthy(format!("key {key} holds the new value")),
        Some(_) => Look::Waiting(format!("key {key} holds another value")),
        None => Look::Waiting(format!("key {key} is absent")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_validated_and_values_never_shown() {
        assert!(valid_key("app.properties").is_ok() && valid_key("LOG_LEVEL").is_ok());
        assert!(valid_key("a/b").is_err() && valid_key("").is_err() && valid_key("a b").is_err());
        let cm = json!({"data": {"password": "hunter2"}});
        for look in [
            value_look(Some(&cm), "password", "hunter2"),
            value_look(Some(&cm), "password", "s3cret-2"),
        ] {
            let (Look::Healthy(d) | Look::Waiting(d)) = look;
            assert!(!d.contains("hunter2") && !d.contains("s3cret-2"), "{d}");
        }
    }

    #[test]
    fn immutable_binary_and_unchanged_keys_refuse() {
        let t = ObjectRef::namespaced("ConfigMap", "a", "cfg");
        let g = |live: Value, old| check(&live, &t, "k", old, "v").unwrap_err().guard();
        assert_eq!(g(json!({"immutable": true}), None), Some(guards::TARGET));
        assert_eq!(
            g(json!({"binaryData": {"k": "AA=="}}), None),
            Some(guards::TARGET)
        );
        assert_eq!(
            g(json!({"data": {"k": "v"}}), Some("v")),
            Some(guards::NO_CHANGE)
        );
        assert!(check(&json!({"data": {"k": "old"}}), &t, "k", Some("old"), "v").is_ok());
    }
}
