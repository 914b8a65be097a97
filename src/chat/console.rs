//! The console: a terminal chat for local runs and the demo. It prints cards and threads
//! readably (in colour on a terminal), numbers every button, and reads lines:
//!
//! ```text
//! click 3              click button [3]
//! 3                    the same
//! reply 2 some text    reply in the thread of message #2 (mention the bot with @lookout)
//! anything else        a message to the bot (a mention), e.g. `incidents` or `help`
//! ```
//!
//! The console user is `console:<user>` (an approver in the demo).

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::event::{ChatEvent, ChatUser, Click, Inbound};
use super::message::{Block, Message, Span, Text, Tone};
use super::platform::{ChatPlatform, Limits, MessageRef, SendError, ThreadRef};

/// The console in the config.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// Whether the console chat runs (reads stdin, prints to stdout).
    pub enabled: bool,
    /// The console user's id (`console:<user>` in approval policies).
    pub user: String,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            user: "operator".into(),
        }
    }
}

pub const CHANNEL: &str = "console";

/// A message as the console keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleMessage {
    pub id: u64,
    pub thread: Option<u64>,
    pub message: Message,
    /// Button numbers as shown, with their action ids.
    pub buttons: Vec<(usize, String)>,
    pub edits: u32,
}

#[derive(Default)]
struct State {
    messages: BTreeMap<u64, ConsoleMessage>,
    next_id: u64,
    next_button: usize,
    /// Button number -> (message id, action id).
    buttons: BTreeMap<usize, (u64, String)>,
    private_notes: Vec<String>,
    /// Test hook: the next `n` sends are refused with this retry-after.
    refuse: Option<(usize, Duration)>,
    send_attempts: usize,
}

type Input = Box<dyn AsyncBufRead + Send + Unpin>;

pub struct ConsolePlatform {
    user: String,
    color: bool,
    limits: Limits,
    out: Mutex<Box<dyn Write + Send>>,
    input: tokio::sync::Mutex<Option<Input>>,
    state: Mutex<State>,
}

impl ConsolePlatform {
    /// The terminal: stdin and stdout, colour when stdout is a terminal.
    pub fn stdio(config: &ConsoleConfig) -> Self {
        let color = std::io::IsTerminal::is_terminal(&std::io::stdout());
        Self::with_io(
            &config.user,
            Box::new(tokio::io::BufReader::new(tokio::io::stdin())),
            Box::new(std::io::stdout()),
            color,
        )
    }

