//! Updates: what people do becomes an update, stored until the bot confirms it (`getUpdates`
//! from a higher offset) or delivered to the webhook with its secret token. Messages in
//! Telegram's JSON shapes, as teloxide reads them.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::sync::Notify;

use super::{BOT_ID, BOT_USERNAME, State, Stored, user_id};

/// Where a person writes.
pub enum HumanPlace {
    Chat,
    ReplyTo(i32),
    Topic(i32),
}

pub struct Human<'a> {
    pub chat: i64,
    pub place: HumanPlace,
    pub user: &'a str,
    pub text: &'a str,
    pub entities: Vec<Value>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// The thread of a new message replying to `to` in `chat`: the root of `to`'s reply chain, or
/// its topic.
pub fn thread_of_reply(s: &State, chat: i64, to: i32) -> (Option<String>, Option<i32>) {
    match s.message(chat, to) {
        Some(m) if m.topic.is_some() => (m.thread.clone(), m.topic),
        Some(m) => (
            Some(m.thread.clone().unwrap_or_else(|| m.id.to_string())),
            None,
        ),
        None => (None, None),
    }
}

/// Stores a person's message and, unless privacy mode hides it, queues its update.
pub fn human(s: &mut State, notify: &Notify, h: Human<'_>) -> i32 {
    assert!(
        s.chat(h.chat).is_some() || h.chat > 0,
        "fake telegram has no chat {}",
        h.chat
    );
    let from = user_id(h.user);
    s.users.insert(from, h.user.to_string());
    let id = s.next_message_id(h.chat);
    let (reply_to, thread, topic) = match h.place {
        HumanPlace::Chat => (None, None, None),
        HumanPlace::ReplyTo(to) => {
            let (thread, topic) = thread_of_reply(s, h.chat, to);
            (Some(to), thread, topic)
        }
        // A message in a topic answers the topic's creation (a service message).
        HumanPlace::Topic(t) => (Some(t), Some(format!("topic:{t}")), Some(t)),
    };
    let stored = Stored {
        chat: h.chat,
        id,
        from,
        thread,
        reply_to,
        topic,
        html: h.text.to_string(),
        text: h.text.to_string(),
        entities: h.entities,
        buttons: Vec::new(),
        edits: 0,
        topic_created: None,
        received: Instant::now(),
    };
    let for_bot = h.chat > 0
        || !s.privacy
        || stored.entities.iter().any(|e| {
            e["type"] == "bot_command"
                || (e["type"] == "mention" && stored.text.contains(&format!("@{BOT_USERNAME}")))
        })
        || reply_to
            .and_then(|r| s.message(h.chat, r))
            .is_some_and(Stored::by_bot);
    let message = message_json(s, &stored, true);
    s.messages.push(stored);
    if for_bot {
        push(s, notify, json!({"message": message}));
    }
    id
}

/// A click on a button of message `id`: a callback query.
pub fn click(s: &mut State, notify: &Notify, chat: i64, id: i32, user: &str, data: &str) {
    let from = user_id(user);
    s.users.insert(from, user.to_string());
    let m = s
        .message(chat, id)
        .unwrap_or_else(|| panic!("fake telegram has no message {id} in {chat}"))
        .clone();
    assert!(
        m.buttons.iter().any(|(_, d)| d == data),
        "message {id} has no button {data}: {:?}",
        m.buttons
    );
    let query = format!(
        "{}{}",
        4_000_000_000_000u64 + s.next_update as u64,
        s.answers.len()
    );
    s.queries.insert(query.clone(), from);
    let message = message_json(s, &m, true);
    push(
        s,
        notify,
        json!({"callback_query": {
            "id": query,
            "from": person(s, from),
            "message": message,
            "chat_instance": format!("ci{chat}"),
            "data": data,
        }}),
    );
}

fn push(s: &mut State, notify: &Notify, mut update: Value) {
    s.next_update += 1;
    update["update_id"] = json!(s.next_update);
    s.updates.push_back((s.next_update, update));
    notify.notify_waiters();
}

pub fn person(s: &State, id: i64) -> Value {
    if id == BOT_ID {
        return json!({"id": BOT_ID, "is_bot": true, "first_name": "Lookout", "username": BOT_USERNAME});
    }
    let name = s
        .users
        .get(&id)
        .cloned()
        .unwrap_or_else(|| format!("user{id}"));
    json!({"id": id, "is_bot": false, "first_name": name, "username": name})
}

