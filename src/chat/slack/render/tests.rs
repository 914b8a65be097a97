use serde_json::{Value, json};

use super::*;
use crate::chat::message::Field;

fn blocks_json(r: &Rendered) -> Vec<Value> {
    r.blocks
        .iter()
        .map(|b| serde_json::to_value(b).unwrap())
        .collect()
}

fn texts(r: &Rendered) -> Vec<String> {
    blocks_json(r)
        .iter()
        .filter_map(|b| b["text"]["text"].as_str().map(str::to_string))
        .collect()
}

fn len(s: &str) -> usize {
    s.chars().count()
}

#[test]
fn card_renders_as_block_kit() {
    let m = Message::text(
        Text::plain("Pod ")
            .bold("checkout-7f9")
            .and(" is crash looping"),
    )
    .with_header("checkout crash loop", "HIGH", Tone::Danger)
    .block(Block::Fields {
        fields: vec![Field {
            label: "State".into(),
            value: "Analyzing".into(),
        }],
    })
    .code("panic: out of memory")
    .context("first seen 09:12")
    .block(Block::Divider)
    .button("Approve", "abcd0123:approve:A-1", ButtonStyle::Primary)
    .button("Reject", "abcd0123:reject:A-1", ButtonStyle::Danger);
    let r = render(&m);
    assert!(r.overflow.is_empty());
    let b = blocks_json(&r);
    let kinds: Vec<&str> = b.iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "header",
            "section",
            "section",
            "rich_text",
            "context",
            "divider",
            "actions"
        ]
    );
    assert_eq!(
        b[0]["text"],
        json!({"type": "plain_text", "text": ":red_circle: HIGH · checkout crash loop", "emoji": true})
    );
    assert_eq!(
        b[1]["text"],
        json!({"type": "mrkdwn", "text": "Pod *checkout-7f9* is crash looping"})
    );
    assert_eq!(b[2]["fields"][0]["text"], "*State*\nAnalyzing");
    assert_eq!(
        b[3]["elements"][0],
        json!({"type": "rich_text_preformatted", "elements": [{"type": "text", "text": "panic: out of memory"}]})
    );
    assert_eq!(b[4]["elements"][0]["text"], "first seen 09:12");
    let buttons = b[6]["elements"].as_array().unwrap();
    assert_eq!(buttons[0]["action_id"], "abcd0123:approve:A-1");
    assert_eq!(buttons[0]["value"], "abcd0123:approve:A-1");
    assert_eq!(buttons[0]["style"], "primary");
    assert_eq!(buttons[1]["style"], "danger");
    assert_eq!(buttons[1]["text"]["text"], "Reject");
    assert!(
        r.text
            .starts_with("[HIGH] checkout crash loop\nPod checkout-7f9")
    );
}

#[test]
fn mrkdwn_escapes_control_characters_and_renders_mentions() {
    let t = Text::plain("a < b && c > d ")
        .push(Span::Mention(Mention::User("U0123ABCD".into())))
        .and(" ")
        .push(Span::Mention(Mention::Raw("<!subteam^S0123>".into())))
        .and(" ")
        .push(Span::Link {
            label: "run <1>".into(),
            url: "https://ci.example/r?a=1&b=2".into(),
        })
        .and(" ")
        .bold(" spaced ")
        .code("x<y");
    assert_eq!(
        mrkdwn(&t),
        "a &lt; b &amp;&amp; c &gt; d <@U0123ABCD> <!subteam^S0123> \
         <https://ci.example/r?a=1&amp;b=2|run &lt;1&gt;>  *spaced* `x&lt;y`"
    );
    // Not an id, not a safe URL: shown as text, never as markup.
    let odd = Text(vec![
        Span::Mention(Mention::User("<!channel>".into())),
        Span::Link {
            label: "l".into(),
            url: "javascript:alert(1)".into(),
        },
    ]);
    assert_eq!(mrkdwn(&odd), "@&lt;!channel&gt;l (javascript:alert(1))");
}

#[test]
fn section_text_is_cut_after_escaping_with_a_marker_and_the_whole_returned() {
    // 3000 plain characters fit the neutral limit but not once escaped.
    let plain = "a&b ".repeat(750);
    let r = render(&Message::text(plain.clone()));
    let shown = &texts(&r)[0];
    assert!(len(shown) <= MAX_SECTION_TEXT, "{}", len(shown));
    assert!(shown.ends_with(CUT_MARK));
    let body = shown.trim_end_matches(CUT_MARK);
    assert!(
        !body.ends_with('&') && !body.ends_with("&am"),
        "entity split: {body:?}"
    );
    assert_eq!(r.overflow, vec![plain]);
}

#[test]
fn a_cut_never_splits_a_mention_or_a_link() {
    let room = 3000 - CUT_MARK.chars().count();
    let t = Text::plain("x".repeat(room - 5))
        .push(Span::Mention(Mention::User("U0123ABCD".into())))
        .and("tail".repeat(20));
    let (shown, cut) = fit_mrkdwn(&t, 3000);
    assert!(cut);
    assert!(!shown.contains("<@"), "partial mention in {shown:?}");
    let t = Text::plain("y".repeat(2950)).bold("z".repeat(100));
    let (shown, _) = fit_mrkdwn(&t, 3000);
    let body = shown.trim_end_matches(CUT_MARK);
    assert!(
        body.ends_with('*') && body.matches('*').count() == 2,
        "{body:?}"
    );
}

