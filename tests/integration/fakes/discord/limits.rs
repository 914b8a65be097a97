//! Discord's limits on a message body, checked the way Discord does: every problem is listed
//! under its path in one Invalid Form Body (50035) error.

use std::collections::HashSet;

use serde_json::{Map, Value, json};

/// An error answer: HTTP status and Discord's JSON body.
pub type ApiError = (u16, Value);

pub fn json_error(status: u16, code: u64, message: &str) -> ApiError {
    (status, json!({"message": message, "code": code}))
}

/// Problems found in a body, by path (`embeds.0.description`).
#[derive(Default)]
pub struct Form {
    problems: Vec<(Vec<String>, &'static str, String)>,
}

impl Form {
    fn add(&mut self, path: &[&str], code: &'static str, message: String) {
        let path = path.iter().map(|s| s.to_string()).collect();
        self.problems.push((path, code, message));
    }

    fn max_len(&mut self, path: &[&str], value: &Value, max: usize) {
        if let Some(s) = value.as_str()
            && s.chars().count() > max
        {
            self.add(
                path,
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {max} or fewer in length."),
            );
        }
    }

    fn required(&mut self, path: &[&str], value: &Value) {
        if value.as_str().is_none_or(|s| s.trim().is_empty()) {
            self.add(path, "BASE_TYPE_REQUIRED", "This field is required".into());
        }
    }

