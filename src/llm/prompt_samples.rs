//! Realistic data for every template: an OOM crash loop in `shop/checkout`. `lookout check`
//! renders each template (built-in or overridden) with it, and the tests read the results.

use serde_json::{Map, Value, json};

use super::prompt_vars::*;
use super::prompts::Template;

/// The redacted context of an OOM-killed Deployment, shaped like the context builder's.
pub const OOM_CONTEXT: &str = "\
Deployment shop/checkout: 3 desired, 1 available, 2 unavailable; revision 14; \
condition Available=False (MinimumReplicasUnavailable).
Owner chain: Pod checkout-7d9f8b6c5-x2x9k -> ReplicaSet checkout-7d9f8b6c5 -> Deployment checkout.
Pods (unhealthy first):
- checkout-7d9f8b6c5-x2x9k on node worker-2: CrashLoopBackOff, restarts 7; last state \
Terminated reason=OOMKilled exit=137 at 09:12:41; limits memory=256Mi cpu=500m; requests \
memory=128Mi cpu=100m
- checkout-7d9f8b6c5-q8r2m on node worker-1: CrashLoopBackOff, restarts 6; last state \
Terminated reason=OOMKilled exit=137 at 09:11:58
- checkout-7d9f8b6c5-lm4vn on node worker-3: Running, ready, restarts 0
Events (last 10 min):
- 09:12:41 Warning BackOff pod/checkout-7d9f8b6c5-x2x9k: Back-off restarting failed container \
checkout (x14)
- 09:12:40 Warning OOMKilling node/worker-2: Memory cgroup out of memory: Killed process 4121 \
(java) total-vm:1893220kB, anon-rss:262144kB
Previous container logs of checkout-7d9f8b6c5-x2x9k (last lines):
09:12:39 INFO  CartService warming cache: 180000 items
09:12:40 ERROR java.lang.OutOfMemoryError: Java heap space
    at com.shop.cart.CartCache.load(CartCache.java:88)
    at com.shop.cart.CartService.warm(CartService.java:41)
JVM flags: -Xms256m -Xmx512m; DATABASE_URL=postgres://checkout:[REDACTED]@db:5432/shop
Rollout history:
- revision 13: image registry.example.com/shop/checkout:1.8.2 (healthy for 6 days)
- revision 14 (current, 35 min ago): image registry.example.com/shop/checkout:1.9.0; env \
CACHE_WARM_ITEMS 20000 -> 180000
Node worker-2: Ready; MemoryPressure=False; allocatable memory 15.6Gi.";

fn incident() -> IncidentBrief {
    IncidentBrief {
        id: "prod-eu-1/INC-2041".into(),
        title: "checkout is crash-looping (OOMKilled)".into(),
        severity: "high".into(),
        resource: "Deployment shop/checkout".into(),
        signals: vec!["oom_killed".into(), "crash_loop_back_off".into()],
    }
}

fn params(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn actions() -> Vec<ActionBrief> {
    vec![
        ActionBrief {
            signature: "adjust_resources(namespace: string, name: string, container: string, \
                        memory_limit?: string, memory_request?: string)"
                .into(),
            description: "Change a Deployment container's requests and limits.".into(),
        },
        ActionBrief {
            signature: "rollback_deployment(namespace: string, name: string, revision?: integer)"
                .into(),
            description: "Roll a Deployment back to its previous (or a given) revision.".into(),
        },
    ]
}

/// Sample data for a template, as the JSON it is rendered from.
pub fn sample_vars(template: Template) -> Value {
    let value = match template {
        Template::System => serde_json::to_value(SystemVars {
            cluster: "prod-eu-1".into(),
        }),
        Template::Diagnosis => serde_json::to_value(DiagnosisVars {
            incident: incident(),
            context: OOM_CONTEXT.into(),
            max_tool_calls: 5,
            actions: actions(),
        }),
        Template::AgentStep => serde_json::to_value(AgentStepVars {
            incident: incident(),
            diagnosis: Some(
                "memory limit 256Mi is below the JVM heap (-Xmx512m) since revision 14".into(),
            ),
            context: OOM_CONTEXT.into(),
            step: 3,
            max_steps: 10,
            attempt: 1,
            max_attempts: 3,
            history: vec![
                "pod_logs checkout-7d9f8b6c5-x2x9k (previous): OutOfMemoryError while warming \
                 the cache"
                    .into(),
                "proposed rollback_deployment to revision 13: rejected".into(),
            ],
            rejections: vec![Rejection {
                action: "rollback_deployment".into(),
                params: params(json!({"namespace": "shop", "name": "checkout", "revision": 13})),
                by: "slack:U0456EFGH".into(),
                reason: "1.9.0 carries the payment fix; keep it and give it memory".into(),
            }],
            failures: vec![],
        }),
        Template::Postmortem => serde_json::to_value(PostmortemVars {
            incident: incident(),
            outcome: "resolved".into(),
            opened_at: "2025-06-01 09:04 UTC".into(),
            ended_at: "2025-06-01 09:31 UTC".into(),
            duration: "27m".into(),
            affected: vec!["Deployment shop/checkout (2 of 3 pods)".into()],
            diagnosis: Some("memory limit 256Mi below the JVM heap since revision 14".into()),
            timeline: vec![
                TimelineLine {
                    at: "09:04:12".into(),
                    what: "detected: oom_killed on 2 pods of checkout".into(),
                },
                TimelineLine {
                    at: "09:06:30".into(),
                    what: "diagnosis: heap 512Mi > limit 256Mi (confidence 0.85)".into(),
                },
                TimelineLine {
                    at: "09:27:50".into(),
                    what: "adjust_resources approved by slack:U0123ABCD, applied".into(),
                },
                TimelineLine {
                    at: "09:31:02".into(),
                    what: "verified: 3/3 pods ready for 3m, no restarts".into(),
                },
            ],
            actions: vec![ExecutedAction {
                action: "adjust_resources".into(),
                params: params(json!({"namespace": "shop", "name": "checkout",
                    "container": "checkout", "memory_limit": "768Mi"})),
                approved_by: "slack:U0123ABCD".into(),
                result: "succeeded, verified healthy in 3m".into(),
            }],
            rejected: vec![Rejection {
                action: "rollback_deployment".into(),
                params: params(json!({"namespace": "shop", "name": "checkout", "revision": 13})),
                by: "slack:U0456EFGH".into(),
                reason: "1.9.0 carries the payment fix".into(),
            }],
        }),
        Template::Conversation => serde_json::to_value(ConversationVars {
            asker: "Dana".into(),
            question: "why is checkout crashing?".into(),
            open_incidents: vec![incident()],
            max_tool_calls: 4,
            max_lines: 12,
        }),
    };
    // Serializing these plain structs cannot fail.
    value.unwrap_or(Value::Null)
}
