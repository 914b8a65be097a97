//! The neutral [`Message`] as a Discord message: a card (a header, or label/value fields) is an
//! embed with a colour, its blocks in the description and its fields as embed fields; a plain
//! message is `content`. Buttons are components, five to a row. Mentions also go in `content`,
//! because a mention inside an embed notifies nobody, and only they may notify
//! (`allowed_mentions`), so text from the cluster can never ping `@everyone`.
//!
//! Discord refuses a whole message (50035, Invalid Form Body) when one part is over a limit,
//! so each limit is enforced here: text is cut with a visible marker, blocks and fields that do
//! not fit are dropped, and what was cut or dropped is returned for the thread. `chat::fit`
//! already cuts neutral text to `Limits`; this is the Discord-exact second line (markdown
//! escaping lengthens text; the description, fields and total have their own limits).

use serenity::all::{
    ButtonStyle as DiscordStyle, Colour, CreateActionRow, CreateAllowedMentions, CreateButton,
    CreateEmbed, CreateMessage, EditMessage, Nonce, RoleId, UserId,
};

use crate::chat::message::{Block, Button, ButtonStyle, Mention, Message, Span, Tone};

/// Longest `content`.
pub const MAX_CONTENT: usize = 2000;
/// Longest embed description.
pub const MAX_DESCRIPTION: usize = 4096;
/// Longest embed title.
pub const MAX_TITLE: usize = 256;
/// Most fields in an embed.
pub const MAX_FIELDS: usize = 25;
/// Longest field name.
pub const MAX_FIELD_NAME: usize = 256;
/// Longest field value.
pub const MAX_FIELD_VALUE: usize = 1024;
/// Most characters of one embed: title, description, field names and values together.
pub const MAX_EMBED_TOTAL: usize = 6000;
/// Most action rows in a message, and buttons in a row.
pub const MAX_ROWS: usize = 5;
pub const MAX_ROW_BUTTONS: usize = 5;
/// Longest button `custom_id` and label.
pub const MAX_CUSTOM_ID: usize = 100;
pub const MAX_LABEL: usize = 80;
/// Longest nonce.
pub const MAX_NONCE: usize = 25;

/// Appended where text was cut.
pub const CUT_MARK: &str = " … (cut: full text in the thread)";

/// A message ready for create or edit.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// `content`; empty when the embed carries everything and nobody is mentioned.
    pub content: String,
    pub embed: Option<CreateEmbed>,
    pub rows: Vec<CreateActionRow>,
    pub users: Vec<UserId>,
    pub roles: Vec<RoleId>,
    /// `@everyone` / `@here` were given explicitly (a configured on-call handle).
    pub everyone: bool,
    /// The full text of every part that was cut or dropped, as plain text, for the thread.
    pub overflow: Vec<String>,
}

impl Rendered {
    fn allowed(&self) -> CreateAllowedMentions {
        CreateAllowedMentions::new()
            .everyone(self.everyone)
            .users(self.users.clone())
            .roles(self.roles.clone())
    }

    /// A create request carrying `nonce`, which Discord enforces: a resend with the same
    /// nonce within a few minutes returns the first message instead of posting another.
    pub fn create(&self, nonce: &str) -> CreateMessage {
        let mut m = CreateMessage::new()
            .nonce(Nonce::String(nonce.to_string()))
            .enforce_nonce(true)
            .allowed_mentions(self.allowed())
            .embeds(self.embed.iter().cloned().collect());
        if !self.content.is_empty() {
            m = m.content(self.content.clone());
        }
        if !self.rows.is_empty() {
            m = m.components(self.rows.clone());
        }
        m
    }

    /// An edit that replaces everything: content (possibly emptied), embed and buttons.
    pub fn edit(&self) -> EditMessage {
        EditMessage::new()
            .content(self.content.clone())
            .embeds(self.embed.iter().cloned().collect())
            .components(self.rows.clone())
            .allowed_mentions(self.allowed())
    }
}

/// The nonce of an idempotency key: the first 25 hex digits of its SHA-256 (Discord allows 25
/// characters; keys are longer).
pub fn nonce(key: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut hex = hex::encode(Sha256::digest(key.as_bytes()));
    hex.truncate(MAX_NONCE);
    hex
}

