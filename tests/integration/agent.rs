//! The agent layer end to end against the real cluster: given an OOM incident, build a redacted
//! context, investigate with the model (scripted fake) through five real read-only tools, get a
//! validated diagnosis and proposed action — and, from the model or from a runbook, dry-run it,
//! execute it, verify the pods healthy, and roll it back. Asserts on what was SENT to the model:
//! the evidence is there, the planted secrets are not, and the prompt tokens stay under 30,000.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use lookout::actions::{ActionContext, ActionsConfig, Registry};
use lookout::agent::diagnosis::Source;
use lookout::agent::{Investigation, Investigator};
use lookout::clock::SystemClock;
use lookout::context::{ContextBuilder, ContextConfig};
use lookout::incident::{Incident, IncidentEventKind};
use lookout::llm::{LlmClient, LlmConfig, Prompts};
use lookout::redact::{RedactionConfig, Redactor};
use serde_json::json;

use crate::chat::conformance::memory_store;
use crate::fakes::openai::{API_KEY, FakeOpenAi, Step};
use crate::pipeline::{Bot, bot_config};
use crate::sim::{SimTest, deployment};
use crate::support::{admin_client, eventually, unique};

const SECRET: &str = "hunter2-9f8e7d6c5b4a";
const AWS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";

/// An OOM-crash-looping Deployment whose logs leak secrets, and the bot's incident for it.
async fn oom_incident(t: &SimTest) -> Incident {
    let logs = format!(
        "starting checkout\nconnecting with DB_PASSWORD={SECRET}\naws_access_key_id={AWS_KEY}\nloading catalog into memory"
    );
    t.create::<Deployment>(deployment(
        "checkout",
        1,
        json!({"resources": {"limits": {"memory": "64Mi"}, "requests": {"memory": "64Mi"}}}),
        json!({"sim.lookout.dev/memory-need": "100Mi", "sim.lookout.dev/logs": logs}),
    ))
    .await;
    let mut bot = Bot::start(bot_config(&t.ns.name, &unique("agent"))).await;
    let created = bot
        .next("the OOM incident", |e| {
            e.kind == IncidentEventKind::Created && e.incident.primary.name == "checkout"
        })
        .await;
    bot.stop().await;
    (*created.incident).clone()
}

async fn action_context() -> ActionContext {
    let client = admin_client().await;
    let served = lookout::cluster::discover(&client)
        .await
        .expect("discovery");
    ActionContext::new(
        client,
        SystemClock::shared(),
        ActionsConfig::default(),
        served,
    )
}

fn registry() -> Arc<Registry> {
    let mut r = Registry::new(&mut prometheus_client::registry::Registry::default());
    lookout::actions::catalogue::register_all(&mut r);
    Arc::new(r)
}

async fn investigator(llm: Option<LlmClient>, actions: ActionContext) -> Investigator {
    Investigator {
        llm,
        prompts: Arc::new(Prompts::from_dir(None).expect("prompts")),
        redactor: Arc::new(Redactor::new(&RedactionConfig::default()).expect("redactor")),
        context: ContextBuilder::new(actions.client.clone(), ContextConfig::default()),
        registry: registry(),
        actions,
        cluster: "agent-test".into(),
        max_tool_calls: 5,
    }
}

fn llm_for(fake: &FakeOpenAi) -> LlmClient {
    LlmClient::new(
        &LlmConfig {
            base_url: fake.base_url.clone(),
            model: "gpt-fake".into(),
            api_key: lookout::config::Secret::new(API_KEY),
            timeout: Duration::from_secs(10),
            max_retries: 1,
            ..LlmConfig::default()
        },
        memory_store(),
        SystemClock::shared(),
        &mut prometheus_client::registry::Registry::default(),
    )
    .expect("llm client")
}

