//! Token economy: an OOMKilled Deployment investigated with five read-only tool calls, then a
//! JSON diagnosis, measured from the fake's request log (cl100k). Target: at most 30,000
//! prompt tokens across the six calls (HolmesGPT 0.45 sent 48,957 for five tool calls on the
//! same kind of incident). The tool results are what bounded read-only tools return (about
//! 1-3 KB each); the real ones come from the action catalogue, so this measures Lookout's own
//! share: the system prompt, the diagnosis prompt with its context, and the tool definitions.

use lookout::agent::diagnosis::Analysis;
use lookout::llm::*;
use serde_json::json;

use super::{Llm, config};
use crate::fakes::openai::{FakeOpenAi, Step};

fn read_only_tools() -> ToolSet {
    let target = |extra: serde_json::Value| {
        let mut props = json!({"namespace": {"type": "string"}, "name": {"type": "string"}});
        props
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        props
    };
    let kind = json!({"enum": ["Pod", "Deployment", "StatefulSet", "DaemonSet", "Job", "Node", "PersistentVolumeClaim", "HorizontalPodAutoscaler"]});
    ToolSet::new([
        ToolSpec::new(
            "get",
            "An object's spec and status, summarised.",
            json!({"type": "object", "properties": target(json!({"kind": kind})), "required": ["kind", "namespace", "name"]}),
        ),
        ToolSpec::new(
            "describe",
            "Like kubectl describe: status, conditions, containers, recent events.",
            json!({"type": "object", "properties": target(json!({"kind": kind})), "required": ["kind", "namespace", "name"]}),
        ),
        ToolSpec::new(
            "logs",
            "Last log lines of a pod's container (previous=true: the crashed one), errors first.",
            json!({"type": "object", "properties": target(json!({
                "container": {"type": "string"}, "previous": {"type": "boolean"},
                "lines": {"type": "integer", "minimum": 1, "maximum": 200}})),
              "required": ["namespace", "name"]}),
        ),
        ToolSpec::new(
            "events",
            "Recent events of a namespace, or of one object.",
            json!({"type": "object", "properties": {"namespace": {"type": "string"},
                "object": {"type": "string"}, "minutes": {"type": "integer", "minimum": 1, "maximum": 120}},
              "required": ["namespace"]}),
        ),
        ToolSpec::new(
            "list",
            "Objects of a kind with their state, optionally by label selector.",
            json!({"type": "object", "properties": {"kind": kind, "namespace": {"type": "string"},
                "selector": {"type": "string"}}, "required": ["kind", "namespace"]}),
        ),
    ])
    .unwrap()
}

const LOGS: &str = "\
checkout-7d9f8b6c5-x2x9k/checkout (previous container, exit 137 OOMKilled), 40 of 1,212 lines, errors first:
09:12:40.118 ERROR [main] c.s.c.CartService - cache warm-up failed
java.lang.OutOfMemoryError: Java heap space
\tat java.base/java.util.Arrays.copyOf(Arrays.java:3512)
\tat java.base/java.util.ArrayList.grow(ArrayList.java:237)
\tat com.shop.cart.CartCache.load(CartCache.java:88)
\tat com.shop.cart.CartService.warm(CartService.java:41)
\tat com.shop.cart.Application.main(Application.java:27)
09:12:31.902 INFO  [main] c.s.c.CartService - warming cache: 180000 items (CACHE_WARM_ITEMS)
09:12:31.455 INFO  [main] c.s.c.Application - JVM heap: init=256m max=512m; container memory limit=256Mi
09:12:30.990 INFO  [main] o.s.b.w.e.tomcat.TomcatWebServer - Tomcat initialized with port 8080
09:12:29.871 INFO  [main] c.s.c.Application - Starting checkout 1.9.0 using Java 21.0.3
09:12:29.870 INFO  [main] c.s.c.Application - profile: production; db=postgres://checkout:[REDACTED]@db:5432/shop
(28 more INFO lines of cache loading progress, 6000 items each)";

