//! PURE: the text shapes of the read-only tools — aligned tables, ages, compact YAML, and
//! bounding output to a character budget at line boundaries with a note saying what was cut.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// Cuts `text` to at most `max` characters, at a line boundary, keeping the head; says how many
/// lines were left out.
pub fn bounded(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    let mut used = 0;
    let mut kept = 0;
    for line in &lines {
        let len = line.chars().count() + 1;
        if used + len + 60 > max {
            break;
        }
        out.push_str(line);
        out.push('\n');
        used += len;
        kept += 1;
    }
    if kept == 0 {
        out = cut_chars(lines.first().copied().unwrap_or(""), max.saturating_sub(60));
        out.push('\n');
        kept = 1;
    }
    out.push_str(&format!(
        "[... {} more lines cut to fit the output budget]\n",
        lines.len() - kept
    ));
    out
}

/// Like [`bounded`] but keeps the tail (the newest log lines).
pub fn bounded_tail(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut kept: Vec<String> = Vec::new();
    let mut used = 0;
    for line in lines.iter().rev() {
        let len = line.chars().count() + 1;
        if used + len + 60 > max {
            break;
        }
        kept.push((*line).to_string());
        used += len;
    }
    if kept.is_empty() {
        kept.push(cut_chars(
            lines.last().copied().unwrap_or(""),
            max.saturating_sub(60),
        ));
    }
    kept.reverse();
    format!(
        "[... {} earlier lines cut to fit the output budget]\n{}\n",
        lines.len() - kept.len(),
        kept.join("\n")
    )
}

/// The first `max` characters of a line, with `…` when cut.
pub fn cut_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A short age like kubectl's: `45s`, `12m`, `3h`, `2d`.
pub fn age(now: DateTime<Utc>, then: Option<DateTime<Utc>>) -> String {
    let Some(then) = then else {
        return "?".into();
    };
    let s = (now - then).num_seconds().max(0);
    match s {
        0..120 => format!("{s}s"),
        120..7_200 => format!("{}m", s / 60),
        7_200..172_800 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// A timestamp field of an object as JSON.
pub fn time(v: &Value, pointer: &str) -> Option<DateTime<Utc>> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// Columns padded to their widest cell; the last column is not padded.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut out = String::new();
        for (i, c) in cells.into_iter().enumerate() {
            if i == last {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// Longest string value `compact_yaml` shows whole; longer ones (an embedded script, a long
/// annotation) are cut so one field cannot take the whole budget.
const MAX_VALUE_CHARS: usize = 300;

/// An object as YAML without what only machines read (managedFields, the last-applied
/// annotation, selfLink, nulls), long string values cut.
pub fn compact_yaml(object: &Value) -> String {
    let mut v = object.clone();
    cut_long_strings(&mut v);
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        meta.remove("selfLink");
        if let Some(ann) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            ann.remove("kubectl.kubernetes.io/last-applied-configuration");
            if ann.is_empty() {
                meta.remove("annotations");
            }
        }
    }
    super::super::diff::to_yaml(&super::super::diff::without_nulls(&v))
}

fn cut_long_strings(v: &mut Value) {
    match v {
        Value::String(s) if s.chars().count() > MAX_VALUE_CHARS => {
            let extra = s.chars().count() - MAX_VALUE_CHARS;
            *s = format!(
                "{}… [{extra} more characters]",
                s.chars().take(MAX_VALUE_CHARS).collect::<String>()
            );
        }
        Value::Array(items) => items.iter_mut().for_each(cut_long_strings),
        Value::Object(map) => map.values_mut().for_each(cut_long_strings),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounding_cuts_at_lines_and_says_so() {
        let text: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let head = bounded(&text, 200);
        assert!(head.len() <= 200, "{}", head.len());
        assert!(head.starts_with("line 0\n"));
        assert!(
            head.ends_with("more lines cut to fit the output budget]\n"),
            "{head}"
        );
        let tail = bounded_tail(&text, 200);
        assert!(tail.len() <= 200);
        assert!(tail.ends_with("line 99\n"), "{tail}");
        assert_eq!(bounded("short", 200), "short");
        assert!(bounded(&"x".repeat(1000), 200).len() <= 200 + 3);
    }

    #[test]
    fn ages_and_tables_read_like_kubectl() {
        let now = DateTime::parse_from_rfc3339("2024-01-02T00:00:00Z")
            .unwrap()
            .to_utc();
        let ago = |s: i64| Some(now - chrono::Duration::seconds(s));
        assert_eq!(age(now, ago(30)), "30s");
        assert_eq!(age(now, ago(600)), "10m");
        assert_eq!(age(now, ago(3 * 3600)), "3h");
        assert_eq!(age(now, ago(5 * 86_400)), "5d");
        let t = table(
            &["NAME", "READY"],
            &[
                vec!["cart-1".into(), "1/1".into()],
                vec!["a".into(), "0/1".into()],
            ],
        );
        assert_eq!(t, "NAME    READY\ncart-1  1/1\na       0/1\n");
    }

    #[test]
    fn compact_yaml_drops_machine_fields() {
        let obj = serde_json::json!({"metadata": {"name": "a", "managedFields": [{"x": 1}],
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}}, "spec": {"x": null}});
        assert_eq!(compact_yaml(&obj), "metadata:\n  name: a\nspec: {}\n");
        let long = serde_json::json!({"data": {"script": "x".repeat(1000)}});
        assert!(
            compact_yaml(&long).ends_with("x… [700 more characters]\n"),
            "{}",
            compact_yaml(&long)
        );
    }
}
