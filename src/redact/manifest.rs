//! Rules that need the structure around a match, not just the match: a YAML block scalar under
//! a secret key, and the `data:` of a Secret (in YAML, or in JSON, escaped or not). A
//! ConfigMap's `data:` is left alone (what is inside is still searched like any other text).

use super::Output;
use super::apply::Ctx;

/// How far to look for the `kind` of the object around a `data` map.
const KIND_WINDOW: usize = 8 * 1024;
/// How many sibling lines to look at for the `kind` of a YAML object.
const SIBLING_LINES: usize = 400;

impl Ctx<'_, '_> {
    /// `password: |` and the indented lines below it become `password: [REDACTED]`.
    pub fn block_scalar(&self, out: &mut Output<'_>) -> usize {
        let text = self.text;
        let (Some((ind_start, ind_end)), Some((_, key_end))) =
            (self.group("ind"), self.group("key"))
        else {
            return self.end();
        };
        let Some(block_end) = block(text, self.end(), ind_end - ind_start)
            .last()
            .map(|l| l.end)
        else {
            return self.end();
        };
        let Some(colon) = text[key_end..self.end()].find(':').map(|c| key_end + c) else {
            return self.end();
        };
        out.replace(colon + 1, block_end, &[" ", &self.redactor.keyed]);
        block_end
    }

    /// `data:` / `stringData:` of a Secret in YAML: each value of the map becomes
    /// `[REDACTED]`, keys stay (they say what the workload expects).
    pub fn secret_data_yaml(&self, out: &mut Output<'_>) -> usize {
        let text = self.text;
        let (Some((ind_start, ind_end)), Some((key_start, key_end))) =
            (self.group("ind"), self.group("key"))
        else {
            return self.end();
        };
        let col = ind_end - ind_start;
        let lines = block(text, self.end(), col);
        let Some(entry_col) = lines.first().map(|l| l.indent) else {
            return self.end();
        };
        let string_data = &text[key_start..key_end] == "stringData";
        let secret = string_data
            || match yaml_kind(
                text,
                ind_start,
                col,
                &text[ind_start..ind_end],
                lines.last().map_or(self.end(), |l| l.end),
            ) {
                Some(kind) => kind == "Secret",
                None => {
                    let values: Vec<&str> = lines
                        .iter()
                        .filter(|l| l.indent == entry_col)
                        .map(|l| yaml_value(&text[l.start..l.end]).map_or("", |(_, v)| v))
                        .collect();
                    looks_like_secret_data(&values)
                }
            };
        if !secret {
            return self.end();
        }
        let mut prev_end = self.end();
        for line in &lines {
            let content = &text[line.start..line.end];
            if line.indent > entry_col {
                // The rest of a multi-line value: gone with it.
                out.replace(prev_end, line.end, &[]);
            } else {
                match yaml_value(content) {
                    Some((colon, value))
                        if !self.redactor.is_placeholder(value) || value.is_empty() =>
                    {
                        let at = line.start + colon + 1;
                        out.replace(at, line.end, &[" ", &self.redactor.keyed]);
                    }
                    Some(_) => {}
                    None => {
                        let at = line.start + line.indent;
                        out.replace(at, line.end, &[&self.redactor.keyed]);
                    }
                }
            }
            prev_end = line.end;
        }
        prev_end
    }

    /// `"data": {...}` of a Secret in JSON, also escaped inside a JSON string (the
    /// `last-applied-configuration` annotation): each string value becomes `[REDACTED]`.
    pub fn secret_data_json(&self, out: &mut Output<'_>) -> usize {
        let text = self.text;
        let escaped = self.group("q").is_some_and(|(s, e)| e - s == 2);
        let Some((key_start, key_end)) = self.group("key") else {
            return self.end();
        };
        let Some((values, end)) = parse_flat_object(text.as_bytes(), self.end(), escaped) else {
            return self.end();
        };
        let secret = &text[key_start..key_end] == "stringData"
            || match self.json_kind(self.start(), end) {
                Some(kind) => kind == "Secret",
                None => {
                    let strings: Vec<&str> = values.iter().map(|&(s, e)| &text[s..e]).collect();
                    looks_like_secret_data(&strings)
                }
            };
        if !secret {
            return self.end();
        }
        for &(s, e) in &values {
            if !self.redactor.is_placeholder(&text[s..e]) {
                self.mark_keyed(out, s, e);
            }
        }
        end
    }