    /// `Err` with Discord's nested shape when anything was wrong.
    pub fn result(self) -> Result<(), ApiError> {
        if self.problems.is_empty() {
            return Ok(());
        }
        let mut errors = Map::new();
        for (path, code, message) in self.problems {
            let mut node = &mut errors;
            for key in &path {
                node = node
                    .entry(key.clone())
                    .or_insert_with(|| json!({}))
                    .as_object_mut()
                    .expect("an object");
            }
            let list = node.entry("_errors").or_insert_with(|| json!([]));
            list.as_array_mut()
                .expect("a list")
                .push(json!({"code": code, "message": message}));
        }
        Err((
            400,
            json!({"code": 50035, "errors": errors, "message": "Invalid Form Body"}),
        ))
    }
}

/// Checks a create or edit body.
pub fn check_message(body: &Value, create: bool) -> Result<(), ApiError> {
    let mut f = Form::default();
    f.max_len(&["content"], &body["content"], 2000);
    let embeds = body["embeds"].as_array().cloned().unwrap_or_default();
    if embeds.len() > 10 {
        f.add(
            &["embeds"],
            "BASE_TYPE_MAX_LENGTH",
            "Must be 10 or fewer in length.".into(),
        );
    }
    for (i, e) in embeds.iter().enumerate() {
        check_embed(&mut f, &i.to_string(), e);
    }
    check_components(&mut f, &body["components"]);
    match &body["nonce"] {
        Value::Null | Value::Number(_) => {}
        Value::String(s) => f.max_len(&["nonce"], &json!(s), 25),
        _ => f.add(
            &["nonce"],
            "NONCE_TYPE_INVALID",
            "Nonce must be a string or integer".into(),
        ),
    }
    let mentions = &body["allowed_mentions"];
    let parse: Vec<&str> = mentions["parse"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for (kind, list) in [("users", &mentions["users"]), ("roles", &mentions["roles"])] {
        let listed = list.as_array().is_some_and(|l| !l.is_empty());
        if parse.contains(&kind) && listed {
            f.add(
                &["allowed_mentions"],
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                format!("parse:[\"{kind}\"] and {kind}: [ids] are mutually exclusive."),
            );
        }
    }
    f.result()?;
    let has = |k: &str| match &body[k] {
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => false,
    };
    let empty = !has("content") && !has("embeds") && !has("components");
    if empty && (create || body.get("content").is_some()) {
        return Err(json_error(400, 50006, "Cannot send an empty message"));
    }
    Ok(())
}

fn check_embed(f: &mut Form, i: &str, e: &Value) {
    f.max_len(&["embeds", i, "title"], &e["title"], 256);
    f.max_len(&["embeds", i, "description"], &e["description"], 4096);
    f.max_len(&["embeds", i, "footer", "text"], &e["footer"]["text"], 2048);
    let len = |v: &Value| v.as_str().map_or(0, |s| s.chars().count());
    let mut total = len(&e["title"]) + len(&e["description"]) + len(&e["footer"]["text"]);
    let fields = e["fields"].as_array().cloned().unwrap_or_default();
    if fields.len() > 25 {
        f.add(
            &["embeds", i, "fields"],
            "BASE_TYPE_MAX_LENGTH",
            "Must be 25 or fewer in length.".into(),
        );
    }
    for (j, field) in fields.iter().enumerate() {
        let j = j.to_string();
        f.required(&["embeds", i, "fields", &j, "name"], &field["name"]);
        f.required(&["embeds", i, "fields", &j, "value"], &field["value"]);
        f.max_len(&["embeds", i, "fields", &j, "name"], &field["name"], 256);
        f.max_len(&["embeds", i, "fields", &j, "value"], &field["value"], 1024);
        total += len(&field["name"]) + len(&field["value"]);
    }
    if total > 6000 {
        f.add(
            &["embeds", i],
            "MAX_EMBED_SIZE_EXCEEDED",
            "Embed size exceeds maximum size of 6000".into(),
        );
    }
}

fn check_components(f: &mut Form, components: &Value) {
    let rows = components.as_array().cloned().unwrap_or_default();
    if rows.len() > 5 {
        f.add(
            &["components"],
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 5 in length.".into(),
        );
    }
    let mut ids = HashSet::new();
    for (i, row) in rows.iter().enumerate() {
        let i = i.to_string();
        if row["type"] != 1 {
            f.add(
                &["components", &i, "type"],
                "UNION_TYPE_CHOICES",
                "Value of field \"type\" must be one of (1,).".into(),
            );
        }
        let items = row["components"].as_array().cloned().unwrap_or_default();
        if items.is_empty() || items.len() > 5 {
            f.add(
                &["components", &i, "components"],
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 5 in length.".into(),
            );
        }
        for (j, b) in items.iter().enumerate() {
            let j = j.to_string();
            let path = ["components", &i, "components", &j];
            f.max_len(&[&path[..], &["label"]].concat(), &b["label"], 80);
            let link = b["style"] == 5;
            if !link {
                f.required(&[&path[..], &["custom_id"]].concat(), &b["custom_id"]);
                f.max_len(&[&path[..], &["custom_id"]].concat(), &b["custom_id"], 100);
                let id = b["custom_id"].as_str().unwrap_or_default().to_string();
                if !id.is_empty() && !ids.insert(id) {
                    f.add(
                        &[&path[..], &["custom_id"]].concat(),
                        "COMPONENT_CUSTOM_ID_DUPLICATED",
                        "Component custom id cannot be duplicated".into(),
                    );
                }
            }
            if !(1..=5).contains(&b["style"].as_u64().unwrap_or(0)) {
                f.add(
                    &[&path[..], &["style"]].concat(),
                    "BASE_TYPE_CHOICES",
                    "Value must be one of {1, 2, 3, 4, 5}.".into(),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_come_back_under_their_paths() {
        let body = json!({
            "content": "x".repeat(2001),
            "embeds": [{"description": "y".repeat(4097), "fields": [{"name": "", "value": "v"}]}],
            "components": [{"type": 1, "components": [
                {"type": 2, "style": 1, "label": "ok", "custom_id": "a"},
                {"type": 2, "style": 1, "label": "l".repeat(81), "custom_id": "a"}]}],
            "nonce": "n".repeat(26),
        });
        let (status, err) = check_message(&body, true).unwrap_err();
        assert_eq!(status, 400);
        assert_eq!(err["code"], 50035);
        let e = &err["errors"];
        assert_eq!(e["content"]["_errors"][0]["code"], "BASE_TYPE_MAX_LENGTH");
        assert_eq!(
            e["embeds"]["0"]["description"]["_errors"][0]["message"],
            "Must be 4096 or fewer in length."
        );
        assert_eq!(
            e["embeds"]["0"]["fields"]["0"]["name"]["_errors"][0]["code"],
            "BASE_TYPE_REQUIRED"
        );
        let b = &e["components"]["0"]["components"]["1"];
        assert_eq!(b["label"]["_errors"][0]["code"], "BASE_TYPE_MAX_LENGTH");
        assert_eq!(
            b["custom_id"]["_errors"][0]["code"],
            "COMPONENT_CUSTOM_ID_DUPLICATED"
        );
        assert_eq!(e["nonce"]["_errors"][0]["code"], "BASE_TYPE_MAX_LENGTH");
        let empty = check_message(&json!({"content": "", "embeds": []}), true).unwrap_err();
        assert_eq!(empty.1["code"], 50006);
    }
}
