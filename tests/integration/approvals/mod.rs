//! The approval loop's edge cases, end to end (real API server + simulated kubelet + real
//! Redis + fake Slack, and the fake model where the agentic path is exercised): who may click,
//! clicks that race, expiry, a target changed before execution, the pause switch, a model that
//! proposes what it must not, and a kill -9 mid-approval.

mod agentic;
mod clicks;
mod lifecycle;
mod restart;

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use lookout::config::Config;
use lookout::store::SharedStore;
use serde_json::{Value, json};

use crate::approval_loop::{approval_in, break_it, card_of, loop_config};
use crate::fakes::openai::{API_KEY, FakeOpenAi};
use crate::fakes::slack::{ALERTS, FakeSlack, Stored};
use crate::pipeline::Bot;
use crate::sim::{SimTest, deployment};
use crate::support::eventually;

pub use crate::approval_loop::{ALICE, BOB, WAIT, button, memory_limit};

pub const MALLORY: &str = "UMALLORY";

/// A broken Deployment `checkout`, the bot watching it, fake Slack.
pub struct Rig {
    pub fake: FakeSlack,
    pub t: SimTest,
    pub bot: Bot,
    /// What the bot was started with (a second process starts with the same).
    pub config: Config,
    /// `<namespace>/checkout`.
    pub name: String,
}

impl Rig {
    /// The bot configured by `loop_config` then `adjust`, and the OOM fault.
    pub async fn start(adjust: impl FnOnce(&mut Config, &SimTest)) -> Self {
        Self::start_with_logs(adjust, "").await
    }

    /// The same, the app printing `logs` before it is OOM-killed.
    pub async fn start_with_logs(adjust: impl FnOnce(&mut Config, &SimTest), logs: &str) -> Self {
        lookout::install_crypto_provider();
        let fake = FakeSlack::start().await;
        let t = SimTest::start(2).await;
        let mut config = loop_config(&t, &fake);
        adjust(&mut config, &t);
        let bot = Bot::start(config.clone()).await;
        if logs.is_empty() {
            break_it(&t, "checkout").await;
        } else {
            t.create::<Deployment>(deployment(
                "checkout",
                1,
                json!({"resources": {"limits": {"memory": "64Mi"}, "requests": {"memory": "64Mi"}}}),
                json!({"sim.lookout.dev/memory-need": "100Mi", "sim.lookout.dev/logs": logs}),
            ))
            .await;
        }
        let name = format!("{}/checkout", t.ns.name);
        Self {
            fake,
            t,
            bot,
            config,
            name,
        }
    }

    pub async fn card(&self) -> Stored {
        eventually(WAIT, "the card", || async {
            card_of(&self.fake, &self.name)
        })
        .await
    }

    /// The first approval request in the card's thread.
    pub async fn approval(&self, card: &Stored) -> Stored {
        eventually(WAIT, "the approval request", || async {
            approval_in(&self.fake, card)
        })
        .await
    }

    /// Approval requests in the thread, asked or decided (their badge reads `A-<n> <risk>`
    /// or `A-<n> <verdict>`), oldest first.
    pub fn approvals(&self, card: &Stored) -> Vec<Stored> {
        let badge = regex::Regex::new(r"\bA-\d+ (LOW|MEDIUM|HIGH|APPROVED|REJECTED|EXPIRED)\b")
            .expect("regex");
        self.fake
            .bot_messages(ALERTS)
            .into_iter()
            .filter(|m| m.thread() == Some(card.ts.as_str()) && badge.is_match(&m.readable()))
            .collect()
    }

    /// The `n`th (1-based) approval request, once posted.
    pub async fn nth_approval(&self, card: &Stored, n: usize) -> Stored {
        eventually(WAIT, &format!("approval request #{n}"), || async {
            self.approvals(card).into_iter().nth(n - 1)
        })
        .await
    }

    /// The current text of a message.
    pub fn text(&self, ts: &str) -> String {
        self.fake
            .message(ALERTS, ts)
            .map(|m| m.readable())
            .unwrap_or_default()
    }

    /// Waits until message `ts` reads `part`.
    pub async fn until_reads(&self, ts: &str, part: &str) -> String {
        eventually(WAIT, &format!("a message reading {part:?}"), || async {
            let t = self.text(ts);
            t.contains(part).then_some(t)
        })
        .await
    }

    /// Private (ephemeral) notes `user` got, once there are at least `n`.
    pub async fn private_notes(&self, user: &str, n: usize) -> Vec<String> {
        eventually(WAIT, &format!("{n} private note(s) for {user}"), || async {
            let notes: Vec<String> = self
                .fake
                .ephemeral_for(user)
                .into_iter()
                .map(|e| e.text)
                .collect();
            (notes.len() >= n).then_some(notes)
        })
        .await
    }

    pub async fn stop(self) {
        self.bot.stop().await;
        self.t.stop().await;
    }
}

/// Points the bot at the fake model.
pub fn use_model(config: &mut Config, llm: &FakeOpenAi) {
    config.llm.base_url = llm.base_url.clone();
    config.llm.model = "gpt-fake".into();
    config.llm.api_key = lookout::config::Secret::new(API_KEY);
    config.llm.timeout = Duration::from_secs(20);
    config.llm.max_retries = 0;
}

/// Audit entries of one kind, oldest first.
pub async fn audited(store: &SharedStore, kind: &str) -> Vec<Value> {
    store
        .audit_tail(10_000)
        .await
        .expect("audit stream")
        .into_iter()
        .filter_map(|e| serde_json::from_str::<Value>(&e.json).ok())
        .filter(|v| v["kind"] == kind)
        .collect()
}