    /// The `kind` of the JSON object around `start..end`: the first one after the map (keys
    /// come sorted: `data`, `kind`, `metadata`), else the last one before it.
    fn json_kind(&self, start: usize, end: usize) -> Option<&str> {
        let bytes = self.text.as_bytes();
        let re = &self.redactor.json_kind;
        let after = &bytes[end..(end + KIND_WINDOW).min(bytes.len())];
        let found = re.captures(after).or_else(|| {
            let before = &bytes[start.saturating_sub(KIND_WINDOW)..start];
            re.captures_iter(before).last()
        })?;
        std::str::from_utf8(found.get(1)?.as_bytes()).ok()
    }
}

/// One line of a YAML block.
struct Line {
    start: usize,
    /// Before the line's `\r\n` or `\n`.
    end: usize,
    indent: usize,
}

/// The lines after the header line ending at `from` that are indented deeper than `col`,
/// blank lines included only between such lines.
fn block(text: &str, from: usize, col: usize) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut pos = from;
    while let Some(rest) = text.get(pos..) {
        let Some(nl) = rest.find('\n') else { break };
        let start = pos + nl + 1;
        let end = text[start..].find('\n').map_or(text.len(), |e| start + e);
        let content_end = if text[..end].ends_with('\r') {
            end - 1
        } else {
            end
        };
        let line = &text[start..content_end];
        let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
        if indent == line.len() {
            pos = end;
            continue;
        }
        if indent <= col {
            break;
        }
        lines.push(Line {
            start,
            end: content_end,
            indent,
        });
        pos = end;
    }
    lines
}

/// A `key: value` line's colon (relative to the line) and trimmed value.
fn yaml_value(line: &str) -> Option<(usize, &str)> {
    let bytes = line.as_bytes();
    let colon = (0..bytes.len())
        .find(|&i| bytes[i] == b':' && matches!(bytes.get(i + 1), None | Some(b' ' | b'\t')))?;
    Some((colon, line[colon + 1..].trim()))
}

/// The `kind` of the YAML object whose `data:` line starts at `line_start` (indented `col`,
/// `prefix` being its indentation and list dash): a sibling line `kind: X` before or after
/// the block ending at `block_end`. `type: Opaque` or `type: kubernetes.io/...` also mark a
/// Secret.
fn yaml_kind<'t>(
    text: &'t str,
    line_start: usize,
    col: usize,
    prefix: &str,
    block_end: usize,
) -> Option<&'t str> {
    let sibling = |line: &'t str| -> Option<&'t str> {
        let (colon, value) = yaml_value(line)?;
        let key = line[..colon].trim_start_matches([' ', '\t', '-']).trim();
        let value = value.trim_matches(['"', '\'']);
        match key {
            "kind" => Some(value),
            "type" if value == "Opaque" || value.contains("kubernetes.io/") => Some("Secret"),
            _ => None,
        }
    };
    // After the block: siblings until the indentation drops or the next list item.
    for line in text[block_end..].split('\n').skip(1).take(SIBLING_LINES) {
        let (content_col, dash) = content_col(line);
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with("---") || content_col < col || (content_col == col && dash) {
            break;
        }
        if content_col == col
            && let Some(kind) = sibling(line)
        {
            return Some(kind);
        }
    }
    if prefix.contains('-') {
        // The `data:` line starts its list item: nothing before it belongs to the object.
        return None;
    }
    for line in text[..line_start].rsplit('\n').skip(1).take(SIBLING_LINES) {
        let (content_col, dash) = content_col(line);
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with("---") || content_col < col {
            break;
        }
        if content_col == col {
            if let Some(kind) = sibling(line) {
                return Some(kind);
            }
            if dash {
                break;
            }
        }
    }
    None
}