#[test]
fn header_is_cut_to_150() {
    let title = "t".repeat(200);
    let r = render(&Message::text("x").with_header(title.clone(), "CRITICAL", Tone::Critical));
    let header = &texts(&r)[0];
    assert_eq!(len(header), MAX_HEADER);
    assert!(header.starts_with(":rotating_light: CRITICAL · ttt") && header.ends_with('…'));
    assert_eq!(r.overflow, vec![title]);
}

#[test]
fn fields_go_ten_to_a_section_and_long_values_are_cut() {
    let fields: Vec<Field> = (0..12)
        .map(|i| Field {
            label: format!("f{i}"),
            value: if i == 3 {
                "v".repeat(2500).into()
            } else {
                format!("v{i}").into()
            },
        })
        .collect();
    let r = render(&Message::default().block(Block::Fields { fields }));
    let b = blocks_json(&r);
    assert_eq!(b.len(), 2);
    assert_eq!(b[0]["fields"].as_array().unwrap().len(), MAX_FIELDS);
    assert_eq!(b[1]["fields"].as_array().unwrap().len(), 2);
    let long = b[0]["fields"][3]["text"].as_str().unwrap();
    assert!(len(long) <= MAX_FIELD_TEXT && long.ends_with(CUT_MARK));
    assert_eq!(r.overflow, vec![format!("f3: {}", "v".repeat(2500))]);
}

#[test]
fn code_is_cut_at_3000_with_the_whole_for_the_thread() {
    let log: String = (0..400).map(|i| format!("line {i:04}\n")).collect();
    let r = render(&Message::default().code(log.clone()));
    let b = blocks_json(&r);
    let shown = b[0]["elements"][0]["elements"][0]["text"].as_str().unwrap();
    assert!(len(shown) <= MAX_SECTION_TEXT);
    assert!(shown.ends_with(CUT_MARK.trim()));
    assert_eq!(r.overflow, vec![log]);
}

#[test]
fn too_many_blocks_keep_header_buttons_and_a_marker() {
    let mut m = Message::default().with_header("storm", "HIGH", Tone::Danger);
    for i in 0..60 {
        m = m.paragraph(format!("paragraph {i}"));
    }
    let m = m.button("Ack", "abcd0123:ack:x", ButtonStyle::Default);
    let r = render(&m);
    let b = blocks_json(&r);
    assert_eq!(b.len(), MAX_BLOCKS);
    assert_eq!(b[0]["type"], "header");
    assert_eq!(b[49]["type"], "actions");
    assert_eq!(
        b[48]["elements"][0]["text"],
        "… 13 more blocks did not fit: full text in the thread"
    );
    assert_eq!(b[47]["text"]["text"], "paragraph 46");
    let overflow = r.overflow.join("\n");
    assert!(overflow.starts_with("paragraph 47\n") && overflow.ends_with("paragraph 59"));
}

#[test]
fn buttons_fit_slack_limits() {
    let mut m = Message::text("approve?");
    for i in 0..30 {
        m = m.button(
            format!("button {i}"),
            format!("abcd0123:b:{i}"),
            ButtonStyle::Default,
        );
    }
    let m = m
        .button(
            "L".repeat(100),
            "abcd0123:long-label:x",
            ButtonStyle::Default,
        )
        .button("too long id", "x".repeat(256), ButtonStyle::Default)
        .button("duplicate", "abcd0123:b:1", ButtonStyle::Default);
    let r = render(&m);
    let b = blocks_json(&r);
    let actions: Vec<&Value> = b.iter().filter(|b| b["type"] == "actions").collect();
    assert_eq!(actions.len(), 2);
    assert_eq!(
        actions[0]["elements"].as_array().unwrap().len(),
        MAX_ACTIONS
    );
    let last = actions[1]["elements"].as_array().unwrap();
    assert_eq!(last.len(), 6);
    let label = last[5]["text"]["text"].as_str().unwrap();
    assert_eq!(len(label), MAX_BUTTON_TEXT);
    assert!(label.ends_with('…'));
    assert_eq!(
        r.overflow,
        vec![
            "(button “too long id” could not be shown)".to_string(),
            "(button “duplicate” could not be shown)".to_string()
        ]
    );
}

#[test]
fn empty_parts_are_left_out_and_the_fallback_is_never_empty() {
    let r = render(&Message::default().paragraph("").code("  ").button(
        "Ack",
        "abcd0123:ack:x",
        ButtonStyle::Default,
    ));
    assert_eq!(blocks_json(&r).len(), 1);
    assert_eq!(r.text, "(no text)");
    let long = render(&Message::text("é".repeat(5000)));
    assert_eq!(len(&long.text), MAX_FALLBACK);
}
