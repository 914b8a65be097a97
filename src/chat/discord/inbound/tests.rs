use serde_json::{Value, json};

use super::*;

const ME: u64 = 900;
const GUILD: u64 = 10;
const ALERTS: u64 = 20;
const THREAD: u64 = 21;

fn author(id: u64, bot: bool) -> Value {
    json!({"id": id.to_string(), "username": format!("user{id}"), "discriminator": "0",
           "global_name": null, "avatar": null, "bot": bot})
}

fn message(channel: u64, author_id: u64, content: &str, mentions: &[u64]) -> Message {
    let v = json!({
        "id": "555", "channel_id": channel.to_string(), "guild_id": GUILD.to_string(),
        "author": author(author_id, author_id == ME),
        "member": {"roles": ["77"], "joined_at": "2024-01-01T00:00:00Z", "deaf": false,
                   "mute": false, "flags": 0},
        "content": content, "timestamp": "2024-01-01T00:00:00Z", "edited_timestamp": null,
        "tts": false, "mention_everyone": false,
        "mentions": mentions.iter().map(|m| author(*m, *m == ME)).collect::<Vec<_>>(),
        "mention_roles": [], "attachments": [], "embeds": [], "pinned": false, "type": 0,
    });
    serde_json::from_value(v).expect("a gateway message")
}

fn translator() -> Translator {
    let t = Translator::new(None, Some(GUILD));
    t.set_me(UserId::new(ME));
    t
}

fn inbound(e: Option<ChatEvent>) -> Inbound {
    match e {
        Some(ChatEvent::Message(m)) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

#[test]
fn a_mention_is_for_the_bot_without_its_mention() {
    let t = translator();
    let m = inbound(t.message(
        &message(
            ALERTS,
            1,
            "<@900> why is  checkout <@!900> crashing?",
            &[ME],
        ),
        None,
    ));
    assert!(m.mentioned);
    assert_eq!(m.text, "why is checkout crashing?");
    assert_eq!(m.channel, ALERTS.to_string());
    assert_eq!(m.thread, None);
    assert_eq!(m.message.id, "555");
    assert_eq!(m.user.id, "1");
    assert_eq!(m.user.groups, ["77"]);
}

#[test]
fn a_thread_reply_without_mention_names_its_parent() {
    let t = translator();
    let m = inbound(t.message(
        &message(THREAD, 1, "too risky", &[]),
        Some(ChannelId::new(ALERTS)),
    ));
    assert!(!m.mentioned);
    assert_eq!(m.channel, ALERTS.to_string());
    let thread = m.thread.expect("in a thread");
    assert_eq!((thread.channel.as_str(), thread.id.as_str()), ("20", "21"));
    assert_eq!(m.message.channel, THREAD.to_string());
}

#[test]
fn chatter_bots_and_other_servers_are_ignored() {
    let t = translator();
    assert!(
        t.message(&message(ALERTS, 1, "lunch?", &[]), None)
            .is_none()
    );
    assert!(
        t.message(&message(ALERTS, ME, "<@900>", &[ME]), None)
            .is_none()
    );
    let mut bot = message(ALERTS, 2, "<@900> hi", &[ME]);
    bot.author.bot = true;
    assert!(t.message(&bot, None).is_none());
    let mut elsewhere = message(ALERTS, 1, "<@900> hi", &[ME]);
    elsewhere.guild_id = Some(GuildId::new(11));
    assert!(t.message(&elsewhere, None).is_none());
    let mut direct = message(ALERTS, 1, "status", &[]);
    direct.guild_id = None;
    assert!(
        inbound(t.message(&direct, None)).mentioned,
        "a direct message is for the bot"
    );
}

fn interaction(custom_id: &str, application: u64) -> ComponentInteraction {
    let msg = serde_json::to_value(message(ALERTS, ME, "", &[])).unwrap();
    let v = json!({
        "id": "3000", "application_id": application.to_string(), "type": 3,
        "data": {"custom_id": custom_id, "component_type": 2},
        "guild_id": GUILD.to_string(), "channel_id": ALERTS.to_string(),
        "member": {"user": author(1, false), "roles": ["77", "78"],
                   "joined_at": "2024-01-01T00:00:00Z", "deaf": false, "mute": false,
                   "flags": 0},
        "token": "tok-en", "version": 1, "message": msg, "locale": "en-US",
        "entitlements": [], "attachment_size_limit": 8388608,
    });
    serde_json::from_value(v).expect("a component interaction")
}

#[test]
fn a_click_carries_user_roles_and_how_to_answer() {
    let t = translator();
    let c = t
        .click(&interaction("abcd0123:approve:A-7", 4242))
        .expect("a click");
    assert_eq!(c.action, "abcd0123:approve:A-7");
    assert_eq!(c.user.id, "1");
    assert_eq!(c.user.groups, ["77", "78"]);
    assert_eq!(c.message.id, "555");
    assert_eq!(c.channel, ALERTS.to_string());
    let token = ClickToken::parse(&c.token).expect("a click token");
    assert_eq!(token.application.get(), 4242);
    assert_eq!(token.interaction.get(), 3000);
    assert_eq!(token.token, "tok-en");
    assert_eq!(t.application(), Some(ApplicationId::new(4242)));
    let strict = Translator::new(Some(1), None);
    assert!(
        strict.click(&interaction("x", 4242)).is_none(),
        "another application"
    );
    assert!(ClickToken::parse("1:2:").is_none());
    assert!(ClickToken::parse("slack-thread-ts").is_none());
}
