//! PURE: what conversations say in chat. An answer becomes one or more messages that each fit
//! the platform (fenced code as code blocks, long answers in numbered parts in the thread), the
//! last one carrying the "Looked at" line and any suggested change; plus the short messages:
//! looking into it, a polite refusal, a failure, and the pointer when no model is configured.

use std::time::Duration;

use super::ask::AskError;
use super::config::RateLimit;
use super::limits::Scope;
use super::tools::Suggestion;
use crate::chat::redact::Redact;
use crate::chat::{Block, ButtonStyle, Limits, Message, Text};

/// Room kept in every message for the part label, the "Looked at" line and suggestions.
const RESERVED: usize = 1200;
/// Fences and markup take room on every platform.
const CODE_MARGIN: usize = 32;

/// A suggested change as shown under an answer, with the action id of its Propose button when
/// it was kept for one.
#[derive(Debug, Clone, Copy)]
pub struct Offered<'a> {
    pub suggestion: &'a Suggestion,
    pub button: Option<&'a str>,
}

/// Posted at once, then replaced by the answer.
pub fn looking() -> Message {
    Message::text("Looking into it…")
}

/// The answer as messages in order, each within `limits`.
pub fn answer_messages(
    text: &str,
    looked_at: Option<&str>,
    suggestions: &[Offered],
    limits: &Limits,
) -> Vec<Message> {
    let block_max = limits.max_block_chars.saturating_sub(CODE_MARGIN).max(200);
    let message_max = limits
        .max_message_chars
        .min(limits.max_block_chars * limits.max_blocks.max(1))
        .saturating_sub(RESERVED)
        .max(block_max.min(1000));
    let max_blocks = limits.max_blocks.saturating_sub(4).max(1);

    let mut parts: Vec<Vec<Block>> = vec![Vec::new()];
    let mut used = 0;
    for block in blocks(text, block_max) {
        let size = block_chars(&block);
        let current = parts.last_mut().expect("one part at least");
        if !current.is_empty() && (used + size > message_max || current.len() >= max_blocks) {
            parts.push(Vec::new());
            used = 0;
        }
        used += size;
        parts.last_mut().expect("pushed").push(block);
    }
    let n = parts.len();
    let mut out: Vec<Message> = parts
        .into_iter()
        .enumerate()
        .map(|(i, blocks)| {
            let mut m = Message {
                blocks,
                ..Message::default()
            };
            if n > 1 {
                m = m.context(format!("part {} of {n}", i + 1));
            }
            m
        })
        .collect();
    let last = out.pop().expect("one part at least");
    out.push(with_footer(last, looked_at, suggestions));
    out
}

fn with_footer(mut m: Message, looked_at: Option<&str>, suggestions: &[Offered]) -> Message {
    for o in suggestions {
        let s = o.suggestion;
        let mut line = Text::plain("Suggested change (not run): ")
            .code(&s.action)
            .and(format!(" ({} risk)", s.risk.as_str()));
        if !s.reason.is_empty() {
            line = line.and(format!(" — {}", s.reason));
        }
        m = m
            .paragraph(line)
            .code(serde_json::Value::Object(s.params.clone()).to_string());
    }
    let buttons: Vec<(&str, &str)> = suggestions
        .iter()
        .filter_map(|o| Some((o.suggestion.action.as_str(), o.button?)))
        .collect();
    if !buttons.is_empty() {
        m = m.context(
            "A conversation only reads: nothing above was run. Propose asks for it as a step of \
             its incident's remediation: an approval request in the incident's thread, decided \
             there like any other change.",
        );
        for (action, id) in buttons {
            m = m.button(format!("Propose {action}"), id, ButtonStyle::Default);
        }
    } else if !suggestions.is_empty() {
        m = m.context(
            "A conversation only reads: nothing above was proposed or run. Changes are proposed \
             in an incident's thread and each needs an approval there.",
        );
    }
    if let Some(line) = looked_at {
        m = m.context(line);
    }
    m
}

fn block_chars(b: &Block) -> usize {
    match b {
        Block::Text { text } | Block::Context { text } => text.to_plain().chars().count(),
        Block::Code { code } => code.chars().count() + CODE_MARGIN,
        _ => 0,
    }
}

