//! Limits and plumbing: timeouts, retries, budget, concurrency, the key, the environment.

use std::time::{Duration, Instant};

use lookout::llm::*;

use super::{Llm, ask, config, memory_store, redis_store};
use crate::fakes::openai::{API_KEY, AZURE_DEPLOYMENT, FakeOpenAi, Step};

/// Scheduling slack on a loaded 2-core machine.
const SLACK: Duration = Duration::from_millis(1500);

#[tokio::test]
async fn a_timeout_is_a_typed_error_within_the_configured_time() {
    let fake = FakeOpenAi::start().await;
    fake.script([Step::text("too late").after(Duration::from_secs(30))]);
    let llm = Llm::new(&LlmConfig {
        timeout: Duration::from_millis(500),
        max_retries: 0,
        ..config(&fake)
    });
    let started = Instant::now();
    let err = llm.client.chat(&ask("hello")).await.unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(err, LlmError::Timeout(d) if d == Duration::from_millis(500)),
        "{err}"
    );
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_millis(500) + SLACK,
        "{took:?}"
    );
    assert_eq!(fake.requests().len(), 1);
    assert!(
        llm.metrics()
            .contains(r#"lookout_llm_calls_total{outcome="timeout"} 1"#)
    );
}

#[tokio::test]
async fn a_timed_out_attempt_is_retried() {
    let fake = FakeOpenAi::start().await;
    fake.script([
        Step::text("too late").after(Duration::from_secs(30)),
        Step::text("on time"),
    ]);
    let llm = Llm::new(&LlmConfig {
        timeout: Duration::from_millis(500),
        max_retries: 1,
        ..config(&fake)
    });
    let started = Instant::now();
    let reply = llm.client.chat(&ask("hello")).await.unwrap();
    assert_eq!(reply.text(), Some("on time"));
    assert!(started.elapsed() < Duration::from_secs(1) + SLACK);
    assert_eq!(fake.requests().len(), 2);
    assert!(
        llm.metrics()
            .contains(r#"lookout_llm_errors_total{kind="timeout"} 1"#)
    );
}

#[tokio::test]
async fn a_429_is_retried_after_retry_after_and_then_succeeds() {
    let fake = FakeOpenAi::start().await;
    fake.script([
        Step::rate_limited(1),
        Step::server_error(),
        Step::text("fine"),
    ]);
    let llm = Llm::new(&config(&fake));
    let started = Instant::now();
    let reply = llm.client.chat(&ask("hello")).await.unwrap();
    assert_eq!(reply.text(), Some("fine"));
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert_eq!(fake.requests().len(), 3);
    let metrics = llm.metrics();
    for line in [
        r#"lookout_llm_calls_total{outcome="ok"} 1"#,
        r#"lookout_llm_errors_total{kind="rate_limited"} 1"#,
        r#"lookout_llm_errors_total{kind="server_error"} 1"#,
        "lookout_llm_latency_seconds_count 1",
    ] {
        assert!(metrics.contains(line), "{line}:\n{metrics}");
    }
}

#[tokio::test]
async fn repeated_429s_end_as_rate_limited_without_hanging() {
    let fake = FakeOpenAi::start().await;
    fake.script((0..3).map(|_| Step::rate_limited(0)));
    let llm = Llm::new(&config(&fake));
    let started = Instant::now();
    let err = llm.client.chat(&ask("hello")).await.unwrap_err();
    assert!(matches!(err, LlmError::RateLimited { .. }), "{err}");
    assert!(err.to_string().contains("Rate limit reached"), "{err}");
    assert_eq!(fake.requests().len(), 3, "1 + max_retries attempts");
    assert!(started.elapsed() < SLACK);

    // A server asking for an hour is not waited for.
    fake.script([Step::rate_limited(3600)]);
    let started = Instant::now();
    let err = llm.client.chat(&ask("hello")).await.unwrap_err();
    assert!(
        matches!(err, LlmError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(3600)),
        "{err}"
    );
    assert_eq!(fake.requests().len(), 4);
    assert!(started.elapsed() < SLACK);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let fake = FakeOpenAi::start().await;
    let llm = Llm::new(&LlmConfig {
        api_key: lookout::config::Secret::new("sk-wrong"),
        ..config(&fake)
    });
    let err = llm.client.chat(&ask("hello")).await.unwrap_err();
    assert!(
        matches!(&err, LlmError::Http { status: Some(401), message } if message.contains("Incorrect API key")),
        "{err}"
    );
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn an_unreachable_endpoint_fails_fast_as_http() {
    let port = crate::support::free_port();
    let llm = Llm::new(&LlmConfig {
        base_url: format!("http://127.0.0.1:{port}/v1"),
        model: "m".into(),
        max_retries: 1,
        ..LlmConfig::default()
    });
    let err = llm.client.chat(&ask("hello")).await.unwrap_err();
    assert!(matches!(err, LlmError::Http { status: None, .. }), "{err}");
    assert!(
        llm.metrics()
            .contains(r#"lookout_llm_errors_total{kind="connect"} 2"#)
    );
}

async fn budget_refuses_once_spent(llm: Llm, fake: &FakeOpenAi) {
    fake.script([Step::text("first"), Step::text("never sent")]);
    let reply = llm.client.chat(&ask("hello")).await.unwrap();
    assert_eq!(reply.usage.prompt_tokens, fake.requests()[0].prompt_tokens);
    assert_eq!(
        llm.client.tokens_used_today().await.unwrap(),
        reply.usage.total()
    );
    let err = llm.client.chat(&ask("again")).await.unwrap_err();
    assert!(
        matches!(err, LlmError::BudgetExhausted { used, budget: 10 } if used == reply.usage.total()),
        "{err}"
    );
    assert_eq!(
        fake.requests().len(),
        1,
        "no request once the budget is spent"
    );
    assert!(
        llm.metrics()
            .contains(r#"lookout_llm_calls_total{outcome="budget_exhausted"} 1"#)
    );
}

#[tokio::test]
async fn the_budget_refuses_calls_once_spent_in_memory() {
    let fake = FakeOpenAi::start().await;
    let cfg = LlmConfig {
        daily_token_budget: 10,
        ..config(&fake)
    };
    budget_refuses_once_spent(Llm::with_store(&cfg, memory_store()), &fake).await;
}

#[tokio::test]
async fn the_budget_refuses_calls_once_spent_in_redis_shared_by_replicas() {
    let fake = FakeOpenAi::start().await;
    let cfg = LlmConfig {
        daily_token_budget: 10,
        ..config(&fake)
    };
    let store = redis_store();
    budget_refuses_once_spent(Llm::with_store(&cfg, store.clone()), &fake).await;
    // A second replica on the same Redis sees the same spent budget.
    let replica = Llm::with_store(&cfg, store);
    let err = replica
        .client
        .chat(&ask("from the other replica"))
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::BudgetExhausted { .. }), "{err}");
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn concurrency_never_exceeds_the_limit() {
    let fake = FakeOpenAi::start().await;
    fake.script((0..6).map(|i| Step::text(format!("r{i}")).after(Duration::from_millis(300))));
    let llm = Llm::new(&LlmConfig {
        max_concurrency: 2,
        ..config(&fake)
    });
    let calls = (0..6).map(|i| {
        let client = llm.client.clone();
        async move { client.chat(&ask(&format!("q{i}"))).await }
    });
    let replies = futures::future::join_all(calls).await;
    assert!(replies.iter().all(Result::is_ok), "{replies:?}");
    assert_eq!(fake.requests().len(), 6);
    assert_eq!(fake.max_in_flight(), 2);
}

#[tokio::test]
async fn the_key_goes_in_the_authorization_header_and_nowhere_else() {
    let fake = FakeOpenAi::start().await;
    fake.script([Step::text("ok")]);
    let llm = Llm::new(&config(&fake));
    llm.client.chat(&ask("hello")).await.unwrap();
    let req = &fake.requests()[0];
    assert_eq!(req.path, "/v1/chat/completions");
    assert_eq!(req.query, None);
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {API_KEY}").as_str())
    );
    let elsewhere: Vec<&(String, String)> = req
        .headers
        .iter()
        .filter(|(n, v)| n != "authorization" && v.contains(API_KEY))
        .collect();
    assert!(elsewhere.is_empty(), "{elsewhere:?}");
    assert!(!req.raw_body.contains(API_KEY));
    assert_eq!(req.header("openai-organization"), None);
    assert_eq!(req.header("openai-project"), None);
    assert_eq!(req.body["model"], "gpt-fake");
}

#[tokio::test]
async fn azure_uses_its_deployment_path_and_api_key_header() {
    let fake = FakeOpenAi::start().await;
    fake.script([Step::text("from azure")]);
    let llm = Llm::new(&LlmConfig {
        base_url: fake.azure_url.clone(),
        provider: LlmProvider::Azure,
        azure: AzureSettings {
            deployment: AZURE_DEPLOYMENT.into(),
            api_version: "2024-10-21".into(),
        },
        ..config(&fake)
    });
    let reply = llm.client.chat(&ask("hello")).await.unwrap();
    assert_eq!(reply.text(), Some("from azure"));
    let req = &fake.requests()[0];
    assert_eq!(
        req.path,
        format!("/openai/deployments/{AZURE_DEPLOYMENT}/chat/completions")
    );
    assert_eq!(req.query.as_deref(), Some("api-version=2024-10-21"));
    assert_eq!(req.header("api-key"), Some(API_KEY));
    assert_eq!(req.header("authorization"), None);
}

/// Set by the parent for the child run of this same test.
const CHILD: &str = "LOOKOUT_TEST_LLM_ENV_CHILD";

/// In a child process whose `OPENAI_*` variables point at a second fake with junk keys,
/// the client still talks only to the configured server with the configured key.
#[tokio::test]
async fn openai_variables_are_never_read() {
    if let Ok(base_url) = std::env::var(CHILD) {
        // The child: configured explicitly, with junk in the environment.
        let llm = Llm::new(&LlmConfig {
            base_url,
            model: "gpt-fake".into(),
            api_key: lookout::config::Secret::new(API_KEY),
            max_retries: 0,
            ..LlmConfig::default()
        });
        let reply = llm.client.chat(&ask("hello")).await.unwrap();
        assert_eq!(reply.text(), Some("configured server"));
        return;
    }
    let fake = FakeOpenAi::start().await;
    let decoy = FakeOpenAi::start().await;
    fake.script([Step::text("configured server")]);
    decoy.script([Step::text("decoy")]);
    let output = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["llm::client::openai_variables_are_never_read", "--exact"])
        .env(CHILD, &fake.base_url)
        .env("OPENAI_API_KEY", "sk-junk-from-the-environment")
        .env("OPENAI_ADMIN_KEY", "sk-admin-junk")
        .env("OPENAI_BASE_URL", &decoy.base_url)
        .env("OPENAI_ORG_ID", "org-junk")
        .env("OPENAI_PROJECT_ID", "proj-junk")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(decoy.requests().is_empty(), "the decoy was called");
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].header("authorization"),
        Some(format!("Bearer {API_KEY}").as_str())
    );
    assert_eq!(reqs[0].header("openai-organization"), None);
    assert_eq!(reqs[0].header("openai-project"), None);
    assert!(!reqs[0].raw_body.contains("junk"));
}
