//! The read-only tools on a crash-looping workload: bounded, deterministic text with the
//! evidence a diagnosis needs (OOMKilled, limits, restarts, the previous container's error),
//! logs through the API server's log proxy, and no way to read a Secret.

use k8s_openapi::api::apps::v1::Deployment;
use lookout::actions::{ActionError, guards};
use serde_json::{Value, json};

use super::{context, context_with, refusal, registry};
use crate::sim::{SimTest, deployment, status};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_tools_show_an_oom_crash_loop_within_bounds() {
    let t = SimTest::start(1).await;
    let ctx = context(&t).await;
    let (tools, _) = registry();
    let ns = t.ns.name.clone();
    let chatter: String = (0..300)
        .map(|i| format!("INFO handled request {i}\n"))
        .collect();
    let _: Deployment = t
        .create(deployment(
            "catalog",
            1,
            json!({"image": "eclipse-temurin:21-jre", "resources": {"requests": {"memory": "64Mi"}, "limits": {"memory": "128Mi"}}}),
            json!({"sim.lookout.dev/memory-need": "300Mi", "sim.lookout.dev/logs": chatter}),
        ))
        .await;
    let pod = t
        .pod_where("catalog", "two OOM kills", |p| {
            status(p).is_some_and(|s| s.restart_count >= 2)
        })
        .await;
    let pod_name = pod.metadata.name.clone().unwrap();
    let run = |name: &'static str, params: Value| {
        let (tools, ctx) = (&tools, &ctx);
        async move { tools.run_tool(ctx, name, &params).await }
    };
    let max = ctx.config.read.max_output_chars;

    let yaml = run(
        "get",
        json!({"kind": "Deployment", "namespace": ns, "name": "catalog"}),
    )
    .await
    .unwrap();
    assert!(
        yaml.contains("kind: Deployment") && yaml.contains("memory: 128Mi"),
        "{yaml}"
    );
    assert!(!yaml.contains("managedFields"), "{yaml}");

    let described = run(
        "describe",
        json!({"kind": "pod", "namespace": ns, "name": pod_name}),
    )
    .await
    .unwrap();
    for needle in [
        "Controlled by: ReplicaSet/catalog-",
        "last state: terminated OOMKilled (exit 137)",
        "limits: memory=128Mi",
        "BackOff",
    ] {
        assert!(
            described.contains(needle),
            "{needle} missing from:\n{described}"
        );
    }
    let workload = run(
        "describe",
        json!({"kind": "Deployment", "namespace": ns, "name": "catalog"}),
    )
    .await
    .unwrap();
    assert!(
        workload.contains("Pods (1 of 1, unhealthy first):")
            && workload.contains("Template containers:"),
        "{workload}"
    );

    // The previous container printed 300 lines then an OutOfMemoryError: the tail asked for
    // is kept, and so is the error even when it is older than the tail.
    let logs = run(
        "logs",
        json!({"namespace": ns, "pod": pod_name, "previous": true, "tail_lines": 5}),
    )
    .await
    .unwrap();
    assert!(
        logs.starts_with(&format!(
            "log of the previous instance of container app of Pod {ns}/{pod_name}: 5 of"
        )),
        "{logs}"
    );
    assert!(logs.contains("OutOfMemoryError"), "{logs}");
    assert!(logs.contains("lines omitted ...]"), "{logs}");
    assert!(logs.len() <= max);

    let events = run(
        "events",
        json!({"namespace": ns, "kind": "Pod", "name": pod_name}),
    )
    .await
    .unwrap();
    assert!(
        events.contains("BackOff") && events.contains("AGE  TYPE"),
        "{events}"
    );
    let lines: Vec<&str> = events.lines().collect();
    assert!(
        lines[0].starts_with(&format!("events for Pod {ns}/{pod_name}, newest first")),
        "{events}"
    );

    let listed = run("list", json!({"kind": "pods", "namespace": ns}))
        .await
        .unwrap();
    assert!(
        listed.starts_with(&format!("1 pods in {ns}:\nNAME ")),
        "{listed}"
    );
    assert!(listed.contains(&pod_name), "{listed}");
    let all = run(
        "list",
        json!({"kind": "ReplicaSet", "label_selector": "app=catalog"}),
    )
    .await
    .unwrap();
    assert!(all.contains("NAMESPACE") && all.contains(&ns), "{all}");

    // Deterministic: the same question twice gives the same answer (nothing moved in between
    // for a Deployment's YAML besides its status and the resourceVersion that bumps).
    let again = run(
        "get",
        json!({"kind": "Deployment", "namespace": ns, "name": "catalog"}),
    )
    .await
    .unwrap();
    assert_eq!(strip_status(&yaml), strip_status(&again));

    let secret = json!({"kind": "Secret", "namespace": ns, "name": "db-password"});
    for (tool, params) in [
        ("get", secret.clone()),
        ("describe", secret),
        ("list", json!({"kind": "secrets", "namespace": ns})),
    ] {
        let (g, r) = refusal(run(tool, params).await);
        assert_eq!(g, guards::SECRETS, "{tool}");
        assert!(r.contains("never reads Secrets"), "{r}");
    }
    match run("get", json!({"kind": "Deployment", "name": "catalog"})).await {
        Err(ActionError::InvalidParams { reason, .. }) => {
            assert!(reason.contains("namespace is required"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    t.stop().await;
}

/// The YAML without what the controllers move on their own: the status, and the
/// resourceVersion a status update bumps.
fn strip_status(yaml: &str) -> String {
    yaml.split("\nstatus:")
        .next()
        .unwrap_or("")
        .lines()
        .filter(|l| !l.trim_start().starts_with("resourceVersion:"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_stays_within_a_small_budget() {
    let t = SimTest::start(1).await;
    let ctx = context_with(&t, |c| {
        c.read.max_output_chars = 800;
        c.read.max_list_rows = 5;
    })
    .await;
    let (tools, _) = registry();
    for i in 0..12 {
        let _: Deployment = t
            .create(deployment(&format!("svc-{i:02}"), 1, json!({}), json!({})))
            .await;
    }
    let listed = tools
        .run_tool(
            &ctx,
            "list",
            &json!({"kind": "deploy", "namespace": t.ns.name}),
        )
        .await
        .unwrap();
    assert!(
        listed.starts_with(&format!("12 deployments in {}:\nNAME", t.ns.name)),
        "{listed}"
    );
    assert!(
        listed.contains("svc-04") && !listed.contains("svc-05"),
        "sorted by name, 5 rows:\n{listed}"
    );
    assert!(
        listed.contains("[... and 7 more; narrow with namespace or label_selector]"),
        "{listed}"
    );
    let yaml = tools
        .run_tool(
            &ctx,
            "get",
            &json!({"kind": "Deployment", "namespace": t.ns.name, "name": "svc-00"}),
        )
        .await
        .unwrap();
    assert!(yaml.len() <= 800, "{}", yaml.len());
    assert!(
        yaml.contains("more lines cut to fit the output budget]"),
        "{yaml}"
    );
    t.stop().await;
}