/// Paragraphs as text blocks, fenced code as code blocks, none longer than `max`.
pub fn blocks(text: &str, max: usize) -> Vec<Block> {
    let mut out = Vec::new();
    let mut prose = String::new();
    let mut code: Option<String> = None;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            match code.take() {
                Some(c) => push_pieces(&mut out, &c, max, true),
                None => {
                    push_pieces(&mut out, &prose, max, false);
                    prose.clear();
                    code = Some(String::new());
                }
            }
            continue;
        }
        match code.as_mut() {
            Some(c) => {
                c.push_str(line);
                c.push('\n');
            }
            None if line.trim().is_empty() => {
                push_pieces(&mut out, &prose, max, false);
                prose.clear();
            }
            None => {
                prose.push_str(line);
                prose.push('\n');
            }
        }
    }
    // An unclosed fence still shows as code.
    if let Some(c) = code {
        push_pieces(&mut out, &c, max, true);
    }
    push_pieces(&mut out, &prose, max, false);
    out
}

/// `text` cut at line ends (or anywhere, for a line longer than `max`) into blocks.
fn push_pieces(out: &mut Vec<Block>, text: &str, max: usize, code: bool) {
    let text = text.trim_end();
    if text.trim().is_empty() {
        return;
    }
    let mut piece = String::new();
    let mut flush = |piece: &mut String| {
        let body = piece.trim_end().to_string();
        piece.clear();
        if body.trim().is_empty() {
            return;
        }
        out.push(if code {
            Block::Code { code: body }
        } else {
            Block::Text {
                text: Text::plain(body),
            }
        });
    };
    for line in text.lines() {
        let mut line: Vec<char> = line.chars().collect();
        while line.len() > max {
            flush(&mut piece);
            let rest = line.split_off(max);
            piece = line.into_iter().collect();
            flush(&mut piece);
            line = rest;
        }
        if piece.chars().count() + line.len() + 1 > max {
            flush(&mut piece);
        }
        piece.extend(line);
        piece.push('\n');
    }
    flush(&mut piece);
}

fn wait(d: Duration) -> String {
    let mins = d.as_secs().div_ceil(60);
    match mins {
        0 | 1 => "a minute".into(),
        m if m < 120 => format!("{m} minutes"),
        m => format!("{} hours", m.div_ceil(60)),
    }
}

fn per(limit: &RateLimit) -> String {
    match limit.per.as_secs() {
        3600 => "hour".into(),
        86_400 => "day".into(),
        60 => "minute".into(),
        _ => crate::config::duration::format(limit.per),
    }
}

/// The polite refusal of a question over a limit.
pub fn refused(scope: Scope, limit: &RateLimit, retry_in: Duration) -> Message {
    let answers = match limit.max {
        1 => "1 answer".to_string(),
        n => format!("{n} answers"),
    };
    let who = match scope {
        Scope::User => format!(
            "You have had the {answers} a person gets per {}",
            per(limit)
        ),
        Scope::Channel => format!(
            "This channel has had the {answers} it gets per {}",
            per(limit)
        ),
    };
    Message::text(format!(
        "Sorry — {who}, so I will not ask the model this time. Please try again in {}. \
         Commands such as `help` and `incidents` still work.",
        wait(retry_in)
    ))
}

/// The state store is down: limits and budget cannot be checked.
pub fn unavailable() -> Message {
    Message::text(
        "I cannot answer questions right now: my state store is unavailable. Please try again \
         in a few minutes.",
    )
}

/// No answer came: `error`, or `None` when it took longer than `answer_timeout`. The error's
/// text is redacted (an endpoint's error may quote what it was sent).
pub fn failed(error: Option<&AskError>, redact: &dyn Redact) -> Message {
    let why = match error {
        None => "it took too long".to_string(),
        Some(AskError::Llm(crate::llm::LlmError::BudgetExhausted { .. })) => {
            "today's budget for the language model is spent".into()
        }
        Some(e) => redact.redact(&e.to_string()),
    };
    Message::text(format!(
        "Sorry, I could not answer that: {why}. Commands such as `help`, `incidents` still work."
    ))
}

