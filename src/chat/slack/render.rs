//! The neutral [`Message`] as Slack Block Kit: a header with a tone emoji, sections in
//! `mrkdwn` (escaped), fields, context, dividers, code as preformatted rich text, buttons in
//! actions blocks, and a plain-text fallback for notifications.
//!
//! Slack refuses a whole message (`invalid_blocks`) when one element is over a limit, so every
//! limit is enforced here: text is cut with a visible marker, extra blocks are dropped for a
//! marker block, and what did not fit is returned for the thread. `chat::fit` already cuts
//! neutral text to `Limits`; this is the Slack-exact second line (escaping lengthens text,
//! fields and headers have their own limits).

use slack_morphism::prelude::*;

use crate::chat::message::{Block, Button, ButtonStyle, Mention, Message, Span, Text, Tone};

/// Most blocks in one message.
pub const MAX_BLOCKS: usize = 50;
/// Longest text of a section (and, here, of a context element and a code block).
pub const MAX_SECTION_TEXT: usize = 3000;
/// Longest text of one section field.
pub const MAX_FIELD_TEXT: usize = 2000;
/// Most fields in one section.
pub const MAX_FIELDS: usize = 10;
/// Longest header text.
pub const MAX_HEADER: usize = 150;
/// Longest button label.
pub const MAX_BUTTON_TEXT: usize = 75;
/// Longest action id.
pub const MAX_ACTION_ID: usize = 255;
/// Longest button value.
pub const MAX_VALUE: usize = 2000;
/// Most elements of one actions block.
pub const MAX_ACTIONS: usize = 25;
/// The notification fallback is cut here; the blocks carry the message.
pub const MAX_FALLBACK: usize = 3000;

/// Appended where text was cut.
pub const CUT_MARK: &str = " … (cut: full text in the thread)";

/// A message ready for `chat.postMessage` / `chat.update`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// Plain-text fallback (notifications, clients without blocks), escaped for mrkdwn.
    pub text: String,
    pub blocks: Vec<SlackBlock>,
    /// The full text of every part that was cut or dropped, as plain text, for the thread.
    /// Empty when everything fit.
    pub overflow: Vec<String>,
}

/// Renders `message` within Slack's limits.
pub fn render(message: &Message) -> Rendered {
    let mut overflow = Vec::new();
    let mut head = Vec::new();
    if let Some(h) = &message.header {
        let full = match h.badge.trim() {
            "" => format!("{} {}", tone_emoji(h.tone), h.title),
            badge => format!("{} {badge} · {}", tone_emoji(h.tone), h.title),
        };
        let (text, cut) = cut_chars(&full, MAX_HEADER, "…");
        if cut {
            overflow.push(h.title.clone());
        }
        head.push(SlackBlock::Header(SlackHeaderBlock::new(
            SlackBlockPlainText::new(text).with_emoji(true).into(),
        )));
    }

    // Each content block with the plain text it came from, for the thread if it is dropped.
    let mut body: Vec<(SlackBlock, String)> = Vec::new();
    for block in &message.blocks {
        render_block(block, &mut body, &mut overflow);
    }

    let (actions, dropped_buttons) = render_buttons(&message.buttons);
    overflow.extend(dropped_buttons);

    let room = MAX_BLOCKS - head.len() - actions.len();
    if body.len() > room {
        let keep = room.saturating_sub(1);
        let dropped = body.split_off(keep);
        let count = dropped.len();
        overflow.push(
            dropped
                .into_iter()
                .map(|(_, plain)| plain)
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join("\n"),
        );
        body.push((
            context(format!(
                "… {count} more blocks did not fit: full text in the thread"
            )),
            String::new(),
        ));
    }

    let mut blocks = head;
    blocks.extend(body.into_iter().map(|(b, _)| b));
    blocks.extend(actions);

    let plain = message.to_plain();
    let fallback = if plain.is_empty() {
        "(no text)".to_string()
    } else {
        plain
    };
    let (text, _) = fit_plain(&fallback, MAX_FALLBACK, "…");
    Rendered {
        text,
        blocks,
        overflow,
    }
}

