use serde_json::{Value, json};

use super::*;

const BOT: u64 = 777;
const GROUP: i64 = -1001000000001;

fn translator() -> Translator {
    let me: Me = serde_json::from_value(json!({
        "id": BOT, "is_bot": true, "first_name": "Lookout", "username": "lookout_bot",
        "can_join_groups": true, "can_read_all_group_messages": false,
        "supports_inline_queries": false, "has_main_web_app": false
    }))
    .unwrap();
    let t = Translator::new(None);
    t.set_identity(&me);
    t
}

fn supergroup(id: i64, forum: bool) -> Value {
    json!({"id": id, "type": "supergroup", "title": "alerts", "is_forum": forum})
}

fn person() -> Value {
    json!({"id": 12345, "is_bot": false, "first_name": "Alice", "username": "alice"})
}

fn bot_user() -> Value {
    json!({"id": BOT, "is_bot": true, "first_name": "Lookout", "username": "lookout_bot"})
}

/// A text message; `entities` as (type, UTF-16 offset, length).
fn message(
    id: i32,
    chat: Value,
    from: Value,
    text: &str,
    entities: &[(&str, usize, usize)],
) -> Value {
    let entities: Vec<Value> = entities
        .iter()
        .map(|(t, o, l)| json!({"type": t, "offset": o, "length": l}))
        .collect();
    let mut m = json!({"message_id": id, "date": 1_700_000_000, "chat": chat, "from": from,
                       "text": text});
    if !entities.is_empty() {
        m["entities"] = json!(entities);
    }
    m
}

fn update(id: u32, body: Value) -> Update {
    let mut u = json!({"update_id": id});
    let key = if body.get("chat_instance").is_some() {
        "callback_query"
    } else {
        "message"
    };
    u[key] = body;
    // From text, as updates arrive: teloxide's `Update` does not read from a `Value`.
    serde_json::from_str(&u.to_string()).unwrap()
}

