//! The conversation component the chat handler talks to. A question (a mention that is no
//! command, or any reply in a thread that is already a conversation) is answered in a task of
//! its own: rate limits first, then "Looking into it…" at once, replaced by the answer when the
//! model is done; a long answer continues in the thread in parts. Questions in one thread are
//! answered one after the other, so a follow-up sees the turn before it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::ask::{Answerer, Question};
use super::config::ConversationsConfig;
use super::limits::{Admission, RateLimiter};
use super::memory::{self, Turn};
use super::metrics::ConversationMetrics;
use super::propose::PROPOSE;
use super::suggestions;
use super::tools::Toolbox;
use super::{cite, reply};
use crate::actions::{ActionContext, ActionsConfig, Registry};
use crate::chat::ActionCodec;
use crate::chat::handler::{QuestionHandler, ReplyHandler};
use crate::chat::outbound::{Outbound, Post, Thread};
use crate::chat::redact::SharedRedact;
use crate::chat::{Inbound, Message, ThreadRef};
use crate::clock::SharedClock;
use crate::llm::{LlmClient, Prompts};
use crate::store::SharedStore;

/// Replies in a conversation's thread that are talk between people, not questions.
const SMALL_TALK: &[&str] = &[
    "thanks",
    "thank you",
    "thx",
    "ty",
    "ok",
    "okay",
    "k",
    "cool",
    "great",
    "nice",
    "got it",
    "👍",
    "+1",
];

/// Everything the component is built from.
pub struct Deps {
    pub config: ConversationsConfig,
    pub cluster: String,
    pub llm: LlmClient,
    pub prompts: Arc<Prompts>,
    pub registry: Arc<Registry>,
    pub redact: SharedRedact,
    pub store: SharedStore,
    pub clock: SharedClock,
    pub outbound: Outbound,
    /// The tools read the cluster through this client; the served API versions are
    /// discovered with the first question.
    pub kube: kube::Client,
    pub actions: ActionsConfig,
    pub metrics: ConversationMetrics,
    pub shutdown: CancellationToken,
}

/// Answers questions; cheap to clone.
#[derive(Clone)]
pub struct Conversations {
    inner: Arc<Inner>,
}

struct Inner {
    answerer: Answerer,
    limiter: RateLimiter,
    outbound: Outbound,
    store: SharedStore,
    clock: SharedClock,
    redact: SharedRedact,
    /// Encodes the Propose buttons.
    codec: ActionCodec,
    kube: kube::Client,
    actions_config: ActionsConfig,
    actions: OnceCell<ActionContext>,
    /// One lock per conversation, so its questions are answered in order.
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    shutdown: CancellationToken,
}

impl Conversations {
    pub fn new(d: Deps) -> Self {
        let limiter = RateLimiter {
            store: d.store.clone(),
            clock: d.clock.clone(),
            per_user: d.config.per_user,
            per_channel: d.config.per_channel,
        };
        let codec = ActionCodec::new(&d.cluster);
        Self {
            inner: Arc::new(Inner {
                codec,
                answerer: Answerer {
                    llm: d.llm,
                    prompts: d.prompts,
                    redact: d.redact.clone(),
                    toolbox: Toolbox::new(d.registry),
                    store: d.store.clone(),
                    cluster: d.cluster,
                    config: d.config,
                    metrics: d.metrics,
                },
                limiter,
                outbound: d.outbound,
                store: d.store,
                clock: d.clock,
                redact: d.redact,
                kube: d.kube,
                actions_config: d.actions,
                actions: OnceCell::new(),
                locks: Mutex::new(HashMap::new()),
                shutdown: d.shutdown,
            }),
        }
    }
}

impl QuestionHandler for Conversations {
    fn unavailable(&self) -> Option<String> {
        let a = &self.inner.answerer;
        if !a.config.enabled {
            return Some("questions are turned off (`conversations.enabled`)".into());
        }
        if !a.llm.enabled() {
            return Some("no language model is configured (`llm.base_url`)".into());
        }
        None
    }

    fn ask(&self, question: Inbound, thread: Option<ThreadRef>) {
        let inner = self.inner.clone();
        tokio::spawn(async move {
            let shutdown = inner.shutdown.clone();
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = inner.answer(question, thread) => {}
            }
        });
    }
}

/// A reply without a mention in a thread that is a conversation continues it. The answer
/// comes in its own time through the outbound queue, so this returns `None` either way.
#[async_trait]
impl ReplyHandler for Conversations {
    async fn reply(&self, m: &Inbound) -> Option<Message> {
        if self.unavailable().is_some() || is_small_talk(&m.text) {
            return None;
        }
        let thread = m.thread.clone()?;
        let turns = memory::load(self.inner.store.as_ref(), &memory::key(&thread))
            .await
            .ok()?;
        if !memory::continues_unmentioned(&turns) {
            return None;
        }
        self.ask(m.clone(), Some(thread));
        None
    }
}

fn is_small_talk(text: &str) -> bool {
    let t = text.trim().trim_end_matches(['!', '.', ' ']).to_lowercase();
    t.is_empty() || SMALL_TALK.contains(&t.as_str())
}

