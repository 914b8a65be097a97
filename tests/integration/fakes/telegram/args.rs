//! Bot API arguments: JSON bodies, forms, multipart forms and query strings alike (teloxide
//! sends JSON, and multipart for methods that may upload a file such as `setWebhook`), with
//! numbers and JSON objects given as strings in forms.

use axum::http::{HeaderMap, header};
use serde_json::{Map, Value};

pub type Args = Map<String, Value>;

pub fn parse_args(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Result<Args, String> {
    let mut args = Args::new();
    let form = |bytes: &[u8], args: &mut Args| {
        for (k, v) in url::form_urlencoded::parse(bytes) {
            args.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    };
    if let Some(q) = query {
        form(q.as_bytes(), &mut args);
    }
    if body.is_empty() {
        return Ok(args);
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.starts_with("application/json") {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(o)) => args.extend(o),
            _ => return Err("Bad Request: can't parse JSON".into()),
        }
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        form(body, &mut args);
    } else if let Some(boundary) = content_type
        .strip_prefix("multipart/form-data")
        .and_then(|rest| rest.split("boundary=").nth(1))
    {
        multipart(body, boundary.trim_matches('"'), &mut args)?;
    } else {
        return Err(format!(
            "Bad Request: unsupported content type {content_type}"
        ));
    }
    Ok(args)
}

/// An integer given as a number or (form, query) as a string.
pub fn int(args: &Args, name: &str) -> Option<i64> {
    match args.get(name)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

pub fn text(args: &Args, name: &str) -> Option<String> {
    args.get(name).and_then(Value::as_str).map(str::to_string)
}

pub fn flag(args: &Args, name: &str) -> bool {
    matches!(args.get(name), Some(Value::Bool(true))) || text(args, name).as_deref() == Some("true")
}

/// An argument that is JSON, given as JSON or (form, query) as a JSON string.
pub fn json_arg(args: &Args, name: &str) -> Result<Option<Value>, String> {
    match args.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => serde_json::from_str(s)
            .map(Some)
            .map_err(|_| format!("Bad Request: can't parse {name} JSON object")),
        Some(v) => Ok(Some(v.clone())),
    }
}

/// The text fields of a `multipart/form-data` body (files are not used by Lookout).
fn multipart(body: &[u8], boundary: &str, args: &mut Args) -> Result<(), String> {
    let body = String::from_utf8_lossy(body);
    let delimiter = format!("--{boundary}");
    for part in body.split(delimiter.as_str()).skip(1) {
        if part.starts_with("--") {
            break;
        }
        let Some((headers, value)) = part.split_once("\r\n\r\n") else {
            return Err("Bad Request: can't parse multipart form".into());
        };
        let name = headers
            .split("name=\"")
            .nth(1)
            .and_then(|n| n.split('"').next())
            .ok_or("Bad Request: can't parse multipart form")?;
        let value = value.strip_suffix("\r\n").unwrap_or(value);
        args.insert(name.to_string(), Value::String(value.to_string()));
    }
    Ok(())
}
