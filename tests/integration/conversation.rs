//! Asking the bot, end to end: the whole bot in-process with fake Slack (Socket Mode), the fake
//! model scripted with tool calls, and the real test cluster with the simulated kubelet. A
//! question is answered in its thread through real read-only tools and cites what it looked at;
//! a follow-up without a mention carries the first turn; secrets planted in pod logs never reach
//! the model; a model asking for a change is refused, its suggestion is shown (with a Propose
//! button, nothing run) and the cluster is unchanged; a person over their limit is politely refused; in a thread that was
//! already there only mentions continue; a long answer continues in parts; without a model a
//! question gets the commands.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use lookout::chat::slack::SlackMode;
use lookout::config::{Config, Secret};
use serde_json::json;

use crate::chat::slack::config_for;
use crate::fakes::openai::{API_KEY, FakeOpenAi, Step};
use crate::fakes::slack::{ALERTS, FakeSlack, Stored};
use crate::pipeline::{Bot, bot_config};
use crate::sim::{SimTest, deployment};
use crate::support::{eventually, unique};

const WAIT: Duration = Duration::from_secs(60);
const SECRET: &str = "hunter2-9f8e7d6c5b4a";
const AWS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";

/// The bot on fake Slack, with the fake model when given; remediation off, so the only calls
/// to the model are the conversations'.
fn config(fake: &FakeSlack, model: Option<&FakeOpenAi>, namespace: &str) -> Config {
    lookout::install_crypto_provider();
    let mut c = bot_config(namespace, &unique("conv"));
    c.platforms.slack = config_for(fake, SlackMode::Socket);
    c.routing = serde_yaml_ng::from_str(&format!("- to: [ \"slack:{ALERTS}\" ]\n")).unwrap();
    c.remediation.enabled = false;
    if let Some(model) = model {
        use_model(&mut c, model);
    }
    c
}

/// Points the bot's language model at the fake.
pub fn use_model(c: &mut Config, model: &FakeOpenAi) {
    c.llm.base_url = model.base_url.clone();
    c.llm.model = "gpt-fake".into();
    c.llm.api_key = Secret::new(API_KEY);
    c.llm.timeout = Duration::from_secs(20);
    c.llm.max_retries = 1;
}

/// The bot's message in `thread` whose text has `needle`.
async fn in_thread(fake: &FakeSlack, thread: &str, needle: &str) -> Stored {
    eventually(WAIT, &format!("`{needle}` in the thread"), || async {
        fake.bot_messages(ALERTS)
            .into_iter()
            .find(|m| m.thread() == Some(thread) && m.readable().contains(needle))
    })
    .await
}

#[tokio::test]
async fn a_question_is_answered_from_read_only_tools_and_a_follow_up_keeps_the_context() {
    let slack = FakeSlack::start().await;
    let model = FakeOpenAi::start().await;
    let t = SimTest::start(1).await;
    let ns = t.ns.name.clone();
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
    let pod = t
        .pod_where("checkout", "a restarted pod", |p| {
            crate::sim::status(p).is_some_and(|s| s.restart_count >= 1)
        })
        .await
        .metadata
        .name
        .unwrap();
    let bot = Bot::start(config(&slack, Some(&model), &ns)).await;
    slack.wait_connects(1).await;

    model.script([
        Step::tool_call(
            "describe",
            json!({"kind": "Pod", "namespace": ns, "name": pod}),
        ),
        Step::tool_call(
            "logs",
            json!({"namespace": ns, "pod": pod, "previous": true}),
        ),
        Step::text("checkout runs out of memory: it needs about 100Mi and is limited to 64Mi."),
    ]);
    let question = "why is checkout restarting?";
    let asked = std::time::Instant::now();
    let ts = slack.mention(ALERTS, None, "U0ALICE", question).await;
    let answer = in_thread(&slack, &ts, "runs out of memory").await;
    println!(
        "grounded answer: 2 tool calls, {} prompt tokens, posted {:?} after the mention",
        model.prompt_tokens(),
        asked.elapsed()
    );
    let text = answer.readable();
    assert!(
        text.contains(&format!(
            "Looked at: Pod {ns}/{pod}, logs of pod {ns}/{pod} (previous)"
        )),
        "{text}"
    );
    assert!(text.contains("event reasons:"), "{text}");
    assert!(answer.edits >= 1, "\"Looking into it…\" was replaced");

    let first = model.requests();
    assert_eq!(first.len(), 3, "two tool calls, then the answer");
    let sent: String = first.iter().map(|r| r.raw_body.as_str()).collect();
    assert!(sent.contains(question), "the question reached the model");
    assert!(
        sent.contains("loading catalog into memory"),
        "the logs reached the model"
    );
    assert!(sent.contains("OOMKilled"), "the pod's description too");
    for secret in [SECRET, AWS_KEY] {
        assert!(
            !sent.contains(secret),
            "a secret reached the model: {secret}"
        );
    }
    for r in &first {
        let tools = r.tool_names();
        assert!(
            !tools.iter().any(|n| n.starts_with("deployment_")),
            "{tools:?}"
        );
    }

    // A follow-up in the thread, without a mention: the model gets the first turn with it.
    model.script([Step::text("Its memory limit is 64Mi.")]);
    slack
        .reply(ALERTS, &ts, "U0ALICE", "what is its memory limit?")
        .await;
    in_thread(&slack, &ts, "Its memory limit is 64Mi.").await;
    let requests = model.requests();
    assert_eq!(requests.len(), 4);
    let follow_up = &requests[3].raw_body;
    assert!(follow_up.contains(question), "{follow_up}");
    assert!(follow_up.contains("runs out of memory"), "{follow_up}");
    assert!(follow_up.contains("what is its memory limit?"));
    assert!(!follow_up.contains(SECRET) && !follow_up.contains(AWS_KEY));
    // "thanks" in the thread is talk between people: no model call, no answer.
    slack.reply(ALERTS, &ts, "U0ALICE", "thanks!").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(model.requests().len(), 4);
    bot.stop().await;
    t.stop().await;
}