/// A mention that is no command while questions cannot be answered: say so, and list the
/// commands (`help` is the commands' own answer).
pub fn without_model(text: &str, reason: &str, help: Option<Message>) -> Message {
    let word = text.split_whitespace().next().unwrap_or("");
    let mut m = Message::text(Text::plain("I don't know ").code(word).and(format!(
        " as a command, and I cannot answer questions here: {reason}. These commands work:"
    )));
    if let Some(help) = help {
        m.blocks.extend(help.blocks);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::Risk;
    use serde_json::json;

    fn limits(block: usize, message: usize) -> Limits {
        Limits {
            max_block_chars: block,
            max_message_chars: message,
            ..Limits::default()
        }
    }

    #[test]
    fn a_short_answer_is_one_message_with_its_footer() {
        let s = Suggestion {
            action: "deployment.scale".into(),
            params: json!({"namespace": "shop", "name": "web", "replicas": 3})
                .as_object()
                .unwrap()
                .clone(),
            reason: "more capacity".into(),
            risk: Risk::Medium,
        };
        let m = answer_messages(
            "The pods run out of memory.\n\n```\nOOMKilled\n```",
            Some("Looked at: Deployment shop/web"),
            &[Offered {
                suggestion: &s,
                button: Some("abcd1234:propose:SG-1"),
            }],
            &Limits::default(),
        );
        assert_eq!(m.len(), 1);
        let text = m[0].to_plain();
        assert!(text.starts_with("The pods run out of memory."), "{text}");
        assert!(
            matches!(&m[0].blocks[1], Block::Code { code } if code == "OOMKilled"),
            "{:?}",
            m[0].blocks
        );
        assert!(
            text.contains("Suggested change (not run): deployment.scale (medium risk)"),
            "{text}"
        );
        assert!(text.contains(r#""replicas":3"#), "{text}");
        assert!(text.ends_with("Looked at: Deployment shop/web"), "{text}");
        assert_eq!(m[0].buttons.len(), 1);
        assert_eq!(m[0].buttons[0].label, "Propose deployment.scale");
        assert_eq!(m[0].buttons[0].action, "abcd1234:propose:SG-1");
        // Not kept for a button (the store was down): said as text only.
        let m = answer_messages(
            "x",
            None,
            &[Offered {
                suggestion: &s,
                button: None,
            }],
            &Limits::default(),
        );
        assert!(m[0].buttons.is_empty());
        assert!(
            m[0].to_plain()
                .contains("nothing above was proposed or run")
        );
    }

    #[test]
    fn a_long_answer_goes_in_parts_that_each_fit() {
        // Telegram-like: 4096 per message.
        let l = limits(4096, 4096);
        let paragraph = "word ".repeat(150); // 750 chars
        let text: Vec<String> = (0..20).map(|i| format!("{i}: {paragraph}")).collect();
        let text = text.join("\n\n");
        let parts = answer_messages(&text, Some("Looked at: x"), &[], &l);
        assert!(parts.len() >= 4, "{}", parts.len());
        for (i, p) in parts.iter().enumerate() {
            let plain = p.to_plain();
            assert!(plain.chars().count() <= 4096, "part {i}: {}", plain.len());
            assert!(plain.contains(&format!("part {} of {}", i + 1, parts.len())));
        }
        // Nothing is lost, in order.
        let all: String = parts.iter().map(|p| p.to_plain()).collect();
        let mut at = 0;
        for i in 0..20 {
            let found = all[at..]
                .find(&format!("{i}: word"))
                .expect("every paragraph");
            at += found;
        }
        assert!(parts.last().unwrap().to_plain().ends_with("Looked at: x"));
    }

    #[test]
    fn a_huge_line_is_cut_into_blocks_that_fit() {
        let b = blocks(&"x".repeat(10_000), 3000);
        assert_eq!(b.len(), 4);
        assert!(b.iter().all(|b| block_chars(b) <= 3000));
    }

    #[test]
    fn refusals_say_when_to_come_back() {
        let limit = RateLimit {
            max: 20,
            per: Duration::from_secs(3600),
        };
        let m = refused(Scope::User, &limit, Duration::from_secs(125)).to_plain();
        assert!(m.contains("20 answers a person gets per hour"), "{m}");
        assert!(m.contains("try again in 3 minutes"), "{m}");
    }
}
