//! The neutral [`Message`] as a Telegram message: HTML text (`parse_mode=HTML`, with `<`, `>`,
//! `&` and quotes escaped) and an inline keyboard.
//!
//! Telegram refuses a whole message over 4096 characters of visible text ("message is too
//! long", counted in UTF-16 code units after the markup is parsed) and a keyboard with callback
//! data over 64 bytes (`BUTTON_DATA_INVALID`), so both are enforced here: text is cut at a
//! block with a visible marker and what did not fit is returned for the thread; a button whose
//! data would be refused is left out and named. `chat::fit` already fits neutral text to
//! `Limits`; this is the Telegram-exact second line (decorations and UTF-16 lengths).

use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use crate::chat::message::{Block, Button, Mention, Message, Span, Text, Tone};

/// Longest visible text of a message, in UTF-16 code units.
pub const MAX_TEXT: usize = 4096;
/// Longest callback data of a button, in bytes.
pub const MAX_CALLBACK_DATA: usize = 64;
/// Longest button label Lookout shows (Telegram clips long labels on screen anyway).
pub const MAX_BUTTON_TEXT: usize = 64;
/// Most buttons on one message.
pub const MAX_BUTTONS: usize = 24;
/// Buttons side by side in one keyboard row.
pub const BUTTONS_PER_ROW: usize = 3;
/// Appended where text was cut.
pub const CUT_MARK: &str = "… (cut: full text in the thread)";

const BLOCK_GAP: &str = "\n\n";
const DIVIDER: &str = "──────────";

/// A message ready for `sendMessage` / `editMessageText`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The text, in Telegram's HTML.
    pub html: String,
    pub keyboard: Option<InlineKeyboardMarkup>,
    /// The full text of every part that was cut or dropped, as plain text, for the thread.
    pub overflow: Vec<String>,
}

/// One rendered block: its HTML, the text a person sees, and the plain text it came from.
struct Piece {
    html: String,
    visible: String,
    kind: PieceKind,
}

enum PieceKind {
    Header,
    Text(Text),
    Code(String),
    Other,
}

/// Renders `message` within Telegram's limits.
pub fn render(message: &Message) -> Rendered {
    let mut pieces = Vec::new();
    if let Some(h) = &message.header {
        let line = match h.badge.trim() {
            "" => format!("{} {}", tone_emoji(h.tone), h.title.trim()),
            badge => format!("{} {badge} · {}", tone_emoji(h.tone), h.title.trim()),
        };
        pieces.push(Piece {
            html: format!("<b>{}</b>", escape(&line)),
            visible: line,
            kind: PieceKind::Header,
        });
    }
    for block in &message.blocks {
        if let Some(p) = piece(block) {
            pieces.push(p);
        }
    }
    let (html, mut overflow) = join_within(pieces, MAX_TEXT);
    let (keyboard, dropped) = keyboard(&message.buttons);
    overflow.extend(dropped);
    let html = if html.trim().is_empty() {
        "(no text)".to_string()
    } else {
        html
    };
    Rendered {
        html,
        keyboard,
        overflow,
    }
}

/// The emoji shown before a header's badge.
pub fn tone_emoji(tone: Tone) -> &'static str {
    match tone {
        Tone::Neutral => "⚪",
        Tone::Good => "🟢",
        Tone::Info => "🔵",
        Tone::Warning => "🟡",
        Tone::Danger => "🔴",
        Tone::Critical => "🚨",
    }
}

/// Escapes text for Telegram's HTML: `<`, `>` and `&` are markup, and `"` ends an attribute.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// Length as Telegram counts it: UTF-16 code units.
pub fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// The longest prefix of `s` of at most `max` UTF-16 code units (never splits a character).
pub fn utf16_prefix(s: &str, max: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        used += c.len_utf16();
        if used > max {
            return &s[..i];
        }
    }
    s
}