    /// Any input and output (tests, the demo's scripted runs).
    pub fn with_io(user: &str, input: Input, out: Box<dyn Write + Send>, color: bool) -> Self {
        Self {
            user: user.to_string(),
            color,
            limits: Limits {
                max_block_chars: 4000,
                max_message_chars: 20_000,
                max_blocks: 50,
                max_buttons: 10,
                max_button_label: 40,
                max_action_bytes: 255,
                min_interval: Duration::ZERO,
            },
            out: Mutex::new(out),
            input: tokio::sync::Mutex::new(Some(input)),
            state: Mutex::new(State {
                next_id: 1,
                next_button: 1,
                ..State::default()
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Everything posted, oldest first (for tests and the demo's checks).
    pub fn transcript(&self) -> Vec<ConsoleMessage> {
        self.lock().messages.values().cloned().collect()
    }

    /// Notes shown only to the console user.
    pub fn private_notes(&self) -> Vec<String> {
        self.lock().private_notes.clone()
    }

    /// The number shown for a message's button with this action.
    pub fn button_number(&self, message: u64, action: &str) -> Option<usize> {
        self.lock()
            .buttons
            .iter()
            .find(|(_, (m, a))| *m == message && a == action)
            .map(|(n, _)| *n)
    }

    /// Test hook: the next `n` sends are refused as rate-limited.
    pub fn refuse_next(&self, n: usize, retry_after: Duration) {
        self.lock().refuse = Some((n, retry_after));
    }

    pub fn send_attempts(&self) -> usize {
        self.lock().send_attempts
    }

    fn user(&self) -> ChatUser {
        ChatUser {
            platform: "console".into(),
            id: self.user.clone(),
            name: Some(self.user.clone()),
            groups: Vec::new(),
        }
    }

    fn print(&self, text: &str) {
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        // The console is best effort: a closed stdout must not stop the bot.
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    fn paint(&self, tone: Tone, s: &str) -> String {
        if !self.color {
            return s.to_string();
        }
        let code = match tone {
            Tone::Neutral => "1",
            Tone::Good => "1;32",
            Tone::Info => "1;36",
            Tone::Warning => "1;33",
            Tone::Danger => "1;31",
            Tone::Critical => "1;37;41",
        };
        format!("\x1b[{code}m{s}\x1b[0m")
    }

    fn render(&self, m: &ConsoleMessage, edited: bool) -> String {
        let indent = if m.thread.is_some() { "    " } else { "" };
        let mut lines = Vec::new();
        let head = match m.thread {
            Some(t) => format!("#{} (thread of #{t})", m.id),
            None => format!("#{}", m.id),
        };
        let edited = if edited { " (edited)" } else { "" };
        match &m.message.header {
            Some(h) => lines.push(format!(
                "{head}{edited} {} {}",
                self.paint(h.tone, &format!("[{}]", h.badge)),
                self.paint(Tone::Neutral, &h.title)
            )),
            None => lines.push(format!("{head}{edited}")),
        }
        for b in &m.message.blocks {
            match b {
                Block::Text { text } => lines.push(format!("  {}", inline(text))),
                Block::Context { text } => lines.push(format!("  ({})", inline(text))),
                Block::Fields { fields } => {
                    for f in fields {
                        lines.push(format!(
                            "  {:<11} {}",
                            format!("{}:", f.label),
                            inline(&f.value)
                        ));
                    }
                }
                Block::Code { code } => {
                    for l in code.lines() {
                        lines.push(format!("  | {l}"));
                    }
                }
                Block::Divider => lines.push("  ----".into()),
            }
        }
        if !m.buttons.is_empty() {
            let buttons: Vec<String> = m
                .buttons
                .iter()
                .zip(&m.message.buttons)
                .map(|((n, _), b)| format!("[{n}] {}", b.label))
                .collect();
            lines.push(format!("  {}   (type `click N`)", buttons.join("  ")));
        }
        lines
            .into_iter()
            .map(|l| format!("{indent}{l}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Keeps what the user typed in the transcript (not printed: it is on the screen already).
    fn record_typed(&self, text: &str, thread: Option<u64>) -> u64 {
        let mut s = self.lock();
        let id = s.next_id;
        s.next_id += 1;
        s.messages.insert(
            id,
            ConsoleMessage {
                id,
                thread,
                message: Message::text(format!("{}: {text}", self.user)),
                buttons: Vec::new(),
                edits: 0,
            },
        );
        id
    }

    fn parse(&self, line: &str) -> Option<ChatEvent> {
        let line = line.trim();
        if line.is_empty() {
            return None;
        }
        let mut words = line.splitn(3, ' ');
        let first = words.next().unwrap_or_default();
        let click_number = match first {
            "click" => words.next().and_then(|n| n.parse::<usize>().ok()),
            n if line == n => n.parse::<usize>().ok(),
            _ => None,
        };
        if let Some(n) = click_number {
            let Some((message, action)) = self.lock().buttons.get(&n).cloned() else {
                self.print(&format!("  (there is no button [{n}])"));
                return None;
            };
            return Some(ChatEvent::Click(Click {
                platform: "console".into(),
                channel: CHANNEL.into(),
                message: msg_ref(message),
                user: self.user(),
                action,
                token: format!("click-{n}"),
            }));
        }
        if first == "reply"
            && let (Some(id), Some(text)) = (
                words.next().and_then(|n| n.parse::<u64>().ok()),
                words.next(),
            )
        {
            let (mentioned, text) = strip_mention(text);
            let root = self
                .lock()
                .messages
                .get(&id)
                .map(|m| m.thread.unwrap_or(m.id));
            let Some(root) = root else {
                self.print(&format!("  (there is no message #{id})"));
                return None;
            };
            // Every line typed is a message of its own, in the thread of `root`.
            let line_id = self.record_typed(&text, Some(root));
            return Some(ChatEvent::Message(Inbound {
                platform: "console".into(),
                channel: CHANNEL.into(),
                thread: Some(thread_ref(root)),
                message: msg_ref(line_id),
                user: self.user(),
                text,
                mentioned,
            }));
        }
        let (_, text) = strip_mention(line);
        // A top-level line: the user's own message becomes the thread root of the answer.
        let id = self.record_typed(line, None);
        Some(ChatEvent::Message(Inbound {
            platform: "console".into(),
            channel: CHANNEL.into(),
            thread: None,
            message: msg_ref(id),
            user: self.user(),
            text,
            mentioned: true,
        }))
    }
}

fn strip_mention(text: &str) -> (bool, String) {
    let t = text.trim();
    for m in ["@lookout", "lookout:", "lookout"] {
        if let Some(rest) = t.strip_prefix(m) {
            return (true, rest.trim_start_matches([',', ':']).trim().to_string());
        }
    }
    (false, t.to_string())
}

fn msg_ref(id: u64) -> MessageRef {
    MessageRef {
        platform: "console".into(),
        channel: CHANNEL.into(),
        id: id.to_string(),
    }
}

fn thread_ref(id: u64) -> ThreadRef {
    ThreadRef {
        platform: "console".into(),
        channel: CHANNEL.into(),
        id: id.to_string(),
    }
}

fn inline(text: &Text) -> String {
    let mut s = String::new();
    for span in &text.0 {
        match span {
            Span::Plain(t) => s.push_str(t),
            Span::Bold(t) => s.push_str(t),
            Span::Code(t) => {
                s.push('`');
                s.push_str(t);
                s.push('`');
            }
            Span::Link { label, url } => s.push_str(&format!("{label} <{url}>")),
            Span::Mention(super::message::Mention::User(u)) => s.push_str(&format!("@{u}")),
            Span::Mention(super::message::Mention::Raw(r)) => s.push_str(r),
        }
    }
    s
}

#[async_trait]
impl ChatPlatform for ConsolePlatform {
    fn name(&self) -> &'static str {
        "console"
    }

    fn limits(&self) -> &Limits {
        &self.limits
    }

    async fn send(
        &self,
        channel: &str,
        thread: Option<&ThreadRef>,
        message: &Message,
        _key: &str,
    ) -> Result<MessageRef, SendError> {
        let (printed, id) = {
            let mut s = self.lock();
            s.send_attempts += 1;
            if channel != CHANNEL {
                return Err(SendError::Permanent(format!(
                    "the console has no channel `{channel}` (route to `console`)"
                )));
            }
            if let Some((n, wait)) = s.refuse
                && n > 0
            {
                s.refuse = if n > 1 { Some((n - 1, wait)) } else { None };
                return Err(SendError::RateLimited(wait));
            }
            let id = s.next_id;
            s.next_id += 1;
            let mut buttons = Vec::new();
            for b in &message.buttons {
                let n = s.next_button;
                s.next_button += 1;
                s.buttons.insert(n, (id, b.action.clone()));
                buttons.push((n, b.action.clone()));
            }
            let m = ConsoleMessage {
                id,
                thread: thread.and_then(|t| t.id.parse().ok()),
                message: message.clone(),
                buttons,
                edits: 0,
            };
            s.messages.insert(id, m.clone());
            (m, id)
        };
        self.print(&self.render(&printed, false));
        Ok(msg_ref(id))
    }

    async fn edit(&self, message_ref: &MessageRef, message: &Message) -> Result<(), SendError> {
        let id: u64 = message_ref
            .id
            .parse()
            .map_err(|_| SendError::Permanent(format!("no console message {}", message_ref.id)))?;
        let printed = {
            let mut s = self.lock();
            let mut buttons = Vec::new();
            let old = s
                .messages
                .get(&id)
                .cloned()
                .ok_or_else(|| SendError::Permanent(format!("no console message #{id}")))?;
            // Keep the numbers of buttons that stay; number new ones.
            for b in &message.buttons {
                let existing = old
                    .buttons
                    .iter()
                    .find(|(_, a)| *a == b.action)
                    .map(|(n, _)| *n);
                let n = match existing {
                    Some(n) => n,
                    None => {
                        let n = s.next_button;
                        s.next_button += 1;
                        n
                    }
                };
                s.buttons.insert(n, (id, b.action.clone()));
                buttons.push((n, b.action.clone()));
            }
            for (n, _) in &old.buttons {
                if !buttons.iter().any(|(m, _)| m == n) {
                    s.buttons.remove(n);
                }
            }
            let m = ConsoleMessage {
                id,
                thread: old.thread,
                message: message.clone(),
                buttons,
                edits: old.edits + 1,
            };
            s.messages.insert(id, m.clone());
            m
        };
        self.print(&self.render(&printed, true));
        Ok(())
    }

    async fn open_thread(&self, parent: &MessageRef, _title: &str) -> Result<ThreadRef, SendError> {
        Ok(ThreadRef {
            platform: "console".into(),
            channel: CHANNEL.into(),
            id: parent.id.clone(),
        })
    }

    async fn acknowledge(
        &self,
        _click: &Click,
        private_note: Option<&str>,
    ) -> Result<(), SendError> {
        if let Some(note) = private_note {
            self.lock().private_notes.push(note.to_string());
            self.print(&format!("  (only you can see this) {note}"));
        }
        Ok(())
    }

    async fn run(self: Arc<Self>, events: mpsc::Sender<ChatEvent>, shutdown: CancellationToken) {
        let Some(mut input) = self.input.lock().await.take() else {
            return;
        };
        let mut line = String::new();
        loop {
            line.clear();
            let read = tokio::select! {
                _ = shutdown.cancelled() => return,
                r = input.read_line(&mut line) => r,
            };
            match read {
                Ok(0) | Err(_) => return, // end of input: the console stops listening
                Ok(_) => {
                    if let Some(event) = self.parse(&line)
                        && events.send(event).await.is_err()
                    {
                        return;
                    }
                }
            }
        }
    }
}
