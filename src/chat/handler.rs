//! What Lookout does with what people say and click, once for every platform: mentions are
//! commands (answered in a thread) or else questions (handed to the conversation component,
//! which answers in its own time so a slow model never holds up clicks and commands), clicks
//! are decoded (another cluster's or an unknown button gets a private "no"), and a click's
//! verb goes to the component that registered it (approvals, acknowledgements...), so a new
//! kind of button is one registration, not a change here.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::action::{Action, ActionCodec, ActionError};
use super::commands::Commands;
use super::event::{ChatEvent, Click, Inbound};
use super::outbound::{Outbound, Post, Thread};
use super::platform::ThreadRef;

/// The answer to a click.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClickReply {
    /// Acknowledge silently (the handler edits the message itself, through the outbound queue).
    Done,
    /// Tell the clicking user something only they see.
    Private(String),
}

/// A component that handles the buttons of one verb.
#[async_trait]
pub trait ClickHandler: Send + Sync + 'static {
    async fn click(&self, click: &Click, action: &Action) -> ClickReply;
}

/// A component that reads replies in threads that do not mention the bot (a rejection's
/// reason, a conversation's follow-up). The first that answers `Some` is posted in the thread.
#[async_trait]
pub trait ReplyHandler: Send + Sync + 'static {
    async fn reply(&self, message: &Inbound) -> Option<super::message::Message>;
}

/// A component that answers mentions that are no command: questions. It answers in its own
/// time (a model can take a minute), so `ask` starts the work and returns at once.
pub trait QuestionHandler: Send + Sync + 'static {
    /// Why questions cannot be answered now (no model configured...), or `None` when they can.
    fn unavailable(&self) -> Option<String>;
    /// Starts answering `question` in `thread` (where the answer goes); does not wait for it.
    fn ask(&self, question: Inbound, thread: Option<ThreadRef>);
}

/// Why a question gets the commands list when no question handler is registered.
const NO_MODEL: &str = "no language model is configured (`llm.base_url`)";

pub const EXPIRED: &str = "This button has expired.";
pub const FOREIGN: &str = "This button belongs to another cluster's Lookout; it cannot act here.";

pub struct ChatHandler {
    outbound: Outbound,
    codec: ActionCodec,
    commands: Commands,
    clicks: HashMap<String, Arc<dyn ClickHandler>>,
    replies: Vec<Arc<dyn ReplyHandler>>,
    questions: Option<Arc<dyn QuestionHandler>>,
}

impl ChatHandler {
    pub fn new(outbound: Outbound, codec: ActionCodec, commands: Commands) -> Self {
        Self {
            outbound,
            codec,
            commands,
            clicks: HashMap::new(),
            replies: Vec::new(),
            questions: None,
        }
    }

    /// Hands mentions that are no command to `handler`.
    pub fn on_question(&mut self, handler: Arc<dyn QuestionHandler>) {
        self.questions = Some(handler);
    }

    /// Offers thread replies without a mention to `handler`.
    pub fn on_reply(&mut self, handler: Arc<dyn ReplyHandler>) {
        self.replies.push(handler);
    }

    /// Routes clicks with this verb to `handler`.
    pub fn on_click(&mut self, verb: &str, handler: Arc<dyn ClickHandler>) {
        self.clicks.insert(verb.to_string(), handler);
    }

    pub async fn run(self, mut rx: mpsc::Receiver<ChatEvent>, shutdown: CancellationToken) {
        loop {
            let event = tokio::select! {
                _ = shutdown.cancelled() => return,
                e = rx.recv() => match e { Some(e) => e, None => return },
            };
            match event {
                ChatEvent::Message(m) => self.message(m).await,
                ChatEvent::Click(c) => self.click(c).await,
            }
        }
    }

    async fn message(&self, m: Inbound) {
        if !m.mentioned {
            debug!(platform = %m.platform, channel = %m.channel, "thread reply without a mention");
            for handler in &self.replies {
                if let Some(answer) = handler.reply(&m).await {
                    let key = format!("reply:{}:{}:{}", m.platform, m.channel, m.message.id);
                    let thread = m.thread.clone().map(Thread::Ref).unwrap_or(Thread::None);
                    self.outbound
                        .post(Post::new(key, &m.platform, &m.channel, answer).in_thread(thread))
                        .await;
                    return;
                }
            }
            return;
        }
        info!(platform = %m.platform, user = %m.user.identity(), text = %m.text, "mention");
        let reply = match self.commands.answer(&m).await {
            Some(reply) => reply,
            None => {
                let questions = self.questions.as_ref().map(|q| (q, q.unavailable()));
                if let Some((q, None)) = questions {
                    let thread = self.thread_for(&m).await;
                    q.ask(m, thread);
                    return;
                }
                let reason = questions
                    .and_then(|(_, why)| why)
                    .unwrap_or_else(|| NO_MODEL.to_string());
                let help = Inbound {
                    text: "help".into(),
                    ..m.clone()
                };
                crate::conversation::reply::without_model(
                    &m.text,
                    &reason,
                    self.commands.answer(&help).await,
                )
            }
        };
        let thread = self.thread_for(&m).await;
        let key = format!("reply:{}:{}:{}", m.platform, m.channel, m.message.id);
        let thread = thread.map(Thread::Ref).unwrap_or(Thread::None);
        self.outbound
            .post(Post::new(key, &m.platform, &m.channel, reply).in_thread(thread))
            .await;
    }

    /// Where the answer to a mention goes: its thread, or a new one under it.
    async fn thread_for(&self, m: &Inbound) -> Option<ThreadRef> {
        match &m.thread {
            Some(t) => Some(t.clone()),
            None => match self.outbound.platform(&m.platform) {
                Some(p) => p.open_thread(&m.message, "Lookout").await.ok(),
                None => None,
            },
        }
    }

    async fn click(&self, c: Click) {
        let reply = match self.codec.decode(&c.action) {
            Err(ActionError::ForeignCluster) => {
                warn!(platform = %c.platform, user = %c.user.identity(), action = %c.action, "click on another cluster's button refused");
                ClickReply::Private(FOREIGN.into())
            }
            Err(ActionError::Malformed) => {
                warn!(platform = %c.platform, action = %c.action, "click on an unknown button");
                ClickReply::Private(EXPIRED.into())
            }
            Ok(action) => match self.clicks.get(&action.verb) {
                Some(handler) => handler.click(&c, &action).await,
                None => {
                    warn!(verb = %action.verb, "click on a button no component handles");
                    ClickReply::Private(EXPIRED.into())
                }
            },
        };
        let Some(platform) = self.outbound.platform(&c.platform) else {
            return;
        };
        let note = match &reply {
            ClickReply::Done => None,
            ClickReply::Private(text) => Some(text.as_str()),
        };
        if let Err(error) = platform.acknowledge(&c, note).await {
            warn!(%error, platform = %c.platform, "could not answer a click");
        }
    }
}
