//! Tool calling through the real client: a round trip, refused calls whose errors go back to
//! the model, and structured replies that are not what was asked for.

use lookout::agent::diagnosis::Analysis;
use lookout::llm::*;
use serde_json::json;

use super::{Llm, ask, config};
use crate::fakes::openai::{FakeOpenAi, Step};

fn read_only_tools() -> ToolSet {
    ToolSet::new([
        ToolSpec::new(
            "pod_logs",
            "Recent log lines of a pod's container; previous=true for the last crashed one.",
            json!({"type": "object", "properties": {
                "namespace": {"type": "string"}, "pod": {"type": "string"},
                "previous": {"type": "boolean"},
                "tail_lines": {"type": "integer", "minimum": 1, "maximum": 200}},
              "required": ["namespace", "pod"]}),
        ),
        ToolSpec::new(
            "get_resource",
            "One object's status and spec summary.",
            json!({"type": "object", "properties": {
                "kind": {"enum": ["Pod", "Deployment", "Node"]},
                "namespace": {"type": "string"}, "name": {"type": "string"}},
              "required": ["kind", "namespace", "name"]}),
        ),
    ])
    .unwrap()
}

fn request(tools: &ToolSet, messages: Vec<Message>) -> ChatRequest {
    ChatRequest {
        purpose: "diagnosis",
        system: "You are Lookout.".into(),
        messages,
        tools: tools.specs(),
        tool_choice: ToolChoice::Auto,
    }
}

#[tokio::test]
async fn a_tool_call_round_trips_and_the_continuation_is_what_the_api_expects() {
    let fake = FakeOpenAi::start().await;
    fake.script([
        Step::tool_call(
            "pod_logs",
            json!({"namespace": "shop", "pod": "checkout-1", "previous": true}),
        ),
        Step::text("The container runs out of memory."),
    ]);
    let llm = Llm::new(&config(&fake));
    let tools = read_only_tools();
    let mut messages = vec![Message::user("Why does checkout crash?")];

    let reply = llm
        .client
        .chat(&request(&tools, messages.clone()))
        .await
        .unwrap();
    let ReplyKind::ToolCalls(calls) = &reply.kind else {
        panic!("expected tool calls, got {reply:?}")
    };
    assert_eq!(reply.finish_reason.as_deref(), Some("tool_calls"));
    let valid = tools.validate(&calls[0]).unwrap();
    assert_eq!(valid.arguments["pod"], "checkout-1");
    messages.push(reply.to_message());
    messages.push(Message::tool_result(
        &valid.id,
        "java.lang.OutOfMemoryError: Java heap space",
    ));

    let reply = llm.client.chat(&request(&tools, messages)).await.unwrap();
    assert_eq!(reply.text(), Some("The container runs out of memory."));

    // What was sent.
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2);
    let first = &reqs[0].body;
    assert_eq!(
        first["messages"][0],
        json!({"role": "system", "content": "You are Lookout."})
    );
    assert_eq!(first["messages"][1]["role"], "user");
    assert_eq!(reqs[0].tool_names(), ["pod_logs", "get_resource"]);
    let pod_logs = &first["tools"][0]["function"];
    assert_eq!(pod_logs["parameters"]["additionalProperties"], json!(false));
    assert_eq!(
        pod_logs.get("strict"),
        None,
        "optional fields: not strict-compatible"
    );
    assert_eq!(first["tools"][1]["function"]["strict"], json!(true));
    assert_eq!(first["tool_choice"], "auto");
    let second = &reqs[1].body["messages"];
    assert_eq!(second[2]["role"], "assistant");
    assert_eq!(second[2]["tool_calls"][0]["id"], json!(calls[0].id));
    assert_eq!(second[2]["tool_calls"][0]["function"]["name"], "pod_logs");
    assert_eq!(
        second[3],
        json!({"role": "tool", "tool_call_id": calls[0].id,
               "content": "java.lang.OutOfMemoryError: Java heap space"})
    );
}

#[tokio::test]
async fn malformed_unknown_extra_and_wrong_typed_calls_are_refused_with_a_reason_for_the_model() {
    let fake = FakeOpenAi::start().await;
    let cases: Vec<(Step, &str)> = vec![
        (
            Step::raw_tool_call("pod_logs", r#"{"namespace": "shop", "pod": "#),
            "are not valid JSON",
        ),
        (
            Step::tool_call("delete_namespace", json!({"name": "shop"})),
            "unknown tool `delete_namespace`; available: pod_logs, get_resource",
        ),
        (
            Step::tool_call(
                "pod_logs",
                json!({"namespace": "shop", "pod": "a", "command": "rm -rf /"}),
            ),
            "'command' was unexpected",
        ),
        (
            Step::tool_call("pod_logs", json!({"namespace": "shop", "pod": 7})),
            r#"/pod: 7 is not of type "string""#,
        ),
        (
            Step::tool_call(
                "get_resource",
                json!({"kind": "Secret", "namespace": "shop", "name": "db"}),
            ),
            r#"/kind: "Secret" is not one of"#,
        ),
        (
            Step::tool_call(
                "pod_logs",
                json!({"namespace": "shop", "pod": "a", "tail_lines": 100000}),
            ),
            "100000 is greater than the maximum of 200",
        ),
        (
            Step::raw_tool_call("pod_logs", "[]"),
            "must be a JSON object, not an array",
        ),
    ];
    fake.script(cases.iter().map(|(s, _)| s.clone()));
    fake.script([Step::text("Understood.")]);
    let llm = Llm::new(&config(&fake));
    let tools = read_only_tools();
    let mut messages = vec![Message::user("Look at checkout.")];
    for (_, expected) in &cases {
        let reply = llm
            .client
            .chat(&request(&tools, messages.clone()))
            .await
            .unwrap();
        let ReplyKind::ToolCalls(calls) = &reply.kind else {
            panic!("expected a tool call, got {reply:?}")
        };
        let refusal = tools.validate(&calls[0]).unwrap_err().to_string();
        assert!(refusal.starts_with("error: "), "{refusal}");
        assert!(refusal.contains(expected), "{expected}: {refusal}");
        assert!(refusal.contains("Nothing was run"), "{refusal}");
        messages.push(reply.to_message());
        messages.push(Message::tool_result(&calls[0].id, refusal));
    }
    llm.client.chat(&request(&tools, messages)).await.unwrap();
    // Every refusal went back to the model as the tool's result.
    let last = fake.requests().pop().unwrap();
    let tool_results: Vec<&str> = last.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(tool_results.len(), cases.len());
    assert!(tool_results.iter().all(|t| t.starts_with("error: ")));
}

#[tokio::test]
async fn prose_instead_of_json_is_rejected_and_a_fenced_object_accepted() {
    let fake = FakeOpenAi::start().await;
    let json = r#"{"root_cause":"heap above limit","confidence":0.8,"evidence":["exit 137"],"recommendations":[],"suggested_actions":[]}"#;
    fake.script([
        Step::text("The pod is most likely running out of memory; raise its limit."),
        Step::text(format!("```json\n{json}\n```")),
    ]);
    let llm = Llm::new(&config(&fake));
    let prose = llm.client.chat(&ask("diagnose")).await.unwrap();
    let err = parse_json_reply::<Analysis>(prose.text().unwrap()).unwrap_err();
    assert!(matches!(err, StructuredError::NotJson(_)), "{err}");
    let fenced = llm.client.chat(&ask("diagnose")).await.unwrap();
    let d: Analysis = parse_json_reply(fenced.text().unwrap()).unwrap();
    assert_eq!(d.root_cause, "heap above limit");
}
