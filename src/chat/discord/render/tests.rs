use serde_json::{Value, json};

use super::*;
use crate::chat::message::{Field, Text};

fn create(m: &Message) -> (Value, Vec<String>) {
    let r = render(m);
    (serde_json::to_value(r.create("n0nce")).unwrap(), r.overflow)
}

fn chars(v: &Value) -> usize {
    v.as_str().map_or(0, |s| s.chars().count())
}

#[test]
fn a_card_is_an_embed_with_a_title_colour_and_buttons() {
    let m = Message::text(
        Text::plain("Pod ")
            .bold("checkout-7f9")
            .and(" *crash* <looping>"),
    )
    .with_header("checkout is crash-looping", "HIGH", Tone::Danger)
    .context("state: open")
    .button("Approve", "abcd0123:approve:A-7", ButtonStyle::Primary)
    .button("Reject", "abcd0123:reject:A-7", ButtonStyle::Danger);
    let (v, overflow) = create(&m);
    assert!(overflow.is_empty());
    let embed = &v["embeds"][0];
    assert_eq!(embed["title"], "🔴 HIGH · checkout is crash-looping");
    assert_eq!(embed["color"], 0xE74C3C);
    assert_eq!(
        embed["description"],
        "Pod **checkout-7f9** \\*crash\\* \\<looping>\n-# state: open"
    );
    assert_eq!(v["components"][0]["type"], 1);
    let buttons = v["components"][0]["components"].as_array().unwrap();
    assert_eq!(buttons.len(), 2);
    assert_eq!(buttons[0]["custom_id"], "abcd0123:approve:A-7");
    assert_eq!(buttons[0]["label"], "Approve");
    assert_eq!(buttons[0]["style"], 1);
    assert_eq!(buttons[1]["style"], 4);
    assert_eq!(v["nonce"], "n0nce");
    assert_eq!(v["enforce_nonce"], true);
    assert!(
        v.get("content").is_none(),
        "no content without mentions: {v}"
    );
    assert_eq!(v["allowed_mentions"]["parse"], json!([]));
}

#[test]
fn a_plain_message_is_content_with_code_fenced() {
    let m = Message::text("details here").code("line ```1```\nline 2\n");
    let (v, _) = create(&m);
    assert_eq!(
        v["content"],
        "details here\n```\nline `\u{200b}``1`\u{200b}``\nline 2\n```"
    );
    assert_eq!(v["embeds"], json!([]));
    let (empty, _) = create(&Message::default());
    assert_eq!(empty["content"], "…", "Discord refuses an empty message");
}

#[test]
fn fields_are_embed_fields_within_limits() {
    let fields: Vec<Field> = (0..30)
        .map(|i| Field {
            label: format!("label {i}"),
            value: Text::plain(if i == 0 {
                "x".repeat(1500)
            } else {
                format!("v{i}")
            }),
        })
        .collect();
    let m = Message::default().block(Block::Fields { fields });
    let (v, overflow) = create(&m);
    let got = v["embeds"][0]["fields"].as_array().unwrap();
    assert_eq!(got.len(), MAX_FIELDS);
    assert!(chars(&got[0]["value"]) <= MAX_FIELD_VALUE);
    assert!(got[0]["value"].as_str().unwrap().ends_with(CUT_MARK));
    assert_eq!(got[1]["inline"], true);
    let rest = overflow.join("\n");
    assert!(rest.contains(&"x".repeat(1500)), "the cut value in full");
    for i in 25..30 {
        assert!(rest.contains(&format!("label {i}: v{i}")), "{rest}");
    }
}

#[test]
fn a_long_description_is_cut_and_the_rest_returned() {
    let m = Message::text("intro")
        .with_header("t", "LOW", Tone::Info)
        .paragraph("*".repeat(3000)) // escaped, twice as long
        .paragraph("after");
    let (v, overflow) = create(&m);
    let d = v["embeds"][0]["description"].as_str().unwrap();
    assert!(d.chars().count() <= MAX_DESCRIPTION, "{}", d.len());
    assert!(d.starts_with("intro\n\\*\\*"));
    assert!(d.ends_with(CUT_MARK));
    assert!(!d.ends_with("\\ …"), "no dangling escape");
    assert_eq!(overflow, ["*".repeat(3000), "after".to_string()]);
}

