//! PURE: the readable diff of a plan and the JSON arithmetic behind patches and restores.
//!
//! A diff shows only the parts of the object an action touches (the snapshot's pointers), as
//! YAML, before and after the server's dry-run, with three lines of context: enough to see
//! where a change sits, small enough for a chat message.

use serde_json::{Map, Value};
use similar::TextDiff;

/// `{"spec": {"template": ...}}` holding only the values at `pointers` (absent ones left out).
pub fn project(object: &Value, pointers: &[&str]) -> Value {
    let mut out = Value::Object(Map::new());
    for p in pointers {
        if let Some(v) = object.pointer(p) {
            merge_into(&mut out, nest(p, v.clone()));
        }
    }
    out
}

/// YAML of a value; an empty object renders as nothing so a diff against it is all additions.
pub fn to_yaml(value: &Value) -> String {
    if value.as_object().is_some_and(Map::is_empty) {
        return String::new();
    }
    // Serialising a JSON value to YAML cannot fail: keys are strings, numbers are finite.
    serde_yaml_ng::to_string(value).unwrap_or_default()
}

/// Unified diff of two texts with three lines of context; empty when they are equal.
pub fn unified(before: &str, after: &str, old_label: &str, new_label: &str) -> String {
    if before == after {
        return String::new();
    }
    TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(old_label, new_label)
        .to_string()
}

/// The diff of the projected parts of two versions of an object.
pub fn object_diff(before: &Value, after: &Value, pointers: &[&str], label: &str) -> String {
    unified(
        &to_yaml(&project(before, pointers)),
        &to_yaml(&project(after, pointers)),
        &format!("{label} (live)"),
        &format!("{label} (after change, server dry-run)"),
    )
}

/// A value placed at a JSON pointer inside empty objects: `/spec/replicas`, 3 ->
/// `{"spec": {"replicas": 3}}`.
pub fn nest(pointer: &str, value: Value) -> Value {
    let tokens: Vec<&str> = pointer.split('/').skip(1).collect();
    tokens.into_iter().rev().fold(value, |inner, token| {
        let key = token.replace("~1", "/").replace("~0", "~");
        let mut map = Map::new();
        map.insert(key, inner);
        Value::Object(map)
    })
}

/// Deep-merges `extra` into `base` (objects merge, anything else replaces).
pub fn merge_into(base: &mut Value, extra: Value) {
    match (base, extra) {
        (Value::Object(b), Value::Object(e)) => {
            for (k, v) in e {
                match b.get_mut(&k) {
                    Some(existing) => merge_into(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, e) => *b = e,
    }
}

/// The JSON merge patch (RFC 7386) that turns `current` into `desired`: keys only in `current`
/// become `null`, differing values are replaced, lists are replaced whole. `Value::Null` when
/// nothing differs.
pub fn merge_patch_to(current: &Value, desired: &Value) -> Value {
    match (current, desired) {
        (Value::Object(c), Value::Object(d)) => {
            let mut patch = Map::new();
            for k in c.keys().filter(|k| !d.contains_key(*k)) {
                patch.insert(k.clone(), Value::Null);
            }
            for (k, dv) in d {
                match c.get(k) {
                    Some(cv) if cv == dv => {}
                    Some(cv) => {
                        let sub = merge_patch_to(cv, dv);
                        patch.insert(k.clone(), sub);
                    }
                    None => {
                        patch.insert(k.clone(), dv.clone());
                    }
                }
            }
            if patch.is_empty() {
                Value::Null
            } else {
                Value::Object(patch)
            }
        }
        (c, d) if c == d => Value::Null,
        (_, d) => d.clone(),
    }
}

/// A copy without `null` members: the API server writes some absent fields as `null`
/// (`creationTimestamp` in pod templates), a typed round trip drops them; compare without.
pub fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// The merge patch that writes each snapshotted field back into `live`: exact, so fields added
/// since the snapshot are removed. `None` when `live` already matches.
pub fn restore_patch(live: &Value, fields: &[(String, Option<Value>)]) -> Option<Value> {
    let mut out = Value::Object(Map::new());
    let mut any = false;
    for (pointer, want) in fields {
        let have = live.pointer(pointer);
        let part = match (have, want) {
            (None, None) => continue,
            (Some(_), None) => Value::Null,
            (None, Some(w)) => w.clone(),
            (Some(h), Some(w)) if h == w => continue,
            (Some(h), Some(w)) => merge_patch_to(h, w),
        };
        any = true;
        merge_into(&mut out, nest(pointer, part));
    }
    any.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn projects_only_the_pointed_parts() {
        let obj = json!({"metadata": {"name": "a"}, "spec": {"replicas": 2, "paused": false}});
        assert_eq!(
            project(&obj, &["/spec/replicas", "/spec/missing"]),
            json!({"spec": {"replicas": 2}})
        );
        assert_eq!(
            nest("/metadata/annotations/a~1b", json!("x")),
            json!({"metadata": {"annotations": {"a/b": "x"}}})
        );
    }

    #[test]
    fn diff_shows_the_change_with_context() {
        let before = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "web:1", "resources": {"limits": {"memory": "64Mi"}}}
        ]}}}});
        let mut after = before.clone();
        after["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] =
            json!("128Mi");
        let d = object_diff(&before, &after, &["/spec/template"], "Deployment shop/cart");
        assert_eq!(
            d,
            "--- Deployment shop/cart (live)\n\
             +++ Deployment shop/cart (after change, server dry-run)\n\
             @@ -6,4 +6,4 @@\n\
             \x20        name: app\n\
             \x20        resources:\n\
             \x20          limits:\n\
             -            memory: 64Mi\n\
             +            memory: 128Mi\n"
        );
        assert_eq!(object_diff(&before, &before, &["/spec"], "x"), "");
    }

    #[test]
    fn merge_patch_turns_current_into_desired() {
        let current = json!({"a": 1, "b": {"c": 2, "d": 3}, "l": [1, 2], "gone": true});
        let desired = json!({"a": 1, "b": {"c": 5, "d": 3}, "l": [1], "new": "x"});
        let patch = merge_patch_to(&current, &desired);
        assert_eq!(
            patch,
            json!({"b": {"c": 5}, "l": [1], "gone": null, "new": "x"})
        );
        assert_eq!(merge_patch_to(&current, &current), Value::Null);
    }

    #[test]
    fn restore_patch_is_exact_and_none_when_nothing_changed() {
        let live = json!({"spec": {"replicas": 5, "template": {"metadata": {"annotations": {
            "kubectl.kubernetes.io/restartedAt": "now"}}}}});
        let fields = vec![
            ("/spec/replicas".to_string(), Some(json!(2))),
            ("/spec/template".to_string(), Some(json!({"metadata": {}}))),
            ("/spec/paused".to_string(), None),
        ];
        assert_eq!(
            restore_patch(&live, &fields).unwrap(),
            json!({"spec": {"replicas": 2, "template": {"metadata": {"annotations": null}}}})
        );
        let restored = json!({"spec": {"replicas": 2, "template": {"metadata": {}}}});
        assert_eq!(restore_patch(&restored, &fields), None);
    }
}