/// The emoji shown before a header's badge.
pub fn tone_emoji(tone: Tone) -> &'static str {
    match tone {
        Tone::Neutral => ":white_circle:",
        Tone::Good => ":large_green_circle:",
        Tone::Info => ":large_blue_circle:",
        Tone::Warning => ":large_yellow_circle:",
        Tone::Danger => ":red_circle:",
        Tone::Critical => ":rotating_light:",
    }
}

/// Escapes text for mrkdwn: Slack reads `&`, `<` and `>` as control characters.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        push_escaped(&mut out, c);
    }
    out
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        c => out.push(c),
    }
}

/// `text` as mrkdwn, whole.
pub fn mrkdwn(text: &Text) -> String {
    text.0.iter().map(span).collect()
}

fn span(s: &Span) -> String {
    match s {
        Span::Plain(t) => escape(t),
        Span::Bold(t) => wrap(t, '*'),
        Span::Code(t) if t.contains('`') => escape(t),
        Span::Code(t) => wrap(t, '`'),
        Span::Link { label, url } if is_linkable(url) => {
            let label = if label.is_empty() { url } else { label };
            format!("<{}|{}>", escape(url), escape(label))
        }
        Span::Link { label, url } => escape(&format!("{label} ({url})")),
        Span::Mention(Mention::User(id)) if is_slack_id(id) => format!("<@{id}>"),
        Span::Mention(Mention::User(id)) => escape(&format!("@{id}")),
        Span::Mention(Mention::Raw(raw)) => raw.clone(),
    }
}

/// `*bold*` / `` `code` ``: Slack only formats when the markers touch the text, so
/// surrounding whitespace goes outside them.
fn wrap(t: &str, marker: char) -> String {
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

fn is_linkable(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://") || url.starts_with("mailto:"))
        && !url.contains(['|', '<', '>', ' ', '\n'])
}

fn is_slack_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric())
}

/// `text` as mrkdwn in at most `max` characters. When it does not fit, whole spans are kept
/// while they fit, the next one is cut if it is text (mentions and links are never split),
/// and the marker is appended. Returns whether it was cut.
pub fn fit_mrkdwn(text: &Text, max: usize) -> (String, bool) {
    let full = mrkdwn(text);
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
        let room = budget - used;
        match s {
            Span::Plain(t) => out.push_str(&escaped_prefix(t, room)),
            // Rendered as plain text whole (see `span`), so cut as plain text.
            Span::Code(t) if t.contains('`') => out.push_str(&escaped_prefix(t, room)),
            Span::Bold(t) | Span::Code(t) if room > 3 => {
                let marker = if matches!(s, Span::Bold(_)) { '*' } else { '`' };
                let lead = if t.starts_with(char::is_whitespace) {
                    " "
                } else {
                    ""
                };
                let inner = escaped_prefix(t.trim(), room - 2 - lead.len());
                let inner = inner.trim_end();
                if !inner.is_empty() {
                    out.push_str(lead);
                    out.push(marker);
                    out.push_str(inner);
                    out.push(marker);
                }
            }
            _ => {}
        }
        break;
    }
    out.push_str(CUT_MARK);
    (out, true)
}

/// The escaped form of the longest prefix of `s` whose escaped form fits in `room`
/// characters (an entity like `&amp;` is never split).
fn escaped_prefix(s: &str, room: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let len = match c {
            '&' => 5,
            '<' | '>' => 4,
            _ => 1,
        };
        if used + len > room {
            break;
        }
        push_escaped(&mut out, c);
        used += len;
    }
    out
}

/// Escaped plain text in at most `max` characters, with `mark` appended when cut.
fn fit_plain(s: &str, max: usize, mark: &str) -> (String, bool) {
    let full = escape(s);
    if full.chars().count() <= max {
        return (full, false);
    }
    let mut out = escaped_prefix(s, max.saturating_sub(mark.chars().count()));
    out.push_str(mark);
    (out, true)
}

/// Unescaped text in at most `max` characters.
fn cut_chars(s: &str, max: usize, mark: &str) -> (String, bool) {
    if s.chars().count() <= max {
        return (s.to_string(), false);
    }
    let mut out: String = s
        .chars()
        .take(max.saturating_sub(mark.chars().count()))
        .collect();
    out.push_str(mark);
    (out, true)
}

