//! The LLM client against a fake OpenAI-compatible server (`fakes::openai`): what Lookout sends
//! (asserted from the fake's request log), what it accepts back, and its limits — timeouts,
//! retries, the daily budget on memory and on the real Redis, concurrency, where the key goes,
//! and that `OPENAI_*` variables are never read. Plus the token economy of an OOM
//! investigation, measured from the log.

mod client;
mod economy;
mod tools;

use std::sync::Arc;
use std::time::Duration;

use lookout::clock::SystemClock;
use lookout::config::{RedisConfig, Secret, SecretUrl};
use lookout::llm::*;
use lookout::store::{MemoryStore, RedisStore, RedisStoreOptions, Retention, SharedStore};
use prometheus_client::registry::Registry;

use crate::fakes::openai::{API_KEY, FakeOpenAi};
use crate::support::{env, unique};

/// A config for the fake: short timeout so failures are quick, retries on.
fn config(fake: &FakeOpenAi) -> LlmConfig {
    LlmConfig {
        base_url: fake.base_url.clone(),
        model: "gpt-fake".into(),
        api_key: Secret::new(API_KEY),
        timeout: Duration::from_secs(5),
        max_retries: 2,
        ..LlmConfig::default()
    }
}

fn retention() -> Retention {
    Retention {
        records: Duration::from_secs(3600),
        conversation_ttl: Duration::from_secs(3600),
        conversation_max_turns: 10,
        audit_max_len: 100,
    }
}

fn memory_store() -> SharedStore {
    Arc::new(MemoryStore::new(SystemClock::shared(), retention()))
}

/// The shared test Redis, under a cluster prefix of this test's own.
fn redis_store() -> SharedStore {
    Arc::new(
        RedisStore::new(
            RedisStoreOptions {
                redis: RedisConfig {
                    url: SecretUrl::new(env().redis_url()),
                    ..RedisConfig::default()
                },
                cluster: unique("llm"),
                retention: retention(),
            },
            &mut Registry::default(),
        )
        .expect("redis store"),
    )
}

struct Llm {
    client: LlmClient,
    registry: Registry,
}

impl Llm {
    fn new(config: &LlmConfig) -> Self {
        Self::with_store(config, memory_store())
    }

    fn with_store(config: &LlmConfig, store: SharedStore) -> Self {
        lookout::install_crypto_provider();
        let mut registry = Registry::default();
        let client = LlmClient::new(config, store, SystemClock::shared(), &mut registry)
            .expect("llm client");
        Self { client, registry }
    }

    fn metrics(&self) -> String {
        lookout::metrics::encode(&self.registry)
    }
}

/// A one-message request without tools.
fn ask(text: &str) -> ChatRequest {
    ChatRequest {
        purpose: "test",
        system: "You are a test.".into(),
        messages: vec![Message::user(text)],
        ..ChatRequest::default()
    }
}