#[test]
fn a_plain_message_too_long_for_content_becomes_an_embed() {
    let m = Message::text("y".repeat(3000));
    let (v, _) = create(&m);
    assert!(v.get("content").is_none());
    assert_eq!(chars(&v["embeds"][0]["description"]), 3000);
}

#[test]
fn buttons_are_rows_of_five_and_bad_ones_are_named() {
    let mut m = Message::text("pick");
    for i in 0..27 {
        m = m.button(format!("b{i}"), format!("id{i}"), ButtonStyle::Default);
    }
    m = m.button("x".repeat(90), "id0", ButtonStyle::Default);
    m = m.button("long id", "i".repeat(101), ButtonStyle::Default);
    let (v, overflow) = create(&m);
    let rows = v["components"].as_array().unwrap();
    assert_eq!(rows.len(), MAX_ROWS);
    assert!(
        rows.iter()
            .all(|r| r["components"].as_array().unwrap().len() == MAX_ROW_BUTTONS)
    );
    assert_eq!(rows[0]["components"][0]["style"], 2);
    assert_eq!(overflow.len(), 4, "{overflow:?}");
    assert!(
        overflow[2].contains(&"x".repeat(90)),
        "a repeated custom_id"
    );
    let label = render(&Message::default().button("y".repeat(90), "a", ButtonStyle::Default));
    let v = serde_json::to_value(label.create("n")).unwrap();
    assert_eq!(
        chars(&v["components"][0]["components"][0]["label"]),
        MAX_LABEL
    );
}

#[test]
fn mentions_notify_only_who_is_named() {
    let text = Text::plain("on call: ")
        .push(Span::Mention(Mention::User("123456789012345678".into())))
        .and(" ")
        .push(Span::Mention(Mention::Raw("<@&42>".into())))
        .and(" and @everyone in plain text");
    let card = Message::text(text.clone()).with_header("t", "HIGH", Tone::Danger);
    let (v, _) = create(&card);
    assert_eq!(v["content"], "<@123456789012345678> <@&42>");
    assert_eq!(
        v["allowed_mentions"]["users"],
        json!(["123456789012345678"])
    );
    assert_eq!(v["allowed_mentions"]["roles"], json!(["42"]));
    assert_eq!(v["allowed_mentions"]["parse"], json!([]));
    let (plain, _) = create(&Message::text(text));
    assert!(
        plain["content"]
            .as_str()
            .unwrap()
            .starts_with("on call: <@123456789012345678> <@&42>")
    );
    let (here, _) = create(&Message::text(
        Text::default().push(Span::Mention(Mention::Raw("@here".into()))),
    ));
    assert_eq!(here["allowed_mentions"]["parse"], json!(["everyone"]));
}

#[test]
fn escaping_covers_markdown_and_line_starts() {
    assert_eq!(
        escape("a*b_c~d`e|f[g]h<i>j"),
        "a\\*b\\_c\\~d\\`e\\|f\\[g\\]h\\<i>j"
    );
    assert_eq!(
        escape("# head\n> quote\n- item\nx - y"),
        "\\# head\n\\> quote\n\\- item\nx - y"
    );
    assert_eq!(escape("back\\slash"), "back\\\\slash");
}

#[test]
fn an_edit_replaces_content_embed_and_buttons() {
    let card = render(&Message::text("x").with_header("t", "OK", Tone::Good));
    let v = serde_json::to_value(card.edit()).unwrap();
    assert_eq!(
        v["content"], "",
        "content cleared when the embed carries the text"
    );
    assert_eq!(v["components"], json!([]), "buttons removed");
    assert_eq!(v["embeds"][0]["title"], "🟢 OK · t");
    let plain = serde_json::to_value(render(&Message::text("y")).edit()).unwrap();
    assert_eq!(plain["embeds"], json!([]), "an old embed is removed");
}

#[test]
fn nonces_are_short_and_stable() {
    let a = nonce("card:prod/INC-7:discord:123456789012345678");
    assert_eq!(a.len(), MAX_NONCE);
    assert_eq!(a, nonce("card:prod/INC-7:discord:123456789012345678"));
    assert_ne!(a, nonce("card:prod/INC-8:discord:123456789012345678"));
}
