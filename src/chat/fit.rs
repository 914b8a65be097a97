//! Fitting a message into a platform's limits. Too-long text is cut with a marker and the full
//! text goes to the thread in parts, so nothing is lost and nothing is refused. Pure; the
//! outbound queue calls it before every send, with the platform's [`Limits`].

use super::message::{Block, Message, Span, Text};
use super::platform::Limits;

const MARK: &str = " … (full text in the thread)";

/// A message that fits, and what did not fit, as messages for the thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fitted {
    pub message: Message,
    pub overflow: Vec<Message>,
}

pub fn fit(message: &Message, limits: &Limits) -> Fitted {
    let max = limits.max_block_chars.max(MARK.len() + 16);
    let mut out = message.clone();
    let mut overflow_text: Vec<String> = Vec::new();
    let mut overflow_code: Vec<String> = Vec::new();

    for block in &mut out.blocks {
        match block {
            Block::Text { text } | Block::Context { text } => {
                let plain = text.to_plain();
                if plain.chars().count() > max {
                    overflow_text.push(plain.clone());
                    *text = Text::plain(cut(&plain, max - MARK.chars().count()) + MARK);
                }
            }
            Block::Code { code } => {
                // Fences and markup take room on every platform; keep a margin.
                let room = max.saturating_sub(16);
                if code.chars().count() > room {
                    overflow_code.push(code.clone());
                    *code = cut(code, room - MARK.chars().count()) + MARK;
                }
            }
            Block::Fields { fields } => {
                for f in fields {
                    let plain = f.value.to_plain();
                    if plain.chars().count() > max / 2 {
                        overflow_text.push(format!("{}: {plain}", f.label));
                        f.value = Text::plain(cut(&plain, max / 2 - MARK.chars().count()) + MARK);
                    }
                }
            }
            Block::Divider => {}
        }
    }
    // Leave room for a final note when blocks are dropped.
    if out.blocks.len() > limits.max_blocks.saturating_sub(1) && limits.max_blocks > 1 {
        let keep = limits.max_blocks - 1;
        let dropped = out.blocks.split_off(keep);
        overflow_text.push(
            Message {
                header: None,
                blocks: dropped,
                buttons: vec![],
            }
            .to_plain(),
        );
        out.blocks.push(Block::Context {
            text: Text::plain("… more in the thread"),
        });
    }
    out.buttons.truncate(limits.max_buttons);
    for b in &mut out.buttons {
        if b.label.chars().count() > limits.max_button_label {
            b.label = cut(&b.label, limits.max_button_label.saturating_sub(1)) + "…";
        }
    }
    // The whole message too: trim blocks from the end until it fits.
    while out.to_plain().chars().count() > limits.max_message_chars && out.blocks.len() > 1 {
        let b = out.blocks.pop().expect("len > 1");
        overflow_text.push(
            Message {
                header: None,
                blocks: vec![b],
                buttons: vec![],
            }
            .to_plain(),
        );
    }

    let mut overflow = Vec::new();
    for t in overflow_text {
        for part in chunks(&t, max) {
            overflow.push(Message::text(Text(vec![Span::Plain(part)])));
        }
    }
    for c in overflow_code {
        for part in chunks(&c, max.saturating_sub(16)) {
            overflow.push(Message::default().code(part));
        }
    }
    Fitted {
        message: out,
        overflow,
    }
}

/// The first `n` characters (not bytes: never splits a character).
fn cut(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Splits text into parts of at most `max` characters, at line ends where possible.
pub fn chunks(s: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut len = 0usize;
    for line in s.split_inclusive('\n') {
        let line_len = line.chars().count();
        if len + line_len > max && !current.is_empty() {
            parts.push(std::mem::take(&mut current));
            len = 0;
        }
        if line_len > max {
            // One line longer than a part: cut after the last space that fits, else hard.
            let mut rest: Vec<char> = line.chars().collect();
            while rest.len() > max {
                let at = rest[..max]
                    .iter()
                    .rposition(|c| *c == ' ')
                    .map(|i| i + 1)
                    .filter(|i| *i > max / 2)
                    .unwrap_or(max);
                parts.push(rest.drain(..at).collect());
            }
            current = rest.into_iter().collect();
            len = current.chars().count();
            continue;
        }
        current.push_str(line);
        len += line_len;
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::message::ButtonStyle;

    fn limits(block: usize) -> Limits {
        Limits {
            max_block_chars: block,
            max_blocks: 5,
            max_buttons: 2,
            max_button_label: 10,
            ..Limits::default()
        }
    }

    #[test]
    fn short_messages_pass_unchanged() {
        let m = Message::text("hello").code("x = 1");
        let f = fit(&m, &limits(100));
        assert_eq!(f.message, m);
        assert!(f.overflow.is_empty());
    }

    #[test]
    fn long_text_is_cut_and_the_whole_goes_to_the_thread() {
        let long = "word ".repeat(100); // 500 chars
        let m = Message::text(long.clone());
        let f = fit(&m, &limits(100));
        let shown = f.message.to_plain();
        assert!(shown.chars().count() <= 100, "{}", shown.len());
        assert!(shown.ends_with("(full text in the thread)"));
        let rejoined: String = f
            .overflow
            .iter()
            .map(|m| match &m.blocks[0] {
                Block::Text { text } => text.to_plain(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(rejoined, long);
        assert!(
            f.overflow
                .iter()
                .all(|m| m.to_plain().chars().count() <= 100)
        );
    }

    #[test]
    fn long_code_is_split_at_lines() {
        let log: String = (0..50)
            .map(|i| format!("line {i:03} of the log\n"))
            .collect();
        let f = fit(&Message::default().code(log.clone()), &limits(120));
        let parts: Vec<String> = f
            .overflow
            .iter()
            .map(|m| match &m.blocks[0] {
                Block::Code { code } => code.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(parts.concat(), log);
        assert!(
            parts.iter().all(|p| p.ends_with('\n')),
            "split at line ends"
        );
    }

    #[test]
    fn too_many_blocks_buttons_and_long_labels() {
        let mut m = Message::default();
        for i in 0..9 {
            m = m.paragraph(format!("p{i}"));
        }
        for i in 0..4 {
            m = m.button(
                format!("button number {i}"),
                format!("a{i}"),
                ButtonStyle::Default,
            );
        }
        let f = fit(&m, &limits(100));
        assert_eq!(f.message.blocks.len(), 5);
        assert_eq!(f.message.buttons.len(), 2);
        assert!(
            f.message
                .buttons
                .iter()
                .all(|b| b.label.chars().count() <= 10)
        );
        let overflow: String = f.overflow.iter().map(|m| m.to_plain()).collect();
        for i in 4..9 {
            assert!(overflow.contains(&format!("p{i}")), "{overflow}");
        }
    }

    #[test]
    fn multibyte_text_is_never_split_inside_a_character() {
        let m = Message::text("é".repeat(500));
        let f = fit(&m, &limits(100));
        assert!(f.message.to_plain().starts_with("éé"));
        assert!(!f.overflow.is_empty());
    }
}
