use teloxide::types::InlineKeyboardButtonKind;

use super::*;
use crate::chat::message::{ButtonStyle, Field};

/// What a person sees: tags removed, entities decoded (the test's own small reader).
fn visible(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

fn buttons(r: &Rendered) -> Vec<Vec<(String, String)>> {
    r.keyboard
        .as_ref()
        .map(|k| {
            k.inline_keyboard
                .iter()
                .map(|row| {
                    row.iter()
                        .map(|b| match &b.kind {
                            InlineKeyboardButtonKind::CallbackData(d) => {
                                (b.text.clone(), d.clone())
                            }
                            other => panic!("{other:?}"),
                        })
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn markup_characters_are_escaped_and_spans_formatted() {
    let m = Message::text(
        Text::plain("Pod ")
            .bold("checkout<7f9>")
            .and(" & co \"quoted\" ")
            .code("a<b && c>d")
            .push(Span::Link {
                label: "logs & more".into(),
                url: "https://example.com/?a=1&b=\"2\"".into(),
            }),
    );
    let r = render(&m);
    assert_eq!(
        r.html,
        "Pod <b>checkout&lt;7f9&gt;</b> &amp; co &quot;quoted&quot; \
         <code>a&lt;b &amp;&amp; c&gt;d</code>logs &amp; more (https://example.com/?a=1&amp;b=&quot;2&quot;)"
    );
    let linked = render(&Message::text(Text::plain("").push(Span::Link {
        label: "the <card>".into(),
        url: "https://t.me/c/1/2?x=1&y=2".into(),
    })));
    assert_eq!(
        linked.html,
        "<a href=\"https://t.me/c/1/2?x=1&amp;y=2\">the &lt;card&gt;</a>"
    );
    assert!(r.overflow.is_empty());
}

#[test]
fn header_fields_context_code_divider_and_mentions() {
    let m = Message::text("body")
        .with_header("checkout <is> crash-looping", "HIGH", Tone::Danger)
        .block(Block::Fields {
            fields: vec![
                Field {
                    label: "Namespace".into(),
                    value: Text::plain("").code("shop"),
                },
                Field {
                    label: "Empty".into(),
                    value: Text::default(),
                },
            ],
        })
        .context("seen 3 times")
        .code("line <1>\nline 2\n")
        .block(Block::Divider)
        .paragraph(
            Text::plain("on call: ")
                .push(Span::Mention(Mention::User("12345".into())))
                .and(" ")
                .push(Span::Mention(Mention::Raw("@oncall".into()))),
        );
    let r = render(&m);
    let expected = [
        "<b>🔴 HIGH · checkout &lt;is&gt; crash-looping</b>",
        "body",
        "<b>Namespace:</b> <code>shop</code>\n<b>Empty:</b> -",
        "<i>seen 3 times</i>",
        "<pre>line &lt;1&gt;\nline 2</pre>",
        "──────────",
        "on call: <a href=\"tg://user?id=12345\">@12345</a> @oncall",
    ]
    .join("\n\n");
    assert_eq!(r.html, expected);
}

#[test]
fn a_long_message_is_cut_within_4096_utf16_units_and_the_rest_kept() {
    let log: String = (0..600).map(|i| format!("line {i:04} <ok>\n")).collect();
    let m = Message::text("a long log follows")
        .with_header("t", "LOW", Tone::Info)
        .code(log.clone())
        .paragraph("after the log");
    let r = render(&m);
    let seen = visible(&r.html);
    assert!(utf16_len(&seen) <= MAX_TEXT, "{}", utf16_len(&seen));
    assert!(seen.ends_with(CUT_MARK), "{seen}");
    assert!(seen.contains("line 0000 <ok>"));
    assert_eq!(r.overflow.len(), 1);
    assert!(r.overflow[0].contains(log.trim_end()));
    assert!(r.overflow[0].ends_with("after the log"));
}

#[test]
fn lengths_count_utf16_units_so_emoji_count_twice() {
    // 3000 emoji are 3000 characters but 6000 UTF-16 units: over Telegram's limit.
    let m = Message::text("🔥".repeat(3000));
    let r = render(&m);
    let seen = visible(&r.html);
    assert!(utf16_len(&seen) <= MAX_TEXT, "{}", utf16_len(&seen));
    assert!(seen.starts_with("🔥🔥"));
    assert!(!r.overflow.is_empty());
    assert_eq!(utf16_prefix("a🔥b", 2), "a");
    assert_eq!(utf16_prefix("a🔥b", 3), "a🔥");
}

#[test]
fn escaping_never_counts_against_the_visible_length() {
    // 4000 `<` are 16000 bytes of HTML but 4000 visible characters: they fit.
    let r = render(&Message::text("<".repeat(4000)));
    assert!(r.overflow.is_empty());
    assert_eq!(visible(&r.html), "<".repeat(4000));
}

#[test]
fn buttons_go_in_rows_and_oversized_callback_data_is_left_out() {
    let ok64 = "x".repeat(64);
    let too_long = "y".repeat(65);
    let m = Message::text("pick")
        .button("Approve", "abcd0123:approve:A-7", ButtonStyle::Primary)
        .button("Reject", "abcd0123:reject:A-7", ButtonStyle::Danger)
        .button("Max", ok64.clone(), ButtonStyle::Default)
        .button("Too long", too_long, ButtonStyle::Default)
        .button(
            "A label far longer than anyone would want to read on a small phone screen, really",
            "abcd0123:ack:1",
            ButtonStyle::Default,
        );
    let r = render(&m);
    let rows = buttons(&r);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].len(), 3);
    assert_eq!(
        rows[0][0],
        ("Approve".into(), "abcd0123:approve:A-7".into())
    );
    assert_eq!(rows[0][2].1, ok64);
    assert!(rows[1][0].0.chars().count() <= MAX_BUTTON_TEXT);
    assert_eq!(r.overflow, ["(button “Too long” could not be shown)"]);
}

#[test]
fn an_empty_message_still_has_text() {
    let r = render(&Message::default());
    assert_eq!(r.html, "(no text)");
    assert!(r.keyboard.is_none());
}