/// Where a line's key starts, past indentation and a list dash, and whether it had the dash.
fn content_col(line: &str) -> (usize, bool) {
    let trimmed = line.trim_start_matches([' ', '\t']);
    let indent = line.len() - trimmed.len();
    match trimmed.strip_prefix('-') {
        Some(rest) if rest.starts_with([' ', '\t']) => {
            let after = rest.trim_start_matches([' ', '\t']);
            (indent + 1 + rest.len() - after.len(), true)
        }
        _ => (indent, false),
    }
}

/// With no `kind` in sight: a map whose values are all base64, some of them clearly
/// (`aHVudGVyMg==`, not `true` or `1000`), is a Secret's.
fn looks_like_secret_data(values: &[&str]) -> bool {
    let base64 = |v: &str| {
        let v = v.trim_matches(['"', '\'']);
        let body = v.trim_end_matches('=');
        v.len() >= 4
            && v.len().is_multiple_of(4)
            && v.len() - body.len() <= 2
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
    };
    let clearly = |v: &str| {
        let upper = v.bytes().any(|b| b.is_ascii_uppercase());
        let lower = v.bytes().any(|b| b.is_ascii_lowercase());
        let digit = v.bytes().any(|b| b.is_ascii_digit());
        (upper && lower) || v.contains(['=', '+', '/']) || (digit && (upper || lower))
    };
    !values.is_empty() && values.iter().all(|v| base64(v)) && values.iter().any(|v| clearly(v))
}

/// Parses `"key": "value", ...}` from `at` (just after the `{`): the spans of the values
/// (string contents, or the text of a number), and the position after the `}`. `None` for
/// anything but a flat map.
fn parse_flat_object(
    b: &[u8],
    mut at: usize,
    escaped: bool,
) -> Option<(Vec<(usize, usize)>, usize)> {
    let quote: &[u8] = if escaped { b"\\\"" } else { b"\"" };
    let skip_ws = |mut i: usize| {
        while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\r' | b'\n') {
            i += 1;
        }
        i
    };
    // The end of a string's content starting at `i`.
    let string_end = |mut i: usize| -> Option<usize> {
        while i < b.len() {
            if escaped {
                if b[i..].starts_with(b"\\\\") {
                    i += 2;
                    continue;
                }
                if b[i..].starts_with(b"\\\"") {
                    return Some(i);
                }
            } else if b[i] == b'\\' {
                i += 2;
                continue;
            } else if b[i] == b'"' {
                return Some(i);
            }
            if b[i] == b'\n' {
                return None;
            }
            i += 1;
        }
        None
    };
    let mut values = Vec::new();
    at = skip_ws(at);
    if b.get(at) == Some(&b'}') {
        return Some((values, at + 1));
    }
    loop {
        at = skip_ws(at);
        if !b[at..].starts_with(quote) {
            return None;
        }
        at = string_end(at + quote.len())? + quote.len();
        at = skip_ws(at);
        if b.get(at) != Some(&b':') {
            return None;
        }
        at = skip_ws(at + 1);
        if b[at..].starts_with(quote) {
            let start = at + quote.len();
            let end = string_end(start)?;
            values.push((start, end));
            at = end + quote.len();
        } else {
            let start = at;
            while at < b.len() && !matches!(b[at], b',' | b'}' | b'\n' | b'{' | b'[') {
                at += 1;
            }
            let raw = std::str::from_utf8(&b[start..at]).ok()?.trim();
            if raw.is_empty()
                || !raw
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'-')
            {
                return None;
            }
            if raw != "null" {
                values.push((start, start + raw.len()));
            }
        }
        at = skip_ws(at);
        match b.get(at) {
            Some(b',') => at += 1,
            Some(b'}') => return Some((values, at + 1)),
            _ => return None,
        }
    }
}
