//! Telegram's HTML (`parse_mode=HTML`) read like Telegram reads it: only its tags, `<a>` with
//! an `href`, tags closed in order, the four named entities and numeric ones; a bare `&` stays
//! literal; anything else in `<...>` is refused. Also the inline keyboard's rules.

use serde_json::Value;

const TAGS: &[&str] = &[
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "span",
    "tg-spoiler",
    "tg-emoji",
    "blockquote",
];

/// Longest callback data, in bytes.
pub const MAX_CALLBACK_DATA: usize = 64;

/// The text a person sees, or Telegram's description of why the HTML is refused.
pub fn visible(html: &str) -> Result<String, String> {
    let fail = |why: String| format!("Bad Request: can't parse entities: {why}");
    let mut out = String::new();
    let mut open: Vec<String> = Vec::new();
    let mut i = 0;
    let bytes = html.as_bytes();
    while i < html.len() {
        let rest = &html[i..];
        if rest.starts_with('<') {
            let Some(end) = rest.find('>') else {
                return Err(fail(format!(
                    "Can't find end of the tag at byte offset {i}"
                )));
            };
            let inner = &rest[1..end];
            if let Some(name) = inner.strip_prefix('/') {
                let name = name.trim().to_ascii_lowercase();
                match open.pop() {
                    Some(o) if o == name => {}
                    Some(o) => {
                        return Err(fail(format!(
                            "Unmatched end tag at byte offset {i}, expected \"</{o}>\", found \"</{name}>\""
                        )));
                    }
                    None => {
                        return Err(fail(format!("Unexpected end tag at byte offset {i}")));
                    }
                }
            } else {
                let name = inner
                    .split(|c: char| c.is_whitespace())
                    .next()
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                if !TAGS.contains(&name.as_str()) {
                    return Err(fail(format!(
                        "Unsupported start tag \"{name}\" at byte offset {i}"
                    )));
                }
                if name == "a" && !inner.contains("href=\"") {
                    return Err(fail(format!(
                        "Tag \"a\" must have an href at byte offset {i}"
                    )));
                }
                open.push(name);
            }
            i += end + 1;
        } else if rest.starts_with('&') {
            match entity(rest) {
                Some((c, len)) => {
                    out.push(c);
                    i += len;
                }
                None => {
                    out.push('&');
                    i += 1;
                }
            }
        } else {
            let c = rest.chars().next().expect("not at the end");
            out.push(c);
            i += c.len_utf8();
        }
        debug_assert!(i <= bytes.len());
    }
    if let Some(o) = open.pop() {
        return Err(fail(format!(
            "Can't find end tag corresponding to start tag \"{o}\""
        )));
    }
    Ok(out)
}

fn entity(s: &str) -> Option<(char, usize)> {
    let end = s.bytes().take(12).position(|b| b == b';')?;
    let name = &s[1..end];
    let c = match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        n if n.starts_with("#x") => char::from_u32(u32::from_str_radix(&n[2..], 16).ok()?)?,
        n if n.starts_with('#') => char::from_u32(n[1..].parse().ok()?)?,
        _ => return None,
    };
    Some((c, end + 1))
}

/// The buttons of an inline keyboard, or why Telegram refuses it.
pub fn keyboard(markup: Option<&Value>) -> Result<Vec<(String, String)>, String> {
    let Some(markup) = markup else {
        return Ok(Vec::new());
    };
    let Some(rows) = markup.get("inline_keyboard").and_then(Value::as_array) else {
        return Err("Bad Request: can't parse reply keyboard markup JSON object".into());
    };
    let mut out = Vec::new();
    for row in rows {
        let Some(row) = row.as_array() else {
            return Err("Bad Request: can't parse inline keyboard button: InlineKeyboardButton must be an Object".into());
        };
        for b in row {
            let text = b.get("text").and_then(Value::as_str).unwrap_or_default();
            if text.is_empty() {
                return Err(
                    "Bad Request: text buttons are unallowed in the inline keyboard".into(),
                );
            }
            let Some(data) = b.get("callback_data").and_then(Value::as_str) else {
                continue; // URL buttons and the like
            };
            if data.is_empty() || data.len() > MAX_CALLBACK_DATA {
                return Err("Bad Request: BUTTON_DATA_INVALID".into());
            }
            out.push((text.to_string(), data.to_string()));
        }
    }
    Ok(out)
}

#[test]
fn html_is_read_like_telegram() {
    assert_eq!(
        visible("<b>a &amp; b</b> &lt;x&gt; & <a href=\"https://e\">l</a>").unwrap(),
        "a & b <x> & l"
    );
    assert!(
        visible("pod <crash> looping")
            .unwrap_err()
            .contains("Unsupported start tag")
    );
    assert!(visible("<b>open").unwrap_err().contains("end tag"));
    assert!(
        visible("<b><i>x</b></i>")
            .unwrap_err()
            .contains("Unmatched")
    );
    // Multi-byte characters right after an entity or a bare `&`.
    assert_eq!(visible("a &gt;• b &•").unwrap(), "a >• b &•");
}
