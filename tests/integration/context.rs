//! The context builder against the real API server, with the simulated kubelet making the
//! faults: an OOM crash loop (state, limits, restarts, the previous container's log, owner
//! chain, events), a bad-image rollout (both revisions and the image diff), a failed Job read
//! twice (byte-identical). What cannot be read is in `access`.

use std::collections::BTreeMap;

use chrono::Utc;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use lookout::context::{ContextBuilder, ContextConfig};
use lookout::correlate::Severity;
use lookout::detect::{Evidence, ObjectRef, Signal, SignalName};
use lookout::incident::{Incident, IncidentState, SignalEntry, signal_id};
use serde_json::json;

use crate::sim::{SimTest, deployment, is_ready, phase, status, waiting_reason};

mod access;

/// An incident about `primary` with one signal per (name, pod).
pub fn incident(primary: ObjectRef, signals: &[(SignalName, &Pod)]) -> Incident {
    let now = Utc::now();
    let mut entries = BTreeMap::new();
    for (name, pod) in signals {
        let signal = Signal {
            name: *name,
            object: ObjectRef::namespaced(
                "Pod",
                pod.metadata.namespace.as_deref().unwrap_or(""),
                pod.metadata.name.as_deref().unwrap_or(""),
            ),
            owner: primary.clone(),
            node: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
            cause: None,
            evidence: Evidence::new("", ""),
        };
        entries.insert(
            signal_id(&signal.key()),
            SignalEntry {
                signal,
                active: true,
                first_seen: now,
                last_seen: now,
                cleared_at: None,
                occurrences: 1,
            },
        );
    }
    let mut i = Incident {
        id: "test/INC-1".into(),
        number: 1,
        cluster: "test".into(),
        title: String::new(),
        primary,
        state: IncidentState::Detected,
        severity: Severity::Medium,
        score: 50,
        signals: entries,
        keys: Default::default(),
        causes: Default::default(),
        created_at: now,
        updated_at: now,
        announced_at: None,
        all_clear_since: None,
        resolved_at: None,
        ended_by: None,
        merged_into: None,
        merged_from: Vec::new(),
        acked: None,
        silenced: None,
        diagnosis: None,
        revision: 0,
    };
    if !i.signals.is_empty() {
        i.refresh_title();
    }
    i
}