/// Plans, executes, verifies and rolls back an action, checking the cluster at each step.
async fn full_cycle(t: &SimTest, actions: &ActionContext, name: &str, params: serde_json::Value) {
    let registry = registry();
    let action = registry.get(name).expect("a registered action");
    let plan = action.plan(actions, &params).await.expect("plan");
    assert!(
        plan.diff.contains("64Mi") && plan.diff.contains("128Mi"),
        "diff: {}",
        plan.diff
    );
    let limit = |d: &Deployment| {
        d.spec.template.spec.as_ref().unwrap().containers[0]
            .resources
            .as_ref()
            .unwrap()
            .limits
            .as_ref()
            .unwrap()["memory"]
            .0
            .clone()
    };
    let api = t.api::<Deployment>();
    assert_eq!(
        limit(&api.get("checkout").await.unwrap()),
        "64Mi",
        "a dry-run changes nothing"
    );
    let execution = action.execute(actions, &plan).await.expect("execute");
    assert_eq!(limit(&api.get("checkout").await.unwrap()), "128Mi");
    assert!(action.landed(actions, &plan).await.unwrap());
    action
        .verify(actions, &plan, &execution)
        .await
        .expect("healthy again");
    let pods = t.api::<Pod>();
    let ready = pods
        .list(&ListParams::default().labels("app=checkout"))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|p| {
            p.metadata.deletion_timestamp.is_none()
                && p.status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        })
        .count();
    assert!(ready >= 1, "pods run with the new limit");
    action.rollback(actions, &plan).await.expect("rollback");
    eventually(Duration::from_secs(30), "the limit restored", || async {
        (limit(&api.get("checkout").await.ok()?) == "64Mi").then_some(())
    })
    .await;
}

#[tokio::test]
async fn the_model_investigates_with_real_tools_and_its_proposal_is_executed_and_rolled_back() {
    let t = SimTest::start(2).await;
    let incident = oom_incident(&t).await;
    let ns = t.ns.name.clone();
    let pod = t
        .pods("checkout")
        .await
        .into_iter()
        .next()
        .expect("a pod")
        .metadata
        .name
        .unwrap();

    let fake = FakeOpenAi::start().await;
    let analysis = json!({
        "root_cause": "The checkout container needs about 100Mi but is limited to 64Mi, so the kernel OOM-kills it.",
        "confidence": 0.9,
        "evidence": ["OOMKilled, exit code 137", "memory limit 64Mi"],
        "recommendations": ["raise the memory limit"],
        "suggested_actions": [{"action": "deployment_adjust_resources",
            "params": {"namespace": ns, "name": "checkout", "container": "app", "memory_limit": "128Mi"},
            "reason": "give the container the memory it needs"}]
    });
    fake.script([
        Step::tool_call(
            "describe",
            json!({"kind": "Deployment", "namespace": ns, "name": "checkout"}),
        ),
        Step::tool_call(
            "logs",
            json!({"namespace": ns, "pod": pod, "previous": true}),
        ),
        Step::tool_call(
            "events",
            json!({"namespace": ns, "kind": "Pod", "name": pod}),
        ),
        Step::tool_call("get", json!({"kind": "Pod", "namespace": ns, "name": pod})),
        Step::tool_call(
            "list",
            json!({"kind": "Pod", "namespace": ns, "label_selector": "app=checkout"}),
        ),
        Step::text(format!("```json\n{analysis}\n```")),
    ]);
    let actions = action_context().await;
    let agent = investigator(Some(llm_for(&fake)), actions.clone()).await;
    let Investigation {
        diagnosis,
        tool_calls,
        prompt_tokens,
        fallback,
        ..
    } = agent.investigate(&incident).await;
    assert_eq!(fallback, None);
    assert_eq!(tool_calls, 5);
    assert!(matches!(diagnosis.source, Source::Model { .. }));
    let proposal = &diagnosis.analysis.suggested_actions[0];
    assert_eq!(proposal.action, "deployment.adjust_resources");

    // What was sent: the evidence, never the secrets; under the token target.
    let requests = fake.requests();
    assert_eq!(requests.len(), 6);
    let sent: String = requests.iter().map(|r| r.raw_body.as_str()).collect();
    for evidence in ["OOMKilled", "137", "64Mi", "loading catalog into memory"] {
        assert!(sent.contains(evidence), "the model was shown {evidence}");
    }
    for secret in [SECRET, AWS_KEY] {
        assert!(
            !sent.contains(secret),
            "a secret reached the model: {secret}"
        );
    }
    let total = fake.prompt_tokens();
    println!(
        "token economy: 5 tool calls + diagnosis = {total} prompt tokens (client counted {prompt_tokens})"
    );
    assert!(total <= 30_000, "{total} prompt tokens");
    // Only read-only tools were offered as calls.
    for r in &requests {
        assert!(
            r.tool_names()
                .iter()
                .all(|n| ["get", "describe", "logs", "events", "list"].contains(&n.as_str())),
            "{:?}",
            r.tool_names()
        );
    }

    full_cycle(&t, &actions, &proposal.action, proposal.params.clone()).await;
    t.stop().await;
}

