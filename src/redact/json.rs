//! Redaction of structured data (tool results, API objects) before they are serialised for
//! the LLM or chat. Works on the tree, so it knows what text alone can only guess: a value
//! under `password` is secret whatever it looks like, `data` is a Secret's only when the
//! object's `kind` says so.

use serde_json::{Map, Value};

use super::Redactor;

impl Redactor {
    /// Redacts a JSON value in place: every string goes through [`Redactor::redact`], values
    /// of keys that name secrets (`password`, `token`, `apiKey`, `authorization`, `auth`, ...)
    /// become `[REDACTED]`, and so do the `data` / `stringData` values of a `Secret` and the
    /// `value` of an env entry whose `name` names a secret. Keys are redacted as text.
    pub fn redact_json(&self, value: &mut Value) {
        match value {
            Value::String(s) => {
                if let std::borrow::Cow::Owned(r) = self.redact(s) {
                    *s = r;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_json(v)),
            Value::Object(map) => self.redact_object(map),
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    fn redact_object(&self, map: &mut Map<String, Value>) {
        let is_secret = map.get("kind").and_then(Value::as_str) == Some("Secret");
        let secret_env = map
            .get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| self.is_secret_key(n));
        for (key, v) in map.iter_mut() {
            let secret_map = key == "stringData" || (is_secret && key == "data");
            if secret_map {
                match v {
                    Value::Object(entries) => entries.values_mut().for_each(|e| self.hide(e)),
                    other => self.redact_json(other),
                }
            } else if self.is_secret_key(key) || (secret_env && key == "value") {
                self.hide(v);
            } else {
                self.redact_json(v);
            }
        }
        if map
            .keys()
            .any(|k| matches!(self.redact(k), std::borrow::Cow::Owned(_)))
        {
            let old = std::mem::take(map);
            for (k, v) in old {
                map.insert(self.redact(&k).into_owned(), v);
            }
        }
    }

    /// A value under a secret key: scalars are replaced, lists element by element, objects
    /// searched as usual (`"secret": {"secretName": "db"}` names a Secret, it is not one).
    fn hide(&self, value: &mut Value) {
        match value {
            Value::String(s) if !self.is_placeholder(s) => *s = self.keyed.clone(),
            Value::Number(_) => *value = Value::String(self.keyed.clone()),
            Value::Array(items) => items.iter_mut().for_each(|v| self.hide(v)),
            Value::Object(map) => self.redact_object(map),
            Value::String(_) | Value::Null | Value::Bool(_) => {}
        }
    }
}