/// Renders `message` within Discord's limits.
pub fn render(message: &Message) -> Rendered {
    let mut out = Rendered {
        content: String::new(),
        embed: None,
        rows: Vec::new(),
        users: Vec::new(),
        roles: Vec::new(),
        everyone: false,
        overflow: Vec::new(),
    };
    let mut pings = Vec::new();
    collect_mentions(message, &mut out, &mut pings);
    let (rows, dropped) = render_buttons(&message.buttons);
    out.rows = rows;
    out.overflow.extend(dropped);

    let has_fields = message
        .blocks
        .iter()
        .any(|b| matches!(b, Block::Fields { .. }));
    let body: Vec<(String, String)> = message
        .blocks
        .iter()
        .filter(|b| !matches!(b, Block::Fields { .. }))
        .filter_map(|b| block(b).map(|md| (md, plain_of(b))))
        .collect();
    let joined = body
        .iter()
        .map(|(md, _)| md.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let plain = message.header.is_none() && !has_fields;
    // In `content`, mentions are inline and notify as they are.
    if plain && joined.chars().count() <= MAX_CONTENT {
        out.content = match (joined.is_empty(), out.rows.is_empty()) {
            // Discord refuses an empty message (50006).
            (true, true) => "…".to_string(),
            _ => joined,
        };
        return out;
    }

    let mut embed = CreateEmbed::new();
    let mut used = 0;
    if let Some(h) = &message.header {
        embed = embed.colour(colour(h.tone));
        let full = match h.badge.trim() {
            "" => format!("{} {}", tone_emoji(h.tone), h.title),
            badge => format!("{} {badge} · {}", tone_emoji(h.tone), h.title),
        };
        let (title, cut) = cut_chars(&full, MAX_TITLE, "…");
        if cut {
            out.overflow.push(h.title.clone());
        }
        used += title.chars().count();
        embed = embed.title(title);
    }
    let description = fit_description(body, &mut out.overflow);
    used += description.chars().count();
    if !description.is_empty() {
        embed = embed.description(description);
    }
    let mut kept = 0;
    for b in &message.blocks {
        let Block::Fields { fields } = b else {
            continue;
        };
        for f in fields {
            let (name, _) = cut_chars(&escape(f.label.trim()), MAX_FIELD_NAME, "…");
            let name = if name.is_empty() {
                "\u{200b}".into()
            } else {
                name
            };
            let (value, cut) = fit_markdown(&f.value, MAX_FIELD_VALUE);
            let value = if value.trim().is_empty() {
                "-".into()
            } else {
                value
            };
            let line = format!("{}: {}", f.label, f.value.to_plain());
            let size = name.chars().count() + value.chars().count();
            if kept == MAX_FIELDS || used + size > MAX_EMBED_TOTAL {
                out.overflow.push(line);
                continue;
            }
            if cut {
                out.overflow.push(line);
            }
            used += size;
            kept += 1;
            embed = embed.field(name, value, true);
        }
    }
    out.embed = Some(embed);
    for p in pings {
        if out.content.chars().count() + p.chars().count() < MAX_CONTENT {
            if !out.content.is_empty() {
                out.content.push(' ');
            }
            out.content.push_str(&p);
        }
    }
    out
}

/// Records who may be notified and the mention strings that notify them.
fn collect_mentions(message: &Message, out: &mut Rendered, pings: &mut Vec<String>) {
    let texts = message.blocks.iter().flat_map(|b| match b {
        Block::Text { text } | Block::Context { text } => vec![text],
        Block::Fields { fields } => fields.iter().map(|f| &f.value).collect(),
        _ => vec![],
    });
    for text in texts {
        for span in &text.0 {
            let Span::Mention(m) = span else { continue };
            let ping = match m {
                Mention::User(id) => id.parse::<u64>().ok().filter(|n| *n != 0).map(|n| {
                    out.users.push(UserId::new(n));
                    format!("<@{n}>")
                }),
                Mention::Raw(raw) => raw_mention(raw, out),
            };
            if let Some(p) = ping
                && !pings.contains(&p)
            {
                pings.push(p);
            }
        }
    }
}

/// A configured handle: `<@id>`, `<@!id>`, `<@&role>`, `@here`, `@everyone`.
fn raw_mention(raw: &str, out: &mut Rendered) -> Option<String> {
    let raw = raw.trim();
    if raw == "@here" || raw == "@everyone" {
        out.everyone = true;
        return Some(raw.to_string());
    }
    let inner = raw.strip_prefix("<@")?.strip_suffix('>')?;
    if let Some(role) = inner.strip_prefix('&') {
        let n = role.parse::<u64>().ok().filter(|n| *n != 0)?;
        out.roles.push(RoleId::new(n));
        return Some(raw.to_string());
    }
    let n = inner
        .trim_start_matches('!')
        .parse::<u64>()
        .ok()
        .filter(|n| *n != 0)?;
    out.users.push(UserId::new(n));
    Some(raw.to_string())
}

/// The blocks joined into at most [`MAX_DESCRIPTION`] characters: whole blocks while they
/// fit, then the first that does not is cut (text) or dropped (code, which must stay fenced
/// to read well), then a marker.
fn fit_description(body: Vec<(String, String)>, overflow: &mut Vec<String>) -> String {
    let mut out = String::new();
    let mut used = 0;
    let mut rest = body.into_iter();
    for (md, plain) in rest.by_ref() {
        let sep = usize::from(!out.is_empty());
        let len = md.chars().count();
        if used + sep + len <= MAX_DESCRIPTION {
            if sep == 1 {
                out.push('\n');
            }
            out.push_str(&md);
            used += sep + len;
            continue;
        }
        overflow.push(plain);
        let room = MAX_DESCRIPTION.saturating_sub(used + sep + CUT_MARK.chars().count());
        if !md.starts_with("```") && room > 0 {
            if sep == 1 {
                out.push('\n');
            }
            out.push_str(&cut_markdown(&md, room));
        }
        out.push_str(CUT_MARK);
        break;
    }
    let dropped: Vec<String> = rest.map(|(_, plain)| plain).collect();
    if !dropped.is_empty() {
        overflow.push(dropped.join("\n"));
    }
    out
}

/// The markdown of one block (fields are rendered as embed fields elsewhere).
fn block(b: &Block) -> Option<String> {
    match b {
        Block::Text { text } if !text.is_empty() => Some(markdown(text)),
        // Subtext: small grey text, one marker per line.
        Block::Context { text } if !text.is_empty() => Some(
            markdown(text)
                .lines()
                .map(|l| format!("-# {l}"))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        Block::Code { code } if !code.trim().is_empty() => Some(fence(code)),
        Block::Divider => Some("───".to_string()),
        _ => None,
    }
}

fn plain_of(b: &Block) -> String {
    Message {
        blocks: vec![b.clone()],
        ..Message::default()
    }
    .to_plain()
}

/// A code block that nothing inside can close.
pub fn fence(code: &str) -> String {
    let code = code.trim_end_matches('\n').replace("```", "`\u{200b}``");
    format!("```\n{code}\n```")
}

/// The colour of an embed.
pub fn colour(tone: Tone) -> Colour {
    Colour::new(match tone {
        Tone::Neutral => 0x99AAB5,
        Tone::Good => 0x2ECC71,
        Tone::Info => 0x3498DB,
        Tone::Warning => 0xF1C40F,
        Tone::Danger => 0xE74C3C,
        Tone::Critical => 0x992D22,
    })
}

/// The emoji shown before a title's badge.
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

/// Unescaped text in at most `max` characters, with `mark` appended when cut.
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

/// Rows of at most five buttons, at most five rows. A button Discord would refuse (an empty,
/// too long or repeated `custom_id`) or that does not fit is left out and named in the
/// overflow rather than making Discord refuse the whole message.
fn render_buttons(buttons: &[Button]) -> (Vec<CreateActionRow>, Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    let mut shown = Vec::new();
    let mut dropped = Vec::new();
    for b in buttons {
        let valid = !b.action.is_empty()
            && b.action.chars().count() <= MAX_CUSTOM_ID
            && seen.insert(b.action.as_str());
        if !valid || shown.len() == MAX_ROWS * MAX_ROW_BUTTONS {
            dropped.push(format!("(button “{}” could not be shown)", b.label));
            continue;
        }
        let (label, _) = cut_chars(b.label.trim(), MAX_LABEL, "…");
        let label = if label.is_empty() {
            "…".into()
        } else {
            label
        };
        let style = match b.style {
            ButtonStyle::Primary => DiscordStyle::Primary,
            ButtonStyle::Danger => DiscordStyle::Danger,
            ButtonStyle::Default => DiscordStyle::Secondary,
        };
        shown.push(
            CreateButton::new(b.action.clone())
                .label(label)
                .style(style),
        );
    }
    let rows = shown
        .chunks(MAX_ROW_BUTTONS)
        .map(|c| CreateActionRow::Buttons(c.to_vec()))
        .collect();
    (rows, dropped)
}

mod markdown;
use markdown::cut_markdown;
pub use markdown::{escape, fit_markdown, markdown};

#[cfg(test)]
mod tests;
