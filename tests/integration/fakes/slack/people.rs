//! The people in the fake Slack: they mention the bot, reply in threads and click buttons.
//! Each action stores what Slack would store and delivers the events Slack would send.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::{APP, BOT_USER, FakeSlack, Signature, Sink, Stored, TEAM, socket, web};

impl FakeSlack {
    /// A person mentions the bot: stores the message and delivers `app_mention` and
    /// `message`, as Slack does. Returns the message's ts.
    pub async fn mention(
        &self,
        channel: &str,
        thread: Option<&str>,
        user: &str,
        text: &str,
    ) -> String {
        let text = format!("<@{BOT_USER}> {}", escape(text));
        let (ts, event) = self.human_message(channel, thread, user, &text);
        let mut mention = event.clone();
        mention["type"] = json!("app_mention");
        mention.as_object_mut().map(|o| o.remove("channel_type"));
        self.deliver_event(mention).await;
        self.deliver_event(event).await;
        ts
    }

    /// A person replies in a thread without mentioning the bot. Returns the reply's ts.
    pub async fn reply(&self, channel: &str, thread: &str, user: &str, text: &str) -> String {
        let (ts, event) = self.human_message(channel, Some(thread), user, &escape(text));
        self.deliver_event(event).await;
        ts
    }

    fn human_message(
        &self,
        channel: &str,
        thread: Option<&str>,
        user: &str,
        text: &str,
    ) -> (String, Value) {
        let mut s = self.lock();
        let ts = s.next_ts();
        s.channel_mut(channel).users.insert(user.to_string());
        if let Some(parent) = thread {
            web::count_reply(&mut s, channel, parent, &ts);
        }
        s.messages.push(Stored {
            channel: channel.into(),
            ts: ts.clone(),
            thread_ts: thread.map(str::to_string),
            user: user.into(),
            bot_id: None,
            text: text.into(),
            blocks: Value::Null,
            metadata: None,
            edits: 0,
            reply_count: 0,
            latest_reply: None,
            received: std::time::Instant::now(),
        });
        let mut event = json!({"type": "message", "channel": channel, "user": user, "text": text,
                               "ts": ts, "event_ts": ts, "channel_type": "channel", "team": TEAM});
        if let Some(t) = thread {
            event["thread_ts"] = json!(t);
        }
        (ts, event)
    }

    /// A person clicks the button `action` of message `ts`. Panics if there is no such button:
    /// nobody can click what Slack does not show. Returns the envelope (or trigger) id.
    pub async fn click(&self, channel: &str, ts: &str, user: &str, action: &str) -> String {
        let (payload, id) = self.click_payload(channel, ts, user, action);
        let sink = self.lock().sink.clone();
        match sink {
            Sink::Socket => socket::deliver(&self.state, "interactive", payload, false).await,
            Sink::Http(poster) => {
                let (status, body) = poster.post_interactive(&payload, Signature::Valid).await;
                assert_eq!(status, 200, "bot refused a click: {body}");
                id
            }
        }
    }

    /// The same click delivered over every open Socket Mode connection at once (Slack may
    /// hand an event to any of an app's connections; several bot processes each hold one).
    pub async fn click_on_every_connection(
        &self,
        channel: &str,
        ts: &str,
        user: &str,
        action: &str,
    ) {
        let (payload, _) = self.click_payload(channel, ts, user, action);
        socket::deliver_to_all(&self.state, "interactive", payload);
    }

    fn click_payload(&self, channel: &str, ts: &str, user: &str, action: &str) -> (Value, String) {
        {
            let mut s = self.lock();
            let m = s
                .messages
                .iter()
                .find(|m| m.channel == channel && m.ts == ts)
                .unwrap_or_else(|| panic!("no message {ts} in {channel}"))
                .clone();
            let Some((label, _)) = m.buttons().into_iter().find(|(_, a)| a == action) else {
                panic!("message {ts} has no button {action}: {:?}", m.buttons());
            };
            s.channel_mut(channel).users.insert(user.to_string());
            let trigger = s.next_id("trigger.");
            let now = s.next_ts();
            let mut message = json!({"type": "message", "user": m.user, "bot_id": m.bot_id,
                                     "text": m.text, "ts": m.ts, "blocks": m.blocks});
            if let Some(t) = &m.thread_ts {
                message["thread_ts"] = json!(t);
            }
            let payload = json!({
                "type": "block_actions",
                "team": {"id": TEAM, "domain": "lookout-test"},
                "user": {"id": user, "username": format!("{user}-name"), "name": format!("{user}-name"), "team_id": TEAM},
                "api_app_id": APP,
                "token": "verification-token-unused",
                "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": false},
                "trigger_id": trigger,
                "channel": {"id": channel, "name": s.channel(channel, false).map(|c| c.name.clone())},
                "message": message,
                "response_url": format!("https://hooks.slack.invalid/actions/{trigger}"),
                "actions": [{"type": "button", "action_id": action, "block_id": "actions",
                             "text": {"type": "plain_text", "text": label, "emoji": true},
                             "value": action, "action_ts": now}],
                "state": {"values": {}}
            });
            (payload, trigger)
        }
    }

    /// Delivers one Events API event (wrapped in an `event_callback`). Returns the envelope
    /// id (Socket Mode) or the event id (HTTP).
    pub async fn deliver_event(&self, event: Value) -> String {
        let (callback, event_id) = {
            let mut s = self.lock();
            let event_id = s.next_id("Ev");
            let callback = event_callback(event, &event_id);
            (callback, event_id)
        };
        let sink = self.lock().sink.clone();
        match sink {
            Sink::Socket => socket::deliver(&self.state, "events_api", callback, false).await,
            Sink::Http(poster) => {
                let (status, body) = poster.post_json(&callback, Signature::Valid).await;
                assert_eq!(status, 200, "bot refused an event: {body}");
                event_id
            }
        }
    }
}

/// Slack escapes `&`, `<` and `>` in what people type.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An `event_callback` as Slack wraps every event.
pub fn event_callback(event: Value, event_id: &str) -> Value {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    json!({
        "token": "verification-token-unused",
        "team_id": TEAM,
        "api_app_id": APP,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": now,
        "authorizations": [{"enterprise_id": null, "team_id": TEAM, "user_id": BOT_USER,
                            "is_bot": true, "is_enterprise_install": false}],
        "is_ext_shared_channel": false,
        "event_context": format!("4-{event_id}"),
    })
}
