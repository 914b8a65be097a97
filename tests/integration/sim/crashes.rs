//! Containers that crash: OOM-killed crash loops with growing back-off and the previous
//! container's logs, the memory-limit fix, RunContainerError.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::LogParams;
use serde_json::json;

use super::{SimTest, deployment, is_ready, status, waiting_message, waiting_reason};

fn oom_deployment(name: &str, replicas: i32, image: &str) -> serde_json::Value {
    deployment(
        name,
        replicas,
        json!({"image": image, "resources": {"requests": {"memory": "64Mi"}, "limits": {"memory": "128Mi"}}}),
        json!({"sim.lookout.dev/memory-need": "300Mi", "sim.lookout.dev/logs": "loading product catalogue into memory"}),
    )
}

fn last_terminated(p: &Pod) -> Option<k8s_openapi::api::core::v1::ContainerStateTerminated> {
    status(p)?.last_state.as_ref()?.terminated.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oom_kills_crash_loop_with_growing_back_off_and_previous_logs() {
    let t = SimTest::start(1).await;
    let _: Deployment = t
        .create(oom_deployment("catalog", 1, "eclipse-temurin:21-jre"))
        .await;

    // Back-off doubles: 200ms (base) ... the 800ms wait is the third one.
    let p = t
        .pod_where("catalog", "CrashLoopBackOff with an 800ms back-off", |p| {
            waiting_reason(p) == Some("CrashLoopBackOff")
                && waiting_message(p).is_some_and(|m| {
                    m.starts_with("back-off 800ms restarting failed container=app pod=")
                })
        })
        .await;
    let name = p.metadata.name.clone().unwrap();
    let uid = p.metadata.uid.clone().unwrap();
    assert_eq!(
        waiting_message(&p).unwrap(),
        format!(
            "back-off 800ms restarting failed container=app pod={name}_{}({uid})",
            t.ns.name
        )
    );
    let cs = status(&p).unwrap();
    assert!(cs.restart_count >= 3, "restarts {}", cs.restart_count);
    assert!(!cs.ready);
    let last = last_terminated(&p).unwrap();
    assert_eq!(
        (last.reason.as_deref(), last.exit_code),
        (Some("OOMKilled"), 137)
    );
    assert!(last.container_id.is_some() && last.started_at.is_some() && last.finished_at.is_some());
    assert_eq!(super::phase(&p), "Running");

    // Repeats are aggregated into one event object whose count grows.
    let backoff = t
        .event_where(&name, "BackOff", |e| e.count.unwrap_or(0) >= 2)
        .await;
    assert_eq!(
        backoff.message.as_deref(),
        Some("Back-off restarting failed container")
    );
    assert_eq!(backoff.type_.as_deref(), Some("Warning"));
    let started: Vec<_> = t
        .events(&name)
        .await
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("Started"))
        .collect();
    assert_eq!(started.len(), 1, "one aggregated Started event");
    assert!(started[0].count.unwrap_or(0) >= 3);

    // The previous container printed a JVM OutOfMemoryError before it was killed.
    let previous = LogParams {
        previous: true,
        ..LogParams::default()
    };
    let text = t.api::<Pod>().logs(&name, &previous).await.unwrap();
    assert!(
        text.starts_with("loading product catalogue into memory\n"),
        "{text}"
    );
    assert!(
        text.contains("java.lang.OutOfMemoryError: Java heap space"),
        "{text}"
    );
    assert!(text.contains("128Mi"), "{text}");

    // Restart counts keep growing.
    let before = cs.restart_count;
    t.pod_where("catalog", "more restarts", |p| {
        status(p).is_some_and(|s| s.restart_count > before)
    })
    .await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raising_the_memory_limit_heals_the_oom_deployment() {
    let t = SimTest::start(2).await;
    let _: Deployment = t.create(oom_deployment("cart", 2, "shop/cart:3.1")).await;
    t.pod_where("cart", "an OOM-killed pod", |p| {
        last_terminated(p).is_some_and(|l| l.reason.as_deref() == Some("OOMKilled"))
    })
    .await;

    t.patch::<Deployment>(
        "cart",
        json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "resources": {"limits": {"memory": "512Mi"}}}
        ]}}}}),
    )
    .await;

    t.wait_for("only healthy new pods", || async {
        let d = t.api::<Deployment>().get("cart").await.ok()?;
        let s = d.status?;
        let pods = t.pods("cart").await;
        let healthy = pods.len() == 2
            && pods.iter().all(|p| {
                is_ready(p)
                    && status(p).is_some_and(|s| s.restart_count == 0)
                    && p.metadata.deletion_timestamp.is_none()
            });
        (s.updated_replicas == Some(2) && s.available_replicas == Some(2) && healthy).then_some(())
    })
    .await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_error_annotation_gives_run_container_error_then_back_off() {
    let t = SimTest::start(1).await;
    let error = "exec: \"app\": executable file not found in $PATH";
    let _: Deployment = t
        .create(deployment(
            "worker",
            1,
            json!({}),
            json!({"sim.lookout.dev/run-error": error}),
        ))
        .await;
    let p = t
        .pod_where("worker", "RunContainerError", |p| {
            waiting_reason(p) == Some("RunContainerError")
        })
        .await;
    let message = waiting_message(&p).unwrap();
    assert!(
        message.starts_with("failed to start container \"app\""),
        "{message}"
    );
    assert!(message.contains(error), "{message}");

    let p = t
        .pod_where("worker", "CrashLoopBackOff after repeated failures", |p| {
            waiting_reason(p) == Some("CrashLoopBackOff")
                && status(p).is_some_and(|s| s.restart_count >= 2)
        })
        .await;
    let last = last_terminated(&p).unwrap();
    assert_eq!(
        (last.reason.as_deref(), last.exit_code),
        (Some("ContainerCannotRun"), 128)
    );
    let name = p.metadata.name.clone().unwrap();
    let failed = t
        .event_where(&name, "Failed", |e| {
            e.message
                .as_deref()
                .is_some_and(|m| m.starts_with("Error: failed to start container"))
        })
        .await;
    assert_eq!(failed.type_.as_deref(), Some("Warning"));
    t.event_where(&name, "BackOff", |_| true).await;
    t.stop().await;
}