/// `text` as HTML, and the text a person sees.
pub fn html(text: &Text) -> (String, String) {
    let mut out = String::new();
    let mut visible = String::new();
    for s in &text.0 {
        let (h, v) = span(s);
        out.push_str(&h);
        visible.push_str(&v);
    }
    (out, visible)
}

fn span(s: &Span) -> (String, String) {
    match s {
        Span::Plain(t) => (escape(t), t.clone()),
        Span::Bold(t) if t.trim().is_empty() => (escape(t), t.clone()),
        Span::Bold(t) => (format!("<b>{}</b>", escape(t)), t.clone()),
        Span::Code(t) if t.trim().is_empty() => (escape(t), t.clone()),
        Span::Code(t) => (format!("<code>{}</code>", escape(t)), t.clone()),
        Span::Link { label, url } if is_linkable(url) => {
            let label = if label.trim().is_empty() { url } else { label };
            (
                format!("<a href=\"{}\">{}</a>", escape(url), escape(label)),
                label.clone(),
            )
        }
        Span::Link { label, url } => {
            let t = format!("{label} ({url})");
            (escape(&t), t)
        }
        Span::Mention(Mention::User(id)) if is_user_id(id) => {
            let label = format!("@{id}");
            (
                format!("<a href=\"tg://user?id={id}\">{}</a>", escape(&label)),
                label,
            )
        }
        Span::Mention(Mention::User(id)) => {
            let t = format!("@{id}");
            (escape(&t), t)
        }
        Span::Mention(Mention::Raw(raw)) => (escape(raw), raw.clone()),
    }
}

fn is_linkable(url: &str) -> bool {
    ["https://", "http://", "tg://", "mailto:"]
        .iter()
        .any(|p| url.starts_with(p))
        && !url.contains([' ', '\n', '<', '>', '"'])
}

fn is_user_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit())
}

fn piece(block: &Block) -> Option<Piece> {
    Some(match block {
        Block::Text { text } => {
            if text.is_empty() {
                return None;
            }
            let (html, visible) = html(text);
            Piece {
                html,
                visible,
                kind: PieceKind::Text(text.clone()),
            }
        }
        Block::Context { text } => {
            if text.is_empty() {
                return None;
            }
            let (html, visible) = html(text);
            Piece {
                html: format!("<i>{html}</i>"),
                visible,
                kind: PieceKind::Text(text.clone()),
            }
        }
        Block::Fields { fields } => {
            if fields.is_empty() {
                return None;
            }
            let mut out = Vec::new();
            let mut seen = Vec::new();
            let mut spans = Vec::new();
            for f in fields {
                let value_text = if f.value.is_empty() {
                    Text::plain("-")
                } else {
                    f.value.clone()
                };
                let (value, shown) = html(&value_text);
                let label = f.label.trim();
                out.push(format!("<b>{}:</b> {value}", escape(label)));
                seen.push(format!("{label}: {shown}"));
                if !spans.is_empty() {
                    spans.push(Span::Plain("\n".into()));
                }
                spans.push(Span::Bold(format!("{label}:")));
                spans.push(Span::Plain(" ".into()));
                spans.extend(value_text.0);
            }
            Piece {
                html: out.join("\n"),
                visible: seen.join("\n"),
                kind: PieceKind::Text(Text(spans)),
            }
        }
        Block::Code { code } => {
            if code.trim().is_empty() {
                return None;
            }
            let code = code.trim_end_matches('\n');
            Piece {
                html: format!("<pre>{}</pre>", escape(code)),
                visible: code.to_string(),
                kind: PieceKind::Code(code.to_string()),
            }
        }
        Block::Divider => Piece {
            html: DIVIDER.into(),
            visible: DIVIDER.into(),
            kind: PieceKind::Other,
        },
    })
}

