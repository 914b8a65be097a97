//! The console adapter as a chat harness: the real `ConsolePlatform` on in-memory pipes; the
//! "person" types lines into it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lookout::chat::SharedPlatform;
use lookout::chat::console::ConsolePlatform;

use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

use super::harness::{ChatHarness, SeenMessage};

pub struct ConsoleHarness {
    platform: Arc<ConsolePlatform>,
    keyboard: Mutex<tokio::io::DuplexStream>,
}

impl ConsoleHarness {
    pub async fn new() -> Self {
        let (keyboard, terminal) = tokio::io::duplex(1 << 16);
        let platform = ConsolePlatform::with_io(
            "operator",
            Box::new(tokio::io::BufReader::new(terminal)),
            Box::new(std::io::sink()),
            false,
        );
        Self {
            platform: Arc::new(platform),
            keyboard: Mutex::new(keyboard),
        }
    }

    async fn type_line(&self, line: &str) {
        let mut k = self.keyboard.lock().await;
        k.write_all(format!("{line}\n").as_bytes())
            .await
            .expect("type");
    }
}

#[async_trait]
impl ChatHarness for ConsoleHarness {
    fn platform(&self) -> SharedPlatform {
        self.platform.clone()
    }

    fn channel(&self) -> String {
        "console".into()
    }

    fn missing_channel(&self) -> String {
        // The console has one channel; a message for another cannot be shown.
        "nowhere".into()
    }

    async fn messages(&self, _channel: &str) -> Vec<SeenMessage> {
        self.platform
            .transcript()
            .into_iter()
            .map(|m| SeenMessage {
                id: m.id.to_string(),
                channel: "console".into(),
                thread: m.thread.map(|t| t.to_string()),
                text: m.message.to_plain(),
                buttons: m
                    .message
                    .buttons
                    .iter()
                    .map(|b| (b.label.clone(), b.action.clone()))
                    .collect(),
                edits: m.edits,
            })
            .collect()
    }

    async fn mention(&self, _channel: &str, thread: Option<&str>, _user: &str, text: &str) {
        match thread {
            Some(t) => self.type_line(&format!("reply {t} @lookout {text}")).await,
            None => self.type_line(&format!("@lookout {text}")).await,
        }
    }

    async fn reply(&self, _channel: &str, thread: &str, _user: &str, text: &str) {
        self.type_line(&format!("reply {thread} {text}")).await;
    }

    async fn click(&self, _channel: &str, message_id: &str, _user: &str, action: &str) {
        let id: u64 = message_id.parse().expect("console message id");
        let n = self
            .platform
            .button_number(id, action)
            .expect("the button is shown");
        self.type_line(&format!("click {n}")).await;
    }

    async fn private_notes(&self, _user: &str) -> Vec<String> {
        self.platform.private_notes()
    }

    async fn rate_limit_next(&self, n: usize, retry_after: Duration) {
        self.platform.refuse_next(n, retry_after);
    }

    async fn send_attempts(&self) -> usize {
        self.platform.send_attempts()
    }

    fn user_id(&self, _user: &str) -> String {
        "operator".into()
    }
}