pub fn chat_json(s: &State, id: i64) -> Value {
    match s.chat(id) {
        Some(c) if c.forum => {
            json!({"id": id, "type": "supergroup", "title": c.title, "is_forum": true})
        }
        Some(c) => json!({"id": id, "type": "supergroup", "title": c.title}),
        None => {
            let p = person(s, id);
            json!({"id": id, "type": "private", "first_name": p["first_name"], "username": p["username"]})
        }
    }
}

/// A message as Telegram shows it; with its replied-to message (one level, as Telegram does)
/// when `with_reply`.
pub fn message_json(s: &State, m: &Stored, with_reply: bool) -> Value {
    let mut v = json!({
        "message_id": m.id,
        "from": person(s, m.from),
        "chat": chat_json(s, m.chat),
        "date": now(),
    });
    if let Some(name) = &m.topic_created {
        v["forum_topic_created"] = json!({"name": name, "icon_color": 7_322_096});
        v["message_thread_id"] = json!(m.id);
        v["is_topic_message"] = json!(true);
        return v;
    }
    v["text"] = json!(m.text);
    if !m.entities.is_empty() {
        v["entities"] = json!(m.entities);
    }
    if m.edits > 0 {
        v["edit_date"] = json!(now());
    }
    if let Some(t) = m.topic {
        v["message_thread_id"] = json!(t);
        v["is_topic_message"] = json!(true);
    } else if let Some(root) = m.thread.as_ref().and_then(|t| t.parse::<i32>().ok()) {
        // Supergroups tell every reply the root of its chain.
        v["message_thread_id"] = json!(root);
    }
    if with_reply && let Some(parent) = m.reply_to.and_then(|r| s.message(m.chat, r)) {
        v["reply_to_message"] = message_json(s, parent, false);
    }
    if !m.buttons.is_empty() {
        let rows: Vec<Value> = m
            .buttons
            .iter()
            .map(|(t, d)| json!([{"text": t, "callback_data": d}]))
            .collect();
        v["reply_markup"] = json!({"inline_keyboard": rows});
    }
    v
}

/// Posts queued updates to the webhook while one is set, oldest first; a refused delivery is
/// retried (as Telegram does) after a pause.
pub async fn deliver(state: Arc<Mutex<State>>, notify: Arc<Notify>) {
    let client = reqwest::Client::new();
    loop {
        let next = {
            let s = state.lock().expect("fake telegram state");
            match (&s.webhook, s.updates.front()) {
                (Some((url, secret)), Some((_, u))) => {
                    Some((url.clone(), secret.clone(), u.clone()))
                }
                _ => None,
            }
        };
        let Some((url, secret, update)) = next else {
            let _ = tokio::time::timeout(Duration::from_millis(100), notify.notified()).await;
            continue;
        };
        let mut req = client.post(&url).json(&update);
        if !secret.is_empty() {
            req = req.header("X-Telegram-Bot-Api-Secret-Token", secret);
        }
        let status = match req.send().await {
            Ok(r) => r.status().as_u16(),
            Err(_) => 0,
        };
        let delivered = {
            let mut s = state.lock().expect("fake telegram state");
            s.deliveries.push(status);
            if status == 200 {
                let id = update["update_id"].as_i64();
                s.updates.retain(|(u, _)| Some(*u) != id);
            }
            status == 200
        };
        if !delivered {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// `getUpdates`: confirms everything below `offset`, answers what is pending or waits up to
/// `wait` for it. A newer poll terminates this one, as Telegram does; so does a webhook.
pub async fn poll(
    state: &Mutex<State>,
    notify: &Notify,
    offset: i64,
    wait: Duration,
    limit: usize,
) -> Result<Vec<Value>, &'static str> {
    let deadline = tokio::time::Instant::now() + wait;
    let generation = {
        let mut s = state.lock().expect("fake telegram state");
        if s.webhook.is_some() {
            return Err(
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
            );
        }
        if offset > 0 {
            s.updates.retain(|(id, _)| *id >= offset);
        }
        s.poll_generation += 1;
        notify.notify_waiters();
        s.poll_generation
    };
    loop {
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let s = state.lock().expect("fake telegram state");
            if s.poll_generation != generation {
                return Err(
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                );
            }
            let ready: Vec<Value> = s
                .updates
                .iter()
                .filter(|(id, _)| *id >= offset)
                .take(limit)
                .map(|(_, u)| u.clone())
                .collect();
            if !ready.is_empty() || tokio::time::Instant::now() >= deadline {
                return Ok(ready);
            }
        }
        let _ = tokio::time::timeout_at(deadline, notified).await;
    }
}
