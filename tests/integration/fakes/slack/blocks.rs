//! Block Kit as the fake checks and reads it: Slack's documented limits, enforced the way
//! Slack does (the whole message refused with `invalid_blocks` and a pointer to the culprit),
//! and blocks turned back into what a person reads.

use std::collections::HashSet;

use serde_json::Value;

pub const MAX_BLOCKS: usize = 50;
pub const MAX_SECTION_TEXT: usize = 3000;
pub const MAX_FIELDS: usize = 10;
pub const MAX_FIELD_TEXT: usize = 2000;
pub const MAX_HEADER: usize = 150;
pub const MAX_CONTEXT_ELEMENTS: usize = 10;
pub const MAX_ACTIONS: usize = 25;
pub const MAX_BUTTON_TEXT: usize = 75;
pub const MAX_ACTION_ID: usize = 255;
pub const MAX_VALUE: usize = 2000;
pub const MAX_BLOCK_ID: usize = 255;

type Check = Result<(), String>;

fn err(path: &str, why: &str) -> Check {
    Err(format!("{why} [json-pointer:{path}]"))
}

fn chars(v: &Value) -> usize {
    v.as_str().map_or(0, |s| s.chars().count())
}

/// A text object: `{type: plain_text|mrkdwn, text}` with 1..=max characters.
fn text_object(v: &Value, path: &str, max: usize, plain_only: bool) -> Check {
    let kind = v["type"].as_str().unwrap_or_default();
    let allowed = if plain_only {
        kind == "plain_text"
    } else {
        kind == "plain_text" || kind == "mrkdwn"
    };
    if !allowed {
        return err(&format!("{path}/type"), "must be a valid text type");
    }
    match chars(&v["text"]) {
        0 => err(&format!("{path}/text"), "must be more than 0 characters"),
        n if n > max => err(
            &format!("{path}/text"),
            &format!("must be less than {} characters", max + 1),
        ),
        _ => Ok(()),
    }
}

/// Checks a `blocks` array as `chat.postMessage` / `chat.update` do.
pub fn validate(blocks: &Value) -> Check {
    let Some(list) = blocks.as_array() else {
        return err("/blocks", "must be an array");
    };
    if list.len() > MAX_BLOCKS {
        return err(
            "/blocks",
            &format!("no more than {MAX_BLOCKS} items allowed"),
        );
    }
    let mut action_ids = HashSet::new();
    for (i, b) in list.iter().enumerate() {
        let path = format!("/blocks/{i}");
        if chars(&b["block_id"]) > MAX_BLOCK_ID {
            return err(&format!("{path}/block_id"), "too long");
        }
        match b["type"].as_str().unwrap_or_default() {
            "section" => section(b, &path)?,
            "header" => text_object(&b["text"], &format!("{path}/text"), MAX_HEADER, true)?,
            "divider" => {}
            "context" => context(b, &path)?,
            "actions" => actions(b, &path, &mut action_ids)?,
            "rich_text" => rich_text(b, &path)?,
            _ => return err(&format!("{path}/type"), "must be a known block type"),
        }
    }
    Ok(())
}

fn section(b: &Value, path: &str) -> Check {
    let has_text = !b["text"].is_null();
    if has_text {
        text_object(&b["text"], &format!("{path}/text"), MAX_SECTION_TEXT, false)?;
    }
    match b["fields"].as_array() {
        Some(fields) => {
            if fields.is_empty() || fields.len() > MAX_FIELDS {
                return err(&format!("{path}/fields"), "must have 1 to 10 items");
            }
            for (j, f) in fields.iter().enumerate() {
                text_object(f, &format!("{path}/fields/{j}"), MAX_FIELD_TEXT, false)?;
            }
            Ok(())
        }
        None if has_text => Ok(()),
        None => err(path, "must provide text or fields"),
    }
}

fn context(b: &Value, path: &str) -> Check {
    let Some(elements) = b["elements"].as_array() else {
        return err(&format!("{path}/elements"), "required");
    };
    if elements.is_empty() || elements.len() > MAX_CONTEXT_ELEMENTS {
        return err(&format!("{path}/elements"), "must have 1 to 10 items");
    }
    for (j, e) in elements.iter().enumerate() {
        if e["type"] != "image" {
            text_object(e, &format!("{path}/elements/{j}"), MAX_SECTION_TEXT, false)?;
        }
    }
    Ok(())
}