/// Joins pieces with blank lines while the visible text stays within `max`; the first piece
/// that does not fit is cut (text and code) and marked, and it and everything after it go to
/// the overflow as plain text.
fn join_within(pieces: Vec<Piece>, max: usize) -> (String, Vec<String>) {
    let gap = utf16_len(BLOCK_GAP);
    let total: usize = pieces.iter().map(|p| utf16_len(&p.visible)).sum::<usize>()
        + gap * pieces.len().saturating_sub(1);
    if total <= max {
        let html: Vec<String> = pieces.into_iter().map(|p| p.html).collect();
        return (html.join(BLOCK_GAP), Vec::new());
    }
    let budget = max - utf16_len(CUT_MARK) - gap;
    let mut out: Vec<String> = Vec::new();
    let mut used = 0;
    let mut overflow = Vec::new();
    let mut rest = pieces.into_iter();
    for p in rest.by_ref() {
        let sep = if out.is_empty() { 0 } else { gap };
        let len = utf16_len(&p.visible);
        if used + sep + len <= budget {
            used += sep + len;
            out.push(p.html);
            continue;
        }
        let room = budget.saturating_sub(used + sep);
        let cut = match &p.kind {
            PieceKind::Text(text) => cut_text(text, room),
            PieceKind::Code(code) => {
                let head = utf16_prefix(code, room).trim_end();
                (!head.is_empty()).then(|| format!("<pre>{}</pre>", escape(head)))
            }
            PieceKind::Header => {
                let head = utf16_prefix(&p.visible, room);
                (!head.is_empty()).then(|| format!("<b>{}</b>", escape(head)))
            }
            PieceKind::Other => None,
        };
        if let Some(c) = cut {
            out.push(c);
        }
        overflow.push(p.visible);
        break;
    }
    overflow.extend(rest.map(|p| p.visible));
    overflow.retain(|o| !o.trim().is_empty());
    out.push(escape(CUT_MARK));
    (out.join(BLOCK_GAP), vec![overflow.join("\n\n")])
}

/// `text` as HTML in at most `room` visible UTF-16 units: whole spans while they fit, then
/// a cut of the next one if it is text (links and mentions are never split).
fn cut_text(text: &Text, room: usize) -> Option<String> {
    let mut out = String::new();
    let mut used = 0;
    for s in &text.0 {
        let (h, v) = span(s);
        let len = utf16_len(&v);
        if used + len <= room {
            out.push_str(&h);
            used += len;
            continue;
        }
        let head = utf16_prefix(&v, room - used);
        match s {
            Span::Plain(_) => out.push_str(&escape(head)),
            Span::Bold(_) if !head.trim().is_empty() => {
                out.push_str(&format!("<b>{}</b>", escape(head)))
            }
            Span::Code(_) if !head.trim().is_empty() => {
                out.push_str(&format!("<code>{}</code>", escape(head)))
            }
            _ => {}
        }
        break;
    }
    (!out.trim().is_empty()).then_some(out)
}

/// The inline keyboard, rows of [`BUTTONS_PER_ROW`]. A button Telegram would refuse (callback
/// data empty or over 64 bytes) is left out and named in the overflow rather than making
/// Telegram refuse the whole message.
fn keyboard(buttons: &[Button]) -> (Option<InlineKeyboardMarkup>, Vec<String>) {
    let mut shown = Vec::new();
    let mut dropped = Vec::new();
    for b in buttons {
        if b.action.is_empty() || b.action.len() > MAX_CALLBACK_DATA || shown.len() >= MAX_BUTTONS {
            dropped.push(format!("(button “{}” could not be shown)", b.label));
            continue;
        }
        let label: String = b.label.trim().chars().take(MAX_BUTTON_TEXT).collect();
        let label = if label.is_empty() {
            "…".into()
        } else {
            label
        };
        shown.push(InlineKeyboardButton::callback(label, b.action.clone()));
    }
    if shown.is_empty() {
        return (None, dropped);
    }
    let rows: Vec<Vec<InlineKeyboardButton>> = shown
        .chunks(BUTTONS_PER_ROW)
        .map(<[InlineKeyboardButton]>::to_vec)
        .collect();
    (Some(InlineKeyboardMarkup::new(rows)), dropped)
}

#[cfg(test)]
mod tests;