const DESCRIBE: &str = "\
Pod shop/checkout-7d9f8b6c5-x2x9k on worker-2, phase Running, QoS Burstable
Controlled by ReplicaSet checkout-7d9f8b6c5 (Deployment checkout, revision 14)
Container checkout: image registry.example.com/shop/checkout:1.9.0
  State: Waiting (CrashLoopBackOff); Last State: Terminated OOMKilled, exit 137, started 09:12:29, finished 09:12:41
  Ready: false; Restart Count: 7
  Limits: cpu 500m, memory 256Mi; Requests: cpu 100m, memory 128Mi
  Env: JAVA_OPTS=-Xms256m -Xmx512m; CACHE_WARM_ITEMS=180000; DB_PASSWORD from secret checkout-db
  Liveness: http-get :8080/healthz delay=30s period=10s; Readiness: http-get :8080/ready delay=10s
Conditions: Initialized True, Ready False, ContainersReady False, PodScheduled True
Events:
  09:12:41 Warning BackOff (x14 over 25m) Back-off restarting failed container checkout
  09:12:29 Normal  Pulled (x8 over 26m) Container image already present on machine
  09:12:29 Normal  Started (x8 over 26m) Started container checkout";

const EVENTS: &str = "\
Events in shop, last 30 min (newest first, 9 of 31; repeats folded):
09:12:41 Warning BackOff pod/checkout-7d9f8b6c5-x2x9k: Back-off restarting failed container (x14)
09:12:40 Warning OOMKilling node/worker-2: Memory cgroup out of memory: Killed process 4121 (java) anon-rss:262144kB
09:11:58 Warning BackOff pod/checkout-7d9f8b6c5-q8r2m: Back-off restarting failed container (x12)
09:11:57 Warning OOMKilling node/worker-1: Memory cgroup out of memory: Killed process 3988 (java) anon-rss:262144kB
08:47:02 Normal ScalingReplicaSet deployment/checkout: Scaled up replica set checkout-7d9f8b6c5 to 2
08:46:31 Normal ScalingReplicaSet deployment/checkout: Scaled down replica set checkout-5c6d7e8f9 to 1
08:46:30 Normal ScalingReplicaSet deployment/checkout: Scaled up replica set checkout-7d9f8b6c5 to 1
08:46:12 Normal Killing pod/checkout-5c6d7e8f9-abcde: Stopping container checkout
08:46:10 Normal SuccessfulCreate replicaset/checkout-7d9f8b6c5: Created pod checkout-7d9f8b6c5-x2x9k";

const DEPLOYMENT: &str = "\
Deployment shop/checkout: replicas 3 desired, 3 updated, 1 ready, 1 available, 2 unavailable
Strategy RollingUpdate maxSurge 25% maxUnavailable 25%; progressDeadlineSeconds 600
Conditions: Available False (MinimumReplicasUnavailable) since 08:52; Progressing True (ReplicaSetUpdated)
Revision 14 (08:46, 35 min ago), change-cause: \"release 1.9.0\"
Template: container checkout image registry.example.com/shop/checkout:1.9.0; limits cpu 500m memory 256Mi;
  requests cpu 100m memory 128Mi; env JAVA_OPTS=-Xms256m -Xmx512m, CACHE_WARM_ITEMS=180000
Revision 13 diff: image 1.8.2 -> 1.9.0; CACHE_WARM_ITEMS 20000 -> 180000; resources unchanged
HPA: none; PDB checkout-pdb minAvailable 1 (currently allowed disruptions 0)";

const PODS: &str = "\
Pods in shop with app=checkout (3):
checkout-7d9f8b6c5-x2x9k  worker-2  CrashLoopBackOff  restarts 7  last OOMKilled 09:12:41  mem limit 256Mi
checkout-7d9f8b6c5-q8r2m  worker-1  CrashLoopBackOff  restarts 6  last OOMKilled 09:11:58  mem limit 256Mi
checkout-7d9f8b6c5-lm4vn  worker-3  Running ready     restarts 0  up 4m (cache warm-up in progress)  mem limit 256Mi";