fn actions(b: &Value, path: &str, ids: &mut HashSet<String>) -> Check {
    let Some(elements) = b["elements"].as_array() else {
        return err(&format!("{path}/elements"), "required");
    };
    if elements.is_empty() || elements.len() > MAX_ACTIONS {
        return err(&format!("{path}/elements"), "must have 1 to 25 items");
    }
    for (j, e) in elements.iter().enumerate() {
        let p = format!("{path}/elements/{j}");
        if e["type"] != "button" {
            return err(
                &format!("{p}/type"),
                "only buttons are supported by this fake",
            );
        }
        text_object(&e["text"], &format!("{p}/text"), MAX_BUTTON_TEXT, true)?;
        if chars(&e["action_id"]) > MAX_ACTION_ID {
            return err(
                &format!("{p}/action_id"),
                "must be less than 256 characters",
            );
        }
        if let Some(id) = e["action_id"].as_str()
            && !ids.insert(id.to_string())
        {
            return err(&format!("{p}/action_id"), "action_id already exists");
        }
        if chars(&e["value"]) > MAX_VALUE {
            return err(&format!("{p}/value"), "must be less than 2001 characters");
        }
        if let Some(style) = e["style"].as_str()
            && style != "primary"
            && style != "danger"
        {
            return err(&format!("{p}/style"), "must be primary or danger");
        }
    }
    Ok(())
}

fn rich_text(b: &Value, path: &str) -> Check {
    let Some(elements) = b["elements"].as_array().filter(|e| !e.is_empty()) else {
        return err(&format!("{path}/elements"), "must have items");
    };
    for (j, e) in elements.iter().enumerate() {
        let p = format!("{path}/elements/{j}");
        let known = [
            "rich_text_section",
            "rich_text_preformatted",
            "rich_text_quote",
            "rich_text_list",
        ];
        if !known.contains(&e["type"].as_str().unwrap_or_default()) {
            return err(&format!("{p}/type"), "must be a rich text element");
        }
        let Some(inner) = e["elements"].as_array().filter(|i| !i.is_empty()) else {
            return err(&format!("{p}/elements"), "must have items");
        };
        for (k, t) in inner.iter().enumerate() {
            if t["type"] == "text" && chars(&t["text"]) == 0 {
                return err(&format!("{p}/elements/{k}/text"), "must not be empty");
            }
        }
    }
    Ok(())
}

/// What a person reads in `blocks` (None without blocks).
pub fn readable(blocks: &Value) -> Option<String> {
    let list = blocks.as_array().filter(|l| !l.is_empty())?;
    let mut lines = Vec::new();
    for b in list {
        match b["type"].as_str().unwrap_or_default() {
            "header" => lines.push(read_text(&b["text"])),
            "section" => {
                if !b["text"].is_null() {
                    lines.push(read_text(&b["text"]));
                }
                for f in b["fields"].as_array().into_iter().flatten() {
                    lines.push(read_text(f));
                }
            }
            "context" => {
                for e in b["elements"].as_array().into_iter().flatten() {
                    lines.push(read_text(e));
                }
            }
            "rich_text" => {
                for e in b["elements"].as_array().into_iter().flatten() {
                    let text: String = e["elements"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|t| t["text"].as_str())
                        .collect();
                    lines.push(text);
                }
            }
            "divider" => lines.push("---".into()),
            _ => {}
        }
    }
    Some(lines.join("\n"))
}

fn read_text(t: &Value) -> String {
    let text = t["text"].as_str().unwrap_or_default();
    if t["type"] == "mrkdwn" {
        read_mrkdwn(text)
    } else {
        text.to_string()
    }
}

/// mrkdwn as a person reads it: `<@U1>` -> `@U1`, `<url|label>` -> `label`, bold and code
/// markers gone, `&amp;` `&lt;` `&gt;` undone.
pub fn read_mrkdwn(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if c == '<'
            && let Some(end) = rest.find('>')
        {
            let inner = &rest[1..end];
            let (target, label) = inner.split_once('|').unwrap_or((inner, ""));
            let shown = match target.chars().next() {
                Some('@') => format!("@{}", &target[1..]),
                Some('#') => format!(
                    "#{}",
                    if label.is_empty() {
                        &target[1..]
                    } else {
                        label
                    }
                ),
                Some('!') => format!("@{}", target[1..].rsplit('^').next().unwrap_or_default()),
                _ if !label.is_empty() => label.to_string(),
                _ => target.to_string(),
            };
            out.push_str(&shown);
            rest = &rest[end + 1..];
            continue;
        }
        if c != '*' && c != '`' {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// (label, action id) of every button.
pub fn buttons(blocks: &Value) -> Vec<(String, String)> {
    blocks
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["type"] == "button")
        .map(|e| {
            (
                e["text"]["text"].as_str().unwrap_or_default().to_string(),
                e["action_id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}
