//! Discord markdown: escaping, spans as markdown, and cutting markdown to a length without
//! breaking an escape, a link or a mention.

use super::CUT_MARK;
use crate::chat::message::{Mention, Span, Text};

/// Escapes Discord markdown: `\ * _ ~ ` | [ ] <` anywhere, and what starts a heading, quote or
/// list at the start of a line.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut line_start = true;
    for c in s.chars() {
        let special = matches!(c, '\\' | '*' | '_' | '~' | '`' | '|' | '[' | ']' | '<')
            || (line_start && matches!(c, '>' | '#' | '-' | '+'));
        if special {
            out.push('\\');
        }
        out.push(c);
        line_start = c == '\n' || (line_start && c == ' ');
    }
    out
}

/// `text` as Discord markdown, whole.
pub fn markdown(text: &Text) -> String {
    text.0.iter().map(span).collect()
}

fn span(s: &Span) -> String {
    match s {
        Span::Plain(t) => escape(t),
        Span::Bold(t) => wrap(t, "**"),
        Span::Code(t) if t.contains('`') || t.contains('\n') => escape(t),
        Span::Code(t) => wrap_raw(t, "`"),
        Span::Link { label, url } if is_linkable(url) => {
            let label = if label.is_empty() { url } else { label };
            format!("[{}]({url})", escape(label))
        }
        Span::Link { label, url } => escape(&format!("{label} ({url})")),
        Span::Mention(Mention::User(id)) if id.parse::<u64>().is_ok() => format!("<@{id}>"),
        Span::Mention(Mention::User(id)) => escape(&format!("@{id}")),
        Span::Mention(Mention::Raw(raw)) => raw.clone(),
    }
}

/// `**bold**`: markers touch the text, surrounding whitespace stays outside.
fn wrap(t: &str, marker: &str) -> String {
    let inner = t.trim();
    if inner.is_empty() {
        return escape(t);
    }
    let start = t.len() - t.trim_start().len();
    let end = start + inner.len();
    format!(
        "{}{marker}{}{marker}{}",
        &t[..start],
        escape(inner),
        &t[end..]
    )
}

/// `` `code` ``: nothing inside is markdown, so nothing is escaped.
fn wrap_raw(t: &str, marker: &str) -> String {
    if t.trim().is_empty() {
        return escape(t);
    }
    format!("{marker}{t}{marker}")
}

fn is_linkable(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && !url.contains([' ', '\n', '(', ')', '<', '>'])
}

/// `text` as markdown in at most `max` characters: whole spans while they fit, then a cut
/// plain text (never a cut link or mention), then the marker. Returns whether it was cut.
pub fn fit_markdown(text: &Text, max: usize) -> (String, bool) {
    let full = markdown(text);
    if full.chars().count() <= max {
        return (full, false);
    }
    let budget = max.saturating_sub(CUT_MARK.chars().count());
    let mut out = String::new();
    let mut used = 0;
    for s in &text.0 {
        let piece = span(s);
        let len = piece.chars().count();
        if used + len <= budget {
            out.push_str(&piece);
            used += len;
            continue;
        }
        if let Span::Plain(t) | Span::Bold(t) | Span::Code(t) = s {
            out.push_str(&escaped_prefix(t, budget - used));
        }
        break;
    }
    out.push_str(CUT_MARK);
    (out, true)
}

/// The escaped form of the longest prefix of `s` that fits in `room` characters once escaped
/// (an escape is never split from its character).
fn escaped_prefix(s: &str, room: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let e = escape(&c.to_string());
        let len = e.chars().count();
        if used + len > room {
            break;
        }
        out.push_str(&e);
        used += len;
    }
    out
}

/// Markdown cut to `room` characters without leaving a dangling escape.
pub(super) fn cut_markdown(md: &str, room: usize) -> String {
    let mut out: String = md.chars().take(room).collect();
    let trailing = out.chars().rev().take_while(|c| *c == '\\').count();
    if trailing % 2 == 1 {
        out.pop();
    }
    out
}
