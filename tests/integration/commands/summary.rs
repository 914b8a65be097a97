//! A digest's optional summary paragraph from the (fake) model: written on top of the figures,
//! from redacted figures only; a failing model leaves the digest complete without it.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use lookout::chat::outbound::{ChatMetrics, Outbound};
use lookout::chat::redact::Redact;
use lookout::clock::SystemClock;
use lookout::config::Secret;
use lookout::correlate::Severity;
use lookout::digest::{Digester, LlmSummary};
use lookout::llm::{LlmClient, LlmConfig, Prompts};
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use super::rig::{incident, seed};
use crate::chat::conformance::memory_store;
use crate::fakes::openai::{API_KEY, FakeOpenAi, Step};

/// Hides the planted secret, to show the figures are redacted before the model sees them.
struct Mask;
impl Redact for Mask {
    fn redact(&self, text: &str) -> String {
        text.replace("hunter2", "[REDACTED]")
    }
}

#[tokio::test]
async fn the_model_writes_a_paragraph_from_redacted_figures() {
    lookout::install_crypto_provider();
    let fake = FakeOpenAi::start().await;
    let config = LlmConfig {
        base_url: fake.base_url.clone(),
        model: "gpt-fake".into(),
        api_key: Secret::new(API_KEY),
        timeout: Duration::from_secs(5),
        max_retries: 0,
        ..LlmConfig::default()
    };
    let store = memory_store();
    let now = Utc::now();
    let mut leaky = incident(
        1,
        "shop",
        "web",
        Severity::Critical,
        now - chrono::Duration::hours(1),
    );
    leaky.title = "Deployment shop/web: DB_PASSWORD=hunter2 rejected".into();
    seed(&store, &[leaky]).await;
    let llm = LlmClient::new(
        &config,
        store.clone(),
        SystemClock::shared(),
        &mut Registry::default(),
    )
    .expect("llm client");
    let digester = Digester {
        cluster: "prod".into(),
        store: store.clone(),
        clock: SystemClock::shared(),
        outbound: Outbound::new(
            store.clone(),
            SystemClock::shared(),
            vec![],
            ChatMetrics::unregistered(),
            CancellationToken::new(),
        ),
        view: None,
        redact: Arc::new(Mask),
        summarize: Some(Arc::new(LlmSummary {
            llm,
            prompts: Arc::new(Prompts::load(&config).expect("prompts")),
            redact: Arc::new(Mask),
        })),
        digests: vec![],
    };
    let from = now - chrono::Duration::hours(24);
    fake.script([Step::text(
        "One critical incident is open on shop/web.\n\nA second paragraph is dropped.",
    )]);
    let text = digester.build(from, now, true).await.to_plain();
    let summary = text
        .find("One critical incident is open on shop/web.")
        .expect("summary");
    assert!(
        summary < text.find("Open incidents: 1").unwrap(),
        "on top: {text}"
    );
    assert!(!text.contains("second paragraph"), "one paragraph: {text}");
    assert!(!text.contains("hunter2"), "{text}");

    let sent = fake.requests();
    assert_eq!(sent.len(), 1);
    assert!(
        !sent[0].raw_body.contains("hunter2"),
        "{}",
        sent[0].raw_body
    );
    let user = sent[0].content(1);
    assert!(
        user.contains("Open incidents: 1"),
        "the figures are the input: {user}"
    );
    assert!(user.contains("[REDACTED]"), "{user}");

    // Without `llm_summary` the model is not asked; when it fails, the digest goes without.
    digester.build(from, now, false).await;
    assert_eq!(fake.requests().len(), 1);
    fake.script([Step::server_error()]);
    let text = digester.build(from, now, true).await.to_plain();
    assert!(text.contains("Open incidents: 1"), "{text}");
    assert!(!text.contains("One critical incident"), "{text}");
}