pub fn oom_deployment(name: &str, replicas: i32) -> serde_json::Value {
    deployment(
        name,
        replicas,
        json!({"image": "eclipse-temurin:21-jre",
               "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}}}),
        json!({"sim.lookout.dev/memory-need": "300Mi",
               "sim.lookout.dev/logs": "starting catalog service\nloading product catalogue into memory"}),
    )
}

fn oom_killed_before(p: &Pod, restarts: i32) -> bool {
    status(p).is_some_and(|s| {
        s.restart_count >= restarts
            && s.last_state
                .as_ref()
                .and_then(|l| l.terminated.as_ref())
                .is_some_and(|t| t.reason.as_deref() == Some("OOMKilled"))
    })
}

/// Waits until every one of `replicas` pods was OOM-killed at least twice and BackOff events
/// were recorded; returns the pods.
pub async fn crash_looping(t: &SimTest, app: &str, replicas: usize) -> Vec<Pod> {
    let pods = t
        .wait_for("every pod OOM-killed twice", || async {
            let pods = t.pods(app).await;
            (pods.len() == replicas && pods.iter().all(|p| oom_killed_before(p, 2))).then_some(pods)
        })
        .await;
    t.event_where(pods[0].metadata.name.as_deref().unwrap(), "BackOff", |_| {
        true
    })
    .await;
    pods
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oom_crash_loop_context_carries_the_evidence_within_budget() {
    let t = SimTest::start(1).await;
    let _: Deployment = t.create(oom_deployment("catalog", 2)).await;
    let pods = crash_looping(&t, "catalog", 2).await;
    let primary = ObjectRef::namespaced("Deployment", &t.ns.name, "catalog");
    let inc = incident(primary.clone(), &[(SignalName::OomKilled, &pods[0])]);

    let builder = ContextBuilder::new(t.client.clone(), ContextConfig::default());
    let started = std::time::Instant::now();
    let ctx = builder.build(&inc).await.expect("context");
    let took = started.elapsed();
    let text = ctx.render();
    println!("{text}");
    println!(
        "OOM context: {} chars, ~{} tokens, built in {took:?}",
        chars(&text),
        chars(&text) / 4
    );

    assert!(ctx.unavailable.is_empty(), "{:?}", ctx.unavailable);
    assert!(chars(&text) <= 12_000);
    let first = &ctx.pods[0];
    let app = &first.containers[0];
    assert!(app.failing && app.restarts >= 2);
    for want in [
        "terminated OOMKilled exit 137".to_string(),
        "limits memory=128Mi".to_string(),
        format!("restarts {}; ready {}", app.restarts, app.ready),
        format!(
            "pod {} container app, previous instance (OOMKilled exit 137):",
            first.name
        ),
        "loading product catalogue into memory".to_string(),
        "memory usage approaching container limit of 128Mi".to_string(),
        "java.lang.OutOfMemoryError: Java heap space".to_string(),
        "Warning BackOff".to_string(),
        "Back-off restarting failed container".to_string(),
        format!("## Deployment {}/catalog", t.ns.name),
        // True or False: the fast sim's pods are Ready for moments between crashes.
        "Available=".to_string(),
    ] {
        assert!(text.contains(&want), "missing {want:?}");
    }
    // Pod -> ReplicaSet -> Deployment, with the ReplicaSet's real name.
    let rs = ctx.owners[1].name.clone();
    assert!(rs.starts_with("catalog-"));
    assert!(text.contains(&format!(
        "Pod {} -> ReplicaSet {rs} -> Deployment catalog",
        first.name
    )));
    // Both pods fail alike: one log, the second pod in one line.
    assert_eq!(ctx.logs.len(), 1);
    assert!(ctx.logs[0].previous);
    assert!(text.contains(&format!("fails like {}", first.name)));
    assert!(text.contains("revision 1 (current)"));
    let node = &t.nodes[0];
    assert!(text.contains(&format!("node {node}: healthy")));

    // A 2,000-character budget keeps the evidence and says what it cut.
    let small = ContextConfig {
        max_chars: 2000,
        ..ContextConfig::default()
    };
    let ctx = ContextBuilder::new(t.client.clone(), small)
        .build(&inc)
        .await
        .expect("context");
    let text = ctx.render();
    println!("--- 2,000-char budget ({} chars):\n{text}", chars(&text));
    assert!(chars(&text) <= 2000);
    for want in [
        "terminated OOMKilled exit 137",
        "limits memory=128Mi",
        "java.lang.OutOfMemoryError: Java heap space",
        "memory usage approaching container limit of 128Mi",
    ] {
        assert!(text.contains(want), "missing {want:?}");
    }
    assert!(text.contains(&format!("restarts {}", first_restarts(&ctx))));
    assert!(text.contains(" more "), "a marker says what was cut");
    t.stop().await;
}

fn first_restarts(ctx: &lookout::context::Context) -> i32 {
    ctx.pods[0].containers[0].restarts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_image_rollout_shows_both_revisions_and_the_image_diff() {
    let t = SimTest::start_with(1, |c| c.missing_images.push("shop/web:1.5.0-typo".into())).await;
    let _: Deployment = t
        .create(deployment(
            "web",
            1,
            json!({"image": "shop/web:1.4.2"}),
            json!({}),
        ))
        .await;
    t.pod_where("web", "a ready pod", is_ready).await;
    t.patch::<Deployment>(
        "web",
        json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "shop/web:1.5.0-typo"}]}}}}),
    )
    .await;
    let bad = t
        .pod_where("web", "ImagePullBackOff", |p| {
            waiting_reason(p) == Some("ImagePullBackOff")
        })
        .await;
    t.event_where(bad.metadata.name.as_deref().unwrap(), "BackOff", |_| true)
        .await;
    let inc = incident(
        ObjectRef::namespaced("Deployment", &t.ns.name, "web"),
        &[(SignalName::ImagePull, &bad)],
    );
    let ctx = ContextBuilder::new(t.client.clone(), ContextConfig::default())
        .build(&inc)
        .await
        .expect("context");
    let text = ctx.render();
    println!("{text}");

    let rollout = ctx.rollout.as_ref().expect("rollout history");
    let revisions: Vec<(u64, &str)> = rollout
        .revisions
        .iter()
        .map(|r| (r.revision, r.images[0].1.as_str()))
        .collect();
    assert_eq!(
        revisions,
        [(2, "shop/web:1.5.0-typo"), (1, "shop/web:1.4.2")]
    );
    assert!(text.contains("revision 1 -> 2, rolled out "), "{text}");
    assert!(text.contains("app image shop/web:1.4.2 -> shop/web:1.5.0-typo"));
    assert!(text.contains("revision 2 (current)"));
    // The broken pod first; its image never ran, so there is no log to show, and no error.
    assert_eq!(ctx.pods[0].name, bad.metadata.name.clone().unwrap());
    assert!(
        text.contains("waiting ImagePullBackOff: Back-off pulling image \"shop/web:1.5.0-typo\"")
    );
    assert!(text.contains("Failed to pull image"), "{text}");
    assert!(ctx.logs.is_empty() && ctx.unavailable.is_empty());
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_state_renders_byte_identically() {
    let t = SimTest::start(1).await;
    let traceback = "running migration 42\nTraceback (most recent call last):\n  File \"/app/migrate.py\", line 9, in <module>\n    run()\npsycopg2.errors.UndefinedTable: relation \"orders\" does not exist";
    let _: Job = t
        .create(json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "migrate"},
            "spec": {"backoffLimit": 0, "template": {
                "metadata": {"labels": {"app": "migrate"},
                    "annotations": {"sim.lookout.dev/exit-code": "1", "sim.lookout.dev/logs": traceback}},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "work", "image": "shop/migrate:7"}]}}}
        }))
        .await;
    let failed = t
        .pod_where("migrate", "a failed pod", |p| phase(p) == "Failed")
        .await;
    t.wait_for("the Job failed", || async {
        let job = t.api::<Job>().get("migrate").await.ok()?;
        let failed = job
            .status?
            .conditions?
            .into_iter()
            .any(|c| c.type_ == "Failed");
        failed.then_some(())
    })
    .await;
    t.event_where("migrate", "BackoffLimitExceeded", |_| true)
        .await;
    let inc = incident(
        ObjectRef::namespaced("Job", &t.ns.name, "migrate"),
        &[(SignalName::JobFailed, &failed)],
    );
    let builder = ContextBuilder::new(t.client.clone(), ContextConfig::default());
    let now = Utc::now();
    let a = builder.build_at(&inc, now).await.expect("context").render();
    let b = builder.build_at(&inc, now).await.expect("context").render();
    println!("{a}");
    assert_eq!(a, b);
    for want in [
        "Failed=True BackoffLimitExceeded",
        "pods: 0 active, 0 succeeded, 1 failed",
        "terminated Error exit 1",
        "current instance (Error exit 1):",
        "psycopg2.errors.UndefinedTable: relation \"orders\" does not exist",
    ] {
        assert!(a.contains(want), "missing {want:?}");
    }
    t.stop().await;
}