fn inbound(t: &Translator, u: &Update) -> Inbound {
    match t.update(u) {
        Translated::Event(ChatEvent::Message(m)) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

#[test]
fn a_mention_in_a_group_is_for_the_bot_without_its_handle() {
    let t = translator();
    let u = update(
        1,
        message(
            10,
            supergroup(GROUP, false),
            person(),
            "@LookOut_Bot  help me",
            &[("mention", 0, 12)],
        ),
    );
    let m = inbound(&t, &u);
    assert!(m.mentioned);
    assert_eq!(m.text, "help me");
    assert_eq!(m.channel, GROUP.to_string());
    assert_eq!(m.message.id, "10");
    assert_eq!(m.user.id, "12345");
    assert_eq!(m.user.identity(), "telegram:12345");
    assert!(m.thread.is_none());
    // The same update again (a webhook retry) is dropped.
    assert_eq!(t.update(&u), Translated::Nothing);
}

#[test]
fn offsets_are_utf16_so_text_before_the_mention_may_hold_emoji() {
    let t = translator();
    let text = "🔥 @lookout_bot status please";
    let u = update(
        1,
        message(
            11,
            supergroup(GROUP, false),
            person(),
            text,
            &[("mention", 3, 12)],
        ),
    );
    assert_eq!(inbound(&t, &u).text, "🔥 status please");
}

#[test]
fn commands_for_this_bot_count_as_mentions_and_others_are_ignored() {
    let t = translator();
    let mine = update(
        1,
        message(
            12,
            supergroup(GROUP, false),
            person(),
            "/incidents@lookout_bot now",
            &[("bot_command", 0, 22)],
        ),
    );
    let m = inbound(&t, &mine);
    assert!(m.mentioned);
    assert_eq!(m.text, "incidents now");
    let other = update(
        2,
        message(
            13,
            supergroup(GROUP, false),
            person(),
            "/start@other_bot",
            &[("bot_command", 0, 16)],
        ),
    );
    assert_eq!(t.update(&other), Translated::Nothing);
    let chatter = update(
        3,
        message(14, supergroup(GROUP, false), person(), "lunch?", &[]),
    );
    assert_eq!(t.update(&chatter), Translated::Nothing);
}

#[test]
fn a_reply_to_the_bot_is_a_thread_reply_without_a_mention() {
    let t = translator();
    // Supergroups give the root of the reply chain in message_thread_id.
    let mut m = message(
        21,
        supergroup(GROUP, false),
        person(),
        "because the canary failed",
        &[],
    );
    m["message_thread_id"] = json!(20);
    m["reply_to_message"] = message(20, supergroup(GROUP, false), bot_user(), "Rejected?", &[]);
    let got = inbound(&t, &update(1, m));
    assert!(!got.mentioned);
    assert_eq!(got.text, "because the canary failed");
    assert_eq!(got.thread.unwrap().id, "20");
}

#[test]
fn in_a_basic_group_the_root_comes_from_what_the_bot_sent() {
    let t = translator();
    let group = json!({"id": -4001, "type": "group", "title": "ops"});
    // The bot posted message 31 in the thread of its card 30.
    let sent: TgMessage =
        serde_json::from_value(message(31, group.clone(), bot_user(), "details", &[])).unwrap();
    t.sent(&sent, Some("30"));
    let mut reply = message(32, group.clone(), person(), "thanks", &[]);
    reply["reply_to_message"] = message(31, group.clone(), bot_user(), "details", &[]);
    let got = inbound(&t, &update(1, reply));
    assert_eq!(got.thread.unwrap().id, "30");
    // A person answering that person, in a thread the bot posted in, is still its thread.
    let mut next = message(33, group.clone(), person(), "and the logs?", &[]);
    next["reply_to_message"] = message(32, group, person(), "thanks", &[]);
    assert_eq!(inbound(&t, &update(2, next)).thread.unwrap().id, "30");
}

#[test]
fn forum_topics_are_threads_and_private_chats_are_always_for_the_bot() {
    let t = translator();
    let mut m = message(
        41,
        supergroup(-1002, true),
        person(),
        "@lookout_bot incidents",
        &[("mention", 0, 12)],
    );
    m["message_thread_id"] = json!(40);
    m["is_topic_message"] = json!(true);
    let got = inbound(&t, &update(1, m));
    assert_eq!(got.thread.unwrap().id, "topic:40");
    assert!(t.is_forum(-1002));

    let dm = json!({"id": 12345, "type": "private", "first_name": "Alice"});
    let got = inbound(&t, &update(2, message(42, dm, person(), "help", &[])));
    assert!(got.mentioned);
    assert_eq!(got.text, "help");
}

#[test]
fn callback_queries_are_clicks_answered_by_their_query_id() {
    let t = translator();
    let q = json!({"id": "q-1", "from": person(), "chat_instance": "ci", "data": "abcd0123:approve:A-7",
                   "message": message(50, supergroup(GROUP, false), bot_user(), "Approve?", &[])});
    let Translated::Event(ChatEvent::Click(c)) = t.update(&update(1, q)) else {
        panic!("expected a click");
    };
    assert_eq!(c.action, "abcd0123:approve:A-7");
    assert_eq!(c.token, "q-1");
    assert_eq!(c.message.id, "50");
    assert_eq!(c.channel, GROUP.to_string());
    assert_eq!(c.user.id, "12345");
    assert_eq!(c.user.name.as_deref(), Some("@alice"));
    let no_data = json!({"id": "q-2", "from": person(), "chat_instance": "ci",
                         "message": message(50, supergroup(GROUP, false), bot_user(), "x", &[])});
    assert_eq!(
        t.update(&update(2, no_data)),
        Translated::AnswerOnly("q-2".into())
    );
}

#[test]
fn messages_from_bots_are_ignored() {
    let t = translator();
    let u = update(
        1,
        message(
            60,
            supergroup(GROUP, false),
            bot_user(),
            "@lookout_bot hi",
            &[("mention", 0, 12)],
        ),
    );
    assert_eq!(t.update(&u), Translated::Nothing);
}