#[tokio::test]
async fn without_a_model_the_runbook_and_the_rules_drive_the_same_cycle() {
    let t = SimTest::start(2).await;
    let incident = oom_incident(&t).await;
    let actions = action_context().await;
    let agent = investigator(None, actions.clone()).await;
    let i = agent.investigate(&incident).await;
    assert_eq!(i.diagnosis.source, Source::Rules);
    assert!(
        i.diagnosis.analysis.root_cause.contains("OOM-killed"),
        "{}",
        i.diagnosis.analysis.root_cause
    );
    assert!(i.context.contains("OOMKilled"));
    assert!(!i.context.contains(SECRET), "the context shown is redacted");

    let books = lookout::runbook::load(None).unwrap();
    let m = lookout::runbook::select(&books, &incident, &Default::default(), chrono::Utc::now())
        .expect("the OOM runbook applies");
    assert_eq!(m.runbook.name, "oom-raise-memory");
    let steps = lookout::runbook::instantiate(m.runbook, &incident, m.signal).unwrap();
    assert_eq!(steps[0].params["memory_limit"], "128Mi");
    full_cycle(&t, &actions, &steps[0].action, steps[0].params.clone()).await;
    t.stop().await;
}

#[tokio::test]
async fn unusable_model_answers_fall_back_and_never_act() {
    let t = SimTest::start(1).await;
    let incident = oom_incident(&t).await;
    let fake = FakeOpenAi::start().await;
    fake.script([
        // An unknown tool, malformed arguments, then prose instead of JSON.
        Step::tool_call("delete_namespace", json!({"namespace": "kube-system"})),
        Step::raw_tool_call("logs", "{not json"),
        Step::text("The pod is unhappy. You should probably kubectl delete it."),
    ]);
    let agent = investigator(Some(llm_for(&fake)), action_context().await).await;
    let i = agent.investigate(&incident).await;
    assert_eq!(i.diagnosis.source, Source::Rules);
    assert!(i.fallback.unwrap().contains("unusable answer"));
    let requests = fake.requests();
    let sent: String = requests.iter().map(|r| r.raw_body.as_str()).collect();
    assert!(
        sent.contains("unknown tool"),
        "the refusal went back to the model"
    );
    // A suggested action outside the catalogue or the incident is refused too.
    fake.script([Step::text(
        json!({"root_cause": "x", "confidence": 0.5,
               "suggested_actions": [{"action": "node_drain", "params": {"name": "n1"}, "reason": "why not"}]})
        .to_string(),
    )]);
    let i = agent.investigate(&incident).await;
    assert_eq!(i.diagnosis.source, Source::Rules);
    assert!(i.fallback.unwrap().contains("invalid analysis"));
    t.stop().await;
}