fn section(text: String) -> SlackBlock {
    SlackBlock::Section(
        SlackSectionBlock::new().with_text(SlackBlockMarkDownText::new(text).into()),
    )
}

fn context(text: String) -> SlackBlock {
    SlackBlock::Context(SlackContextBlock::new(vec![
        SlackBlockMarkDownText::new(text).into(),
    ]))
}

fn render_block(block: &Block, out: &mut Vec<(SlackBlock, String)>, overflow: &mut Vec<String>) {
    match block {
        Block::Text { text } | Block::Context { text } => {
            if text.is_empty() {
                return;
            }
            let (rendered, cut) = fit_mrkdwn(text, MAX_SECTION_TEXT);
            let plain = text.to_plain();
            if cut {
                overflow.push(plain.clone());
            }
            let b = if matches!(block, Block::Text { .. }) {
                section(rendered)
            } else {
                context(rendered)
            };
            out.push((b, plain));
        }
        Block::Fields { fields } => {
            for group in fields.chunks(MAX_FIELDS) {
                let mut texts = Vec::new();
                let mut plain = Vec::new();
                for f in group {
                    let label = format!("*{}*\n", escape(f.label.trim()));
                    let room = MAX_FIELD_TEXT.saturating_sub(label.chars().count());
                    let (value, cut) = if f.value.is_empty() {
                        ("-".to_string(), false)
                    } else {
                        fit_mrkdwn(&f.value, room)
                    };
                    let line = format!("{}: {}", f.label, f.value.to_plain());
                    if cut {
                        overflow.push(line.clone());
                    }
                    plain.push(line);
                    texts.push(SlackBlockMarkDownText::new(label + &value).into());
                }
                out.push((
                    SlackBlock::Section(SlackSectionBlock::new().with_fields(texts)),
                    plain.join("\n"),
                ));
            }
        }
        Block::Code { code } => {
            if code.trim().is_empty() {
                return;
            }
            let (shown, cut) = cut_chars(code, MAX_SECTION_TEXT, &format!("\n{}", CUT_MARK.trim()));
            if cut {
                overflow.push(code.clone());
            }
            let pre = SlackRichTextPreformatted::new(vec![shown.into()]);
            out.push((
                SlackBlock::RichText(SlackRichTextBlock::new(vec![pre.into()])),
                code.clone(),
            ));
        }
        Block::Divider => out.push((SlackBlock::Divider(SlackDividerBlock::new()), String::new())),
    }
}

/// Actions blocks of at most 25 buttons. A button whose action id Slack would refuse (too
/// long, or a duplicate within the message) cannot be shown: it is left out and named in
/// the overflow rather than making Slack refuse the whole message.
fn render_buttons(buttons: &[Button]) -> (Vec<SlackBlock>, Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    let mut elements = Vec::new();
    let mut dropped = Vec::new();
    for b in buttons {
        if b.action.is_empty()
            || b.action.chars().count() > MAX_ACTION_ID.min(MAX_VALUE)
            || !seen.insert(b.action.as_str())
        {
            dropped.push(format!("(button “{}” could not be shown)", b.label));
            continue;
        }
        let (label, _) = cut_chars(b.label.trim(), MAX_BUTTON_TEXT, "…");
        let label = if label.is_empty() {
            "…".into()
        } else {
            label
        };
        let mut el =
            SlackBlockButtonElement::new(SlackBlockPlainText::new(label).with_emoji(true).into())
                .with_action_id(SlackActionId::new(b.action.clone()))
                .with_value(b.action.clone());
        match b.style {
            ButtonStyle::Primary => el = el.with_style(SlackBlockButtonStyle::Primary),
            ButtonStyle::Danger => el = el.with_style(SlackBlockButtonStyle::Danger),
            ButtonStyle::Default => {}
        }
        elements.push(SlackActionBlockElement::Button(el));
    }
    let blocks = elements
        .chunks(MAX_ACTIONS)
        .map(|c| SlackBlock::Actions(SlackActionsBlock::new(c.to_vec())))
        .collect();
    (blocks, dropped)
}

#[cfg(test)]
mod tests;