#[tokio::test]
async fn a_model_asking_for_a_change_is_refused_and_the_cluster_is_unchanged() {
    let slack = FakeSlack::start().await;
    let model = FakeOpenAi::start().await;
    let t = SimTest::start(1).await;
    let ns = t.ns.name.clone();
    t.create::<Deployment>(deployment("web", 2, json!({}), json!({})))
        .await;
    let bot = Bot::start(config(&slack, Some(&model), &ns)).await;
    slack.wait_connects(1).await;

    model.script([
        Step::tool_call(
            "deployment_scale",
            json!({"namespace": ns, "name": "web", "replicas": 0}),
        ),
        Step::tool_call("kubectl_exec", json!({"command": "rm -rf /"})),
        Step::tool_call(
            "suggest_action",
            json!({"action": "deployment_scale", "reason": "more capacity for the sale",
                   "params": {"namespace": ns, "name": "web", "replicas": 3}}),
        ),
        Step::text("I cannot change the cluster from here."),
    ]);
    let ts = slack
        .mention(ALERTS, None, "U0BOB", "please scale web to zero")
        .await;
    let answered = in_thread(&slack, &ts, "I cannot change the cluster from here.").await;
    let answer = answered.readable();
    // The suggestion is shown with its exact parameters, never run; only its Propose button
    // could ask for it (through an approval; see `conversation_propose`).
    assert!(
        answer.contains("Suggested change (not run): deployment.scale"),
        "{answer}"
    );
    assert!(answer.contains(r#""replicas":3"#), "{answer}");
    assert!(answer.contains("nothing above was run"), "{answer}");
    let buttons = answered.buttons();
    assert_eq!(buttons.len(), 1, "{buttons:?}");
    assert_eq!(buttons[0].0, "Propose deployment.scale");

    let requests = model.requests();
    assert_eq!(requests.len(), 4);
    assert!(
        !requests[0]
            .tool_names()
            .contains(&"deployment_scale".to_string()),
        "a change is never offered"
    );
    let told = &requests[1].raw_body;
    assert!(told.contains("refused and nothing was run"), "{told}");
    let told = &requests[2].raw_body;
    assert!(told.contains("unknown tool"), "{told}");
    let told = &requests[3].raw_body;
    assert!(
        told.contains("shown under your answer as a suggestion, not run"),
        "{told}"
    );
    let web = t.api::<Deployment>().get("web").await.unwrap();
    assert_eq!(web.spec.replicas, Some(2), "nothing was scaled");
    assert_eq!(web.metadata.generation, Some(1), "nothing was changed");
    bot.stop().await;
    t.stop().await;
}

#[tokio::test]
async fn a_person_over_their_limit_is_refused_politely() {
    let slack = FakeSlack::start().await;
    let model = FakeOpenAi::start().await;
    let mut c = config(&slack, Some(&model), &unique("conv-limit"));
    c.conversations.per_user.max = 1;
    let bot = Bot::start(c).await;
    slack.wait_connects(1).await;

    model.script([Step::text("All quiet.")]);
    let first = slack
        .mention(ALERTS, None, "U0CAROL", "anything wrong?")
        .await;
    in_thread(&slack, &first, "All quiet.").await;
    let second = slack.mention(ALERTS, None, "U0CAROL", "and now?").await;
    let refusal = in_thread(&slack, &second, "Sorry").await.readable();
    assert!(
        refusal.contains("1 answer a person gets per hour"),
        "{refusal}"
    );
    assert!(refusal.contains("try again in"), "{refusal}");
    assert_eq!(
        model.requests().len(),
        1,
        "the refused question cost nothing"
    );
    // Commands are not limited.
    let help = slack.mention(ALERTS, None, "U0CAROL", "help").await;
    in_thread(&slack, &help, "incidents").await;
    bot.stop().await;
}

#[tokio::test]
async fn without_a_model_a_question_gets_the_commands_and_a_pointer() {
    let slack = FakeSlack::start().await;
    let bot = Bot::start(config(&slack, None, &unique("conv-nollm"))).await;
    slack.wait_connects(1).await;
    let ts = slack
        .mention(ALERTS, None, "U0DAVE", "why is checkout down?")
        .await;
    let text = in_thread(&slack, &ts, "cannot answer questions")
        .await
        .readable();
    assert!(text.contains("llm.base_url"), "{text}");
    assert!(text.contains("help"), "the commands are listed: {text}");
    bot.stop().await;
}

#[tokio::test]
async fn in_a_thread_that_was_already_there_only_mentions_continue_the_conversation() {
    let slack = FakeSlack::start().await;
    let model = FakeOpenAi::start().await;
    let bot = Bot::start(config(&slack, Some(&model), &unique("conv-thread"))).await;
    slack.wait_connects(1).await;
    // A thread that is no conversation: the one under a command.
    let parent = slack.mention(ALERTS, None, "U0ERIN", "help").await;
    in_thread(&slack, &parent, "incidents").await;

    model.script([Step::text("Nothing is down.")]);
    slack
        .mention(ALERTS, Some(&parent), "U0ERIN", "is anything down?")
        .await;
    in_thread(&slack, &parent, "Nothing is down.").await;
    // People talking in that thread are not answered...
    slack
        .reply(ALERTS, &parent, "U0FRANK", "I restarted the cache earlier")
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(model.requests().len(), 1);
    // ...a mention there continues the conversation, with its context.
    model.script([Step::text("The nodes are fine.")]);
    slack
        .mention(ALERTS, Some(&parent), "U0ERIN", "and the nodes?")
        .await;
    in_thread(&slack, &parent, "The nodes are fine.").await;
    let requests = model.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[1].raw_body.contains("is anything down?"));
    assert!(!requests[1].raw_body.contains("restarted the cache"));
    bot.stop().await;
}

#[tokio::test]
async fn an_answer_longer_than_slack_allows_continues_in_the_thread_in_parts() {
    let slack = FakeSlack::start().await;
    let model = FakeOpenAi::start().await;
    let bot = Bot::start(config(&slack, Some(&model), &unique("conv-long"))).await;
    slack.wait_connects(1).await;
    // 60 paragraphs: more blocks than one Slack message may carry.
    let paragraphs: Vec<String> = (1..=60)
        .map(|i| format!("Paragraph {i}: {}", "the pods are fine. ".repeat(8)))
        .collect();
    model.script([Step::text(paragraphs.join("\n\n"))]);
    let ts = slack
        .mention(ALERTS, None, "U0GRACE", "tell me everything")
        .await;
    in_thread(&slack, &ts, "part 2 of 2").await;
    let parts: Vec<String> = slack
        .bot_messages(ALERTS)
        .into_iter()
        .filter(|m| m.thread() == Some(ts.as_str()))
        .map(|m| m.readable())
        .collect();
    assert_eq!(parts.len(), 2, "{parts:?}");
    assert!(parts[0].contains("part 1 of 2"), "{}", parts[0]);
    let all = parts.join("\n");
    for i in 1..=60 {
        assert!(
            all.contains(&format!("Paragraph {i}:")),
            "paragraph {i} is missing"
        );
    }
    bot.stop().await;
}
