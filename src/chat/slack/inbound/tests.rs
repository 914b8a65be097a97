use serde_json::{Value, json};

use super::*;

fn callback(id: &str, event: Value) -> SlackPushEventCallback {
    serde_json::from_value(json!({
        "type": "event_callback",
        "team_id": "T1",
        "api_app_id": "A1",
        "event_id": id,
        "event_time": 1_712_345_678,
        "authorizations": [{"team_id": "T1", "user_id": "UBOT", "is_bot": true}],
        "event": event,
    }))
    .unwrap()
}

fn inbound(ev: Option<ChatEvent>) -> Inbound {
    match ev {
        Some(ChatEvent::Message(m)) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

#[test]
fn app_mention_becomes_a_mentioned_message_without_the_mention() {
    let t = Translator::default();
    let ev = callback(
        "Ev1",
        json!({"type": "app_mention", "user": "U1", "channel": "C1", "ts": "1.000002",
               "thread_ts": "1.000001", "text": "<@UBOT> why is checkout &lt;down&gt;?\nsince 09:12"}),
    );
    let m = inbound(t.push_event(&ev));
    assert!(m.mentioned);
    assert_eq!(m.text, "why is checkout <down>?\nsince 09:12", "lines kept");
    assert_eq!(m.user.identity(), "slack:U1");
    assert_eq!(m.channel, "C1");
    assert_eq!(m.message.id, "1.000002");
    assert_eq!(m.thread.as_ref().map(|t| t.id.as_str()), Some("1.000001"));
    assert_eq!(
        t.bot_user_id().as_deref(),
        Some("UBOT"),
        "learnt from authorizations"
    );
    // Redelivery of the same event id: dropped.
    assert_eq!(t.push_event(&ev), None);
    // A top-level mention has no thread.
    let top = callback(
        "Ev2",
        json!({"type": "app_mention", "user": "U1", "channel": "C1", "ts": "2.0", "text": "<@UBOT> status"}),
    );
    assert_eq!(inbound(t.push_event(&top)).thread, None);
}

#[test]
fn thread_replies_from_people_only() {
    let t = Translator::default();
    t.set_identity(BotIdentity {
        user_id: "UBOT".into(),
        bot_id: Some("BBOT".into()),
    });
    let msg = |id: &str, extra: Value| {
        let mut e = json!({"type": "message", "channel": "C1", "user": "U2", "ts": "5.0",
                           "thread_ts": "1.0", "text": "rollback please", "channel_type": "channel"});
        for (k, v) in extra.as_object().unwrap() {
            e[k] = v.clone();
        }
        callback(id, e)
    };
    let m = inbound(t.push_event(&msg("E1", json!({}))));
    assert!(!m.mentioned);
    assert_eq!(m.text, "rollback please");
    assert_eq!(m.thread.unwrap().id, "1.0");

    // Our own posts, other bots, edits, top-level chatter, and mentions (app_mention has them).
    for (id, extra) in [
        ("E2", json!({"user": "UBOT"})),
        ("E3", json!({"bot_id": "B9"})),
        ("E4", json!({"subtype": "message_changed"})),
        ("E5", json!({"thread_ts": null})),
        ("E6", json!({"thread_ts": "5.0"})),
        ("E7", json!({"text": "<@UBOT> rollback"})),
    ] {
        assert_eq!(t.push_event(&msg(id, extra.clone())), None, "{extra}");
    }
    // A direct message counts as a mention.
    let dm = inbound(t.push_event(&msg("E8", json!({"channel_type": "im", "thread_ts": null}))));
    assert!(dm.mentioned);
}

#[test]
fn unknown_and_malformed_events_are_ignored() {
    let t = Translator::default();
    let ev = callback("E1", json!({"type": "reaction_added", "user": "U1"}));
    assert_eq!(t.push_event(&ev), None);
    let ev = callback("E2", json!({"type": "brand_new_event", "x": 1}));
    assert_eq!(t.push_event(&ev), None);
    let ev = callback(
        "E3",
        json!({"type": "app_mention", "text": "no user or channel"}),
    );
    assert_eq!(t.push_event(&ev), None);
}

#[test]
fn block_actions_become_clicks_answered_in_the_thread() {
    let t = Translator::default();
    let payload = |trigger: &str| -> SlackInteractionEvent {
        serde_json::from_value(json!({
            "type": "block_actions",
            "team": {"id": "T1", "domain": "acme"},
            "user": {"id": "U7", "username": "ana", "name": "ana", "team_id": "T1"},
            "api_app_id": "A1",
            "trigger_id": trigger,
            "container": {"type": "message", "message_ts": "9.0", "channel_id": "C1", "is_ephemeral": false},
            "channel": {"id": "C1", "name": "k8s-alerts"},
            "message": {"type": "message", "ts": "9.0", "thread_ts": "1.0", "text": "approve?"},
            "actions": [{"type": "button", "action_id": "abcd0123:approve:A-1", "block_id": "b",
                         "value": "abcd0123:approve:A-1", "action_ts": "9.5"}]
        }))
        .unwrap()
    };
    let clicks = t.interaction(&payload("tr1"));
    assert_eq!(clicks.len(), 1);
    let ChatEvent::Click(c) = &clicks[0] else {
        panic!("{clicks:?}")
    };
    assert_eq!(c.action, "abcd0123:approve:A-1");
    assert_eq!(c.user.identity(), "slack:U7");
    assert_eq!(c.user.name.as_deref(), Some("ana"));
    assert_eq!((c.channel.as_str(), c.message.id.as_str()), ("C1", "9.0"));
    assert_eq!(
        c.token, "1.0",
        "private notes go to the clicked message's thread"
    );
    assert!(
        t.interaction(&payload("tr1")).is_empty(),
        "redelivery dropped"
    );
    t.forget("tr1");
    assert_eq!(
        t.interaction(&payload("tr1")).len(),
        1,
        "taken again once forgotten"
    );
}

#[test]
fn mention_removal_is_exact() {
    assert_eq!(
        remove_mentions_of("<@UBOT> hi <@UBOT2> <@UBOT|lookout>!", "UBOT"),
        "hi <@UBOT2> !"
    );
    let t = Translator::default();
    assert_eq!(
        t.strip_mention("<@USOMEONE> help"),
        "help",
        "leading mention before identity"
    );
}
