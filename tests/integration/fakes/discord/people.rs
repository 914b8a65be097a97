//! The people in the fake Discord: they mention the bot, reply in threads and click buttons.
//! Each action stores what Discord would store and dispatches what the gateway would send.

use std::time::Instant;

use super::{BOT_USER, Callback, FakeDiscord, Interaction, Stored, payloads};

impl FakeDiscord {
    /// A person mentions the bot in `channel`, or in `thread` (a thread's channel id) when
    /// given. Returns the message's id.
    pub async fn mention(&self, channel: u64, thread: Option<u64>, user: u64, text: &str) -> u64 {
        let content = format!("<@{BOT_USER}> {text}");
        self.wait_ready().await;
        self.said(thread.unwrap_or(channel), user, &content, vec![BOT_USER])
    }

    /// A person writes in a thread without mentioning the bot. Returns the message's id.
    pub async fn reply(&self, thread: u64, user: u64, text: &str) -> u64 {
        self.wait_ready().await;
        self.said(thread, user, text, Vec::new())
    }

    /// A person writes in a channel without mentioning the bot (chatter the bot ignores).
    pub async fn chatter(&self, channel: u64, user: u64, text: &str) -> u64 {
        self.wait_ready().await;
        self.said(channel, user, text, Vec::new())
    }

    fn said(&self, channel: u64, user: u64, content: &str, mentions: Vec<u64>) -> u64 {
        let mut s = self.lock();
        assert!(
            s.channel(channel).is_some(),
            "nobody can write in channel {channel}: it does not exist"
        );
        let id = s.next_id();
        let stored = Stored {
            id,
            channel,
            author: user,
            content: content.to_string(),
            embeds: serde_json::json!([]),
            components: serde_json::json!([]),
            nonce: None,
            mentions,
            reference: None,
            edits: 0,
            at: Instant::now(),
        };
        let event = payloads::message(&s, &stored, true);
        s.messages.push(stored);
        s.gateway.dispatch("MESSAGE_CREATE", event);
        id
    }

    /// A person clicks the button `custom_id` of message `message`. Panics if there is no such
    /// button: nobody can click what Discord does not show. Returns the interaction's id.
    pub async fn click(&self, message: u64, user: u64, custom_id: &str) -> u64 {
        self.wait_ready().await;
        let mut s = self.lock();
        let m = s
            .message(message)
            .unwrap_or_else(|| panic!("no message {message}"))
            .clone();
        assert!(
            m.buttons().iter().any(|(_, id)| id == custom_id),
            "message {message} has no button {custom_id}: {:?}",
            m.buttons()
        );
        let id = s.next_id();
        let token = format!("aW50ZXJhY3Rpb246{id}:token");
        let event = payloads::interaction(&s, id, &token, &m, user, custom_id);
        s.interactions.insert(
            id,
            Interaction {
                callback: Callback {
                    interaction: id,
                    user,
                    message,
                    kind: None,
                    after: None,
                },
                token,
                channel: m.channel,
                sent: Instant::now(),
            },
        );
        s.gateway.dispatch("INTERACTION_CREATE", event);
        id
    }
}