#[tokio::test]
async fn an_oom_investigation_with_five_tool_calls_stays_within_30k_prompt_tokens() {
    let fake = FakeOpenAi::start().await;
    let calls = [
        (
            "logs",
            json!({"namespace": "shop", "name": "checkout-7d9f8b6c5-x2x9k", "previous": true, "lines": 40}),
            LOGS,
        ),
        (
            "describe",
            json!({"kind": "Pod", "namespace": "shop", "name": "checkout-7d9f8b6c5-x2x9k"}),
            DESCRIBE,
        ),
        (
            "events",
            json!({"namespace": "shop", "minutes": 30}),
            EVENTS,
        ),
        (
            "get",
            json!({"kind": "Deployment", "namespace": "shop", "name": "checkout"}),
            DEPLOYMENT,
        ),
        (
            "list",
            json!({"kind": "Pod", "namespace": "shop", "selector": "app=checkout"}),
            PODS,
        ),
    ];
    fake.script(
        calls
            .iter()
            .map(|(name, args, _)| Step::tool_call(name, args.clone())),
    );
    fake.script([Step::text(
        r#"{"root_cause":"Release 1.9.0 raised CACHE_WARM_ITEMS to 180000; the JVM heap (-Xmx512m) now outgrows the 256Mi memory limit and the kernel OOM-kills the container","confidence":0.9,"evidence":["OOMKilled exit 137, 7 restarts","java.lang.OutOfMemoryError during cache warm-up","-Xmx512m above limit 256Mi","revision 14 changed CACHE_WARM_ITEMS 20000 -> 180000"],"recommendations":["Raise the memory limit above the heap, or lower -Xmx and CACHE_WARM_ITEMS"],"suggested_actions":[{"action":"adjust_resources","params":{"namespace":"shop","name":"checkout","container":"checkout","memory_limit":"768Mi"},"reason":"fits the 512Mi heap plus JVM overhead"}]}"#,
    )]);

    let prompts = Prompts::from_dir(None).unwrap();
    let vars = sample_vars(Template::Diagnosis);
    let system = prompts
        .system(&SystemVars {
            cluster: "prod-eu-1".into(),
        })
        .unwrap();
    let user = prompts.render(Template::Diagnosis, &vars).unwrap();
    let tools = read_only_tools();
    let llm = Llm::new(&config(&fake));
    let mut messages = vec![Message::user(user)];
    let diagnosis = loop {
        let reply = llm
            .client
            .chat(&ChatRequest {
                purpose: "diagnosis",
                system: system.clone(),
                messages: messages.clone(),
                tools: tools.specs(),
                tool_choice: ToolChoice::Auto,
            })
            .await
            .unwrap();
        match &reply.kind {
            ReplyKind::Text(text) => break parse_json_reply::<Analysis>(text).unwrap(),
            ReplyKind::ToolCalls(calls_made) => {
                messages.push(reply.to_message());
                for call in calls_made {
                    let valid = tools.validate(call).unwrap();
                    let (_, _, result) = calls.iter().find(|(n, _, _)| *n == valid.name).unwrap();
                    messages.push(Message::tool_result(&valid.id, *result));
                }
            }
        }
    };
    assert_eq!(diagnosis.suggested_actions[0].action, "adjust_resources");

    let reqs = fake.requests();
    assert_eq!(reqs.len(), 6);
    // The evidence the model needs was in the first request; nothing secret was.
    let first = reqs[0].content(1);
    for evidence in [
        "OOMKilled",
        "exit=137",
        "limits memory=256Mi",
        "restarts 7",
        "OutOfMemoryError",
        "-Xmx512m",
    ] {
        assert!(first.contains(evidence), "{evidence}");
    }
    assert!(
        reqs.iter()
            .all(|r| r.raw_body.contains("[REDACTED]") && !r.raw_body.contains("checkout:hunter"))
    );
    let per_call: Vec<u64> = reqs.iter().map(|r| r.prompt_tokens).collect();
    let total = fake.prompt_tokens();
    assert_eq!(total, per_call.iter().sum::<u64>());
    println!("OOM investigation, prompt tokens per call (cl100k): {per_call:?}, total {total}");
    assert!(total <= 30_000, "{total} prompt tokens: {per_call:?}");
    // The fixed share sent with every call (system prompt + tool definitions) stays small.
    assert!(per_call[0] < 2_500, "first call {}", per_call[0]);
}