impl Inner {
    #[tracing::instrument(skip_all, fields(platform = %m.platform, channel = %m.channel))]
    async fn answer(&self, m: Inbound, thread: Option<ThreadRef>) {
        // Without a thread (the platform could not open one) the conversation is keyed by the
        // message; the answer goes to the channel.
        let conversation = memory::key(thread.as_ref().unwrap_or(&ThreadRef {
            platform: m.platform.clone(),
            channel: m.channel.clone(),
            id: m.message.id.clone(),
        }));
        let lock = self.lock(&conversation);
        let _in_order = lock.lock().await;
        let metrics = &self.answerer.metrics;
        let key = format!("reply:{}:{}:{}", m.platform, m.channel, m.message.id);
        let answer_thread = thread.clone();
        let place = thread.map(Thread::Ref).unwrap_or(Thread::None);
        let post = |key: String, message: Message| {
            Post::new(key, &m.platform, &m.channel, message).in_thread(place.clone())
        };
        match self.limiter.admit(&m).await {
            Admission::Allowed => {}
            Admission::Refused {
                scope,
                limit,
                retry_in,
            } => {
                info!(user = %m.user.identity(), ?scope, "question refused: rate limit");
                metrics.answer("rate_limited");
                let refusal = reply::refused(scope, &limit, retry_in);
                self.outbound.post(post(key, refusal)).await;
                return;
            }
            Admission::Unavailable(error) => {
                warn!(%error, "question refused: the rate limits cannot be checked");
                metrics.answer("unavailable");
                self.outbound.post(post(key, reply::unavailable())).await;
                return;
            }
        }
        self.outbound
            .post(post(key.clone(), reply::looking()))
            .await;
        let edit = |message: Message| self.outbound.edit(&key, &m.platform, &m.channel, message);

        let actions = match self.actions().await {
            Ok(a) => a,
            Err(error) => {
                warn!(%error, "cannot discover the API server's resources");
                metrics.answer("failed");
                edit(reply::unavailable()).await;
                return;
            }
        };
        let turns = memory::load(self.store.as_ref(), &conversation)
            .await
            .unwrap_or_else(|error| {
                warn!(%error, "conversation memory unreadable; answering without it");
                Vec::new()
            });
        // Asked in a thread that was already there (not one opened under the question).
        let mentions_only = turns.last().map_or(m.thread.is_some(), |t| t.mentions_only);
        let text = self.redact.redact(m.text.trim());
        let question = Question {
            asker: m.user.name.clone().unwrap_or_else(|| m.user.id.clone()),
            text: text.clone(),
            memory: memory::recall(turns, self.answerer.config.memory_chars),
        };
        let outcome = tokio::time::timeout(
            self.answerer.config.answer_timeout,
            self.answerer.answer(&question, &actions),
        )
        .await;
        let answer = match outcome {
            Ok(Ok(a)) => a,
            Ok(Err(error)) => {
                warn!(%error, "question not answered");
                metrics.answer("failed");
                edit(reply::failed(Some(&error), self.redact.as_ref())).await;
                return;
            }
            Err(_) => {
                warn!("question not answered in time");
                metrics.answer("timeout");
                edit(reply::failed(None, self.redact.as_ref())).await;
                return;
            }
        };

        let mut body = self.redact.redact(&cite::strip_looked_at(&answer.text));
        if body.is_empty() {
            body = "(the model gave no answer text)".into();
        }
        let looked_at = answer.citations.line();
        let limits = self
            .outbound
            .platform(&m.platform)
            .map(|p| p.limits().clone())
            .unwrap_or_default();
        let mut buttons = Vec::new();
        for s in &answer.suggestions {
            let kept = suggestions::save(
                self.store.as_ref(),
                s,
                &m.user.identity(),
                &m.platform,
                &m.channel,
                answer_thread.as_ref(),
                self.clock.now(),
            )
            .await;
            buttons.push(match kept {
                Ok(id) => Some(self.codec.encode(PROPOSE, &id)),
                Err(error) => {
                    warn!(%error, "cannot keep a suggestion; it is shown without its button");
                    None
                }
            });
        }
        let offered: Vec<reply::Offered> = answer
            .suggestions
            .iter()
            .zip(&buttons)
            .map(|(suggestion, button)| reply::Offered {
                suggestion,
                button: button.as_deref(),
            })
            .collect();
        let messages = reply::answer_messages(&body, looked_at.as_deref(), &offered, &limits);
        for (i, message) in messages.into_iter().enumerate() {
            match i {
                0 => edit(message).await,
                i => {
                    let part = post(format!("{key}:part{}", i + 1), message);
                    self.outbound.post(part).await
                }
            }
        }
        metrics.answer("answered");

        let mut remembered = body;
        for s in &answer.suggestions {
            remembered += &format!(
                "\nSuggested (not run): {} {}",
                s.action,
                serde_json::Value::Object(s.params.clone())
            );
        }
        if let Some(line) = looked_at {
            remembered += &format!("\n{line}");
        }
        let turn = Turn {
            at: self.clock.now(),
            asker: m.user.identity(),
            question: text,
            answer: remembered,
            mentions_only,
        };
        if let Err(error) = memory::remember(self.store.as_ref(), &conversation, &turn).await {
            warn!(%error, "could not remember the turn; a follow-up starts afresh");
        }
    }

    fn lock(&self, conversation: &str) -> Arc<tokio::sync::Mutex<()>> {
        // A poisoned map only means a panic elsewhere mid-insert; the map itself is intact.
        let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        locks.retain(|_, l| Arc::strong_count(l) > 1);
        locks.entry(conversation.to_string()).or_default().clone()
    }

    async fn actions(&self) -> Result<ActionContext, kube::Error> {
        self.actions
            .get_or_try_init(|| async {
                let served = crate::cluster::discover(&self.kube).await?;
                Ok(ActionContext::new(
                    self.kube.clone(),
                    self.clock.clone(),
                    self.actions_config.clone(),
                    served,
                ))
            })
            .await
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledgements_are_not_questions() {
        for t in ["thanks!", "Thank you.", "ok", "👍", "  "] {
            assert!(is_small_talk(t), "{t}");
        }
        for t in ["ok, and why did it restart?", "what about the node?"] {
            assert!(!is_small_talk(t), "{t}");
        }
    }
}
