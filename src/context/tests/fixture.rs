//! A context built from data: an OOM-crash-looping Deployment right after a rollout that
//! lowered its memory limit, as the builder would read it.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::context::*;
use crate::detect::ObjectRef;

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap()
}

fn ago(secs: i64) -> Option<DateTime<Utc>> {
    Some(now() - Duration::seconds(secs))
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    healthy: bool,
) -> ConditionFacts {
    ConditionFacts {
        type_: type_.into(),
        status: status.into(),
        reason: reason.into(),
        message: message.into(),
        since: ago(700),
        healthy,
    }
}

fn oom_container(restarts: i32) -> ContainerFacts {
    ContainerFacts {
        name: "app".into(),
        init: false,
        image: "eclipse-temurin:21-jre".into(),
        ready: false,
        restarts,
        requests: map(&[("cpu", "100m"), ("memory", "64Mi")]),
        limits: map(&[("memory", "128Mi")]),
        state: Some(StateFacts::Waiting {
            reason: "CrashLoopBackOff".into(),
            message: "back-off 40s restarting failed container=app".into(),
        }),
        last_state: Some(StateFacts::Terminated {
            reason: "OOMKilled".into(),
            exit_code: 137,
            signal: None,
            message: String::new(),
            started: ago(95),
            finished: ago(83),
        }),
        failing: true,
    }
}

fn pod(name: &str, node: &str, restarts: i32) -> PodFacts {
    PodFacts {
        namespace: "shop".into(),
        name: name.into(),
        phase: "Running".into(),
        reason: String::new(),
        message: String::new(),
        node: Some(node.into()),
        created: ago(720),
        deleting: false,
        trouble: 2,
        conditions: vec![
            condition(
                "Ready",
                "False",
                "ContainersNotReady",
                "containers with unready status: [app]",
                false,
            ),
            condition(
                "ContainersReady",
                "False",
                "ContainersNotReady",
                "containers with unready status: [app]",
                false,
            ),
        ],
        containers: vec![oom_container(restarts)],
    }
}

pub fn jvm_oom_log() -> String {
    let mut lines: Vec<String> = (0..150)
        .map(|i| format!("INFO  c.e.catalog.Loader - loaded product page {i} into memory"))
        .collect();
    lines.push("memory usage approaching container limit of 128Mi".into());
    lines.push("WARN  c.e.cache.WarmUp - heap usage above 90%, GC overhead rising".into());
    lines.push("Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space".into());
    lines.push("\tat java.base/java.util.Arrays.copyOf(Arrays.java:3537)".into());
    lines.push("\tat java.base/java.util.ArrayList.grow(ArrayList.java:237)".into());
    lines.push("\tat com.example.cache.WarmUp.load(WarmUp.java:88)".into());
    lines.push("\tat com.example.Application.main(Application.java:41)".into());
    lines.join("\n")
}

fn event(
    type_: &str,
    reason: &str,
    object: &str,
    message: &str,
    count: u32,
    last: i64,
) -> EventFacts {
    EventFacts {
        type_: type_.into(),
        reason: reason.into(),
        message: message.into(),
        count,
        objects: vec![object.into()],
        first: ago(700),
        last: ago(last),
    }
}

fn revision(n: u64, rs: &str, limit: &str, age: i64, ready: i32) -> RevisionFacts {
    RevisionFacts {
        revision: n,
        replicaset: rs.into(),
        created: ago(age),
        replicas: 3,
        ready,
        images: vec![("app".into(), format!("eclipse-temurin:21-jre-{n}"))],
        resources: vec![("app".into(), format!("limits memory={limit}"))],
        change_cause: None,
    }
}

/// The whole OOM story, with the default budget.
pub fn oom_context() -> Context {
    Context {
        incident: "prod/INC-7: Deployment shop/catalog: OOMKilled, crash loop".into(),
        now: now(),
        budget: ContextConfig::default().budget(),
        resource: Some(ResourceFacts {
            object: ObjectRef::namespaced("Deployment", "shop", "catalog"),
            created: ago(86_400 * 3),
            facts: vec![
                (
                    "replicas".into(),
                    "3 desired, 3 updated, 0 ready, 0 available, 3 unavailable".into(),
                ),
                ("images".into(), "app=eclipse-temurin:21-jre-2".into()),
                (
                    "resources app".into(),
                    "requests cpu=100m memory=64Mi; limits memory=128Mi".into(),
                ),
            ],
            times: Vec::new(),
            conditions: vec![
                condition(
                    "Available",
                    "False",
                    "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.",
                    false,
                ),
                condition(
                    "Progressing",
                    "True",
                    "ReplicaSetUpdated",
                    "ReplicaSet \"catalog-7d9f\" is progressing.",
                    true,
                ),
            ],
        }),
        owners: vec![
            ObjectRef::namespaced("Pod", "shop", "catalog-7d9f-abcde"),
            ObjectRef::namespaced("ReplicaSet", "shop", "catalog-7d9f"),
            ObjectRef::namespaced("Deployment", "shop", "catalog"),
        ],
        pods: vec![
            pod("catalog-7d9f-abcde", "node-1", 6),
            pod("catalog-7d9f-fghij", "node-2", 5),
            pod("catalog-7d9f-klmno", "node-1", 5),
        ],
        pods_total: 3,
        events: vec![
            event(
                "Warning",
                "BackOff",
                "pod/catalog-7d9f-abcde",
                "Back-off restarting failed container",
                31,
                20,
            ),
            event(
                "Normal",
                "Pulled",
                "pod/catalog-7d9f-abcde",
                "Container image \"eclipse-temurin:21-jre\" already present on machine",
                7,
                83,
            ),
            event(
                "Normal",
                "Created",
                "pod/catalog-7d9f-abcde",
                "Created container app",
                7,
                83,
            ),
            event(
                "Normal",
                "Started",
                "pod/catalog-7d9f-abcde",
                "Started container app",
                7,
                82,
            ),
            event(
                "Normal",
                "ScalingReplicaSet",
                "deployment/catalog",
                "Scaled up replica set catalog-7d9f to 3",
                1,
                720,
            ),
        ],
        events_total: 5,
        logs: vec![LogFacts {
            pod: "catalog-7d9f-abcde".into(),
            container: "app".into(),
            previous: true,
            instance: "OOMKilled exit 137".into(),
            text: jvm_oom_log(),
        }],
        rollout: Some(RolloutFacts {
            deployment: "shop/catalog".into(),
            revisions: vec![
                revision(2, "catalog-7d9f", "128Mi", 720, 0),
                revision(1, "catalog-5c4b", "512Mi", 86_400 * 3, 0),
            ],
            total: 2,
        }),
        nodes: vec![
            NodeFacts {
                name: "node-1".into(),
                healthy: true,
                unschedulable: false,
                taints: Vec::new(),
                conditions: vec![condition(
                    "Ready",
                    "True",
                    "KubeletReady",
                    "kubelet is posting ready status",
                    true,
                )],
            },
            NodeFacts {
                name: "node-2".into(),
                healthy: false,
                unschedulable: false,
                taints: vec!["node.kubernetes.io/memory-pressure:NoSchedule".into()],
                conditions: vec![
                    condition(
                        "Ready",
                        "True",
                        "KubeletReady",
                        "kubelet is posting ready status",
                        true,
                    ),
                    condition(
                        "MemoryPressure",
                        "True",
                        "KubeletHasInsufficientMemory",
                        "kubelet has insufficient memory available",
                        false,
                    ),
                ],
            },
        ],
        unavailable: Vec::new(),
    }
}
