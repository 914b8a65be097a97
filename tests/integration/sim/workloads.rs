//! Healthy workloads: Deployments that run Ready and serve their declared logs, Jobs that
//! succeed or fail as declared, DaemonSets on every node, failing readiness.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::LogParams;
use serde_json::json;

use super::{SimTest, deployment, is_ready, labelled, node_of, phase, status};
use crate::support::unique;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthy_deployment_runs_ready_spread_over_nodes() {
    let t = SimTest::start(2).await;
    let _: Deployment = t.create(deployment("web", 2, json!({}), json!({}))).await;

    let pods = t
        .wait_for("2 ready pods", || async {
            let pods = t.pods("web").await;
            (pods.len() == 2 && pods.iter().all(is_ready)).then_some(pods)
        })
        .await;
    let mut nodes: Vec<&str> = pods.iter().map(node_of).collect();
    nodes.sort();
    assert_eq!(
        nodes,
        [t.nodes[0].as_str(), t.nodes[1].as_str()],
        "spread over both nodes"
    );

    let p = &pods[0];
    let s = p.status.as_ref().unwrap();
    assert_eq!(phase(p), "Running");
    assert_eq!(s.host_ip.as_deref(), Some("127.0.0.1"));
    assert!(
        s.pod_ip
            .as_deref()
            .is_some_and(|ip| ip.starts_with("10.244."))
    );
    assert!(s.start_time.is_some());
    assert_eq!(s.qos_class.as_deref(), Some("Burstable"));
    for kind in ["PodScheduled", "Initialized", "ContainersReady", "Ready"] {
        let c = s.conditions.iter().flatten().find(|c| c.type_ == kind);
        assert_eq!(c.map(|c| c.status.as_str()), Some("True"), "{kind}");
    }
    let cs = status(p).unwrap();
    assert!(cs.ready && cs.started == Some(true));
    assert_eq!(cs.restart_count, 0);
    assert!(
        cs.container_id
            .as_deref()
            .unwrap()
            .starts_with("containerd://")
    );
    assert!(cs.image_id.starts_with("docker.io/shop/web@sha256:"));
    assert!(
        cs.state
            .as_ref()
            .unwrap()
            .running
            .as_ref()
            .unwrap()
            .started_at
            .is_some()
    );

    // The kubelet's and the scheduler's events, with their sources and field paths.
    let name = p.metadata.name.clone().unwrap();
    let scheduled = t.event_where(&name, "Scheduled", |_| true).await;
    assert_eq!(
        scheduled.message.as_deref(),
        Some(
            format!(
                "Successfully assigned {}/{name} to {}",
                t.ns.name,
                node_of(p)
            )
            .as_str()
        )
    );
    let source = scheduled.source.as_ref().unwrap();
    assert_eq!(source.component.as_deref(), Some("default-scheduler"));
    for (reason, message) in [
        (
            "Pulled",
            "Container image \"shop/web:1.4.2\" already present on machine",
        ),
        ("Created", "Created container app"),
        ("Started", "Started container app"),
    ] {
        let e = t.event_where(&name, reason, |_| true).await;
        assert_eq!(e.message.as_deref(), Some(message));
        assert_eq!(
            e.involved_object.field_path.as_deref(),
            Some("spec.containers{app}")
        );
        let source = e.source.as_ref().unwrap();
        assert_eq!(source.component.as_deref(), Some("kubelet"));
        assert_eq!(source.host.as_deref(), Some(node_of(p)));
    }

    t.wait_for("deployment available", || async {
        let d = t.api::<Deployment>().get("web").await.ok()?;
        (d.status?.available_replicas == Some(2)).then_some(())
    })
    .await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_come_through_the_api_server_with_kubelet_options() {
    let t = SimTest::start(1).await;
    let annotations = json!({"sim.lookout.dev/logs": "listening on :8080\nconnected to postgres\nserving traffic"});
    let _: Deployment = t.create(deployment("api", 1, json!({}), annotations)).await;
    let p = t.pod_where("api", "ready pod", is_ready).await;
    let name = p.metadata.name.clone().unwrap();
    let pods = t.api::<Pod>();

    let all = pods.logs(&name, &LogParams::default()).await.unwrap();
    assert_eq!(
        all,
        "listening on :8080\nconnected to postgres\nserving traffic\n"
    );

    let tail = LogParams {
        tail_lines: Some(1),
        ..LogParams::default()
    };
    assert_eq!(pods.logs(&name, &tail).await.unwrap(), "serving traffic\n");

    let stamped = LogParams {
        timestamps: true,
        since_seconds: Some(3600),
        container: Some("app".into()),
        ..LogParams::default()
    };
    let text = pods.logs(&name, &stamped).await.unwrap();
    let first = text.lines().next().unwrap();
    let (ts, line) = first.split_once(' ').unwrap();
    assert!(
        ts.parse::<k8s_openapi::jiff::Timestamp>().is_ok(),
        "{first}"
    );
    assert_eq!(line, "listening on :8080");

    let previous = LogParams {
        previous: true,
        ..LogParams::default()
    };
    let err = pods.logs(&name, &previous).await.unwrap_err().to_string();
    assert!(
        err.contains(&format!(
            "previous terminated container \"app\" in pod \"{name}\" not found"
        )),
        "{err}"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_succeed_or_fail_as_declared() {
    let t = SimTest::start(1).await;
    let job = |name: &str, annotations: serde_json::Value| {
        json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name},
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "metadata": {"labels": {"app": name}, "annotations": annotations},
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "work", "image": "shop/migrate:7"}]},
                },
            },
        })
    };
    let _: Job = t
        .create(job(
            "migrate-ok",
            json!({"sim.lookout.dev/run-for": "300ms"}),
        ))
        .await;
    let _: Job = t
        .create(job("migrate-bad", json!({"sim.lookout.dev/exit-code": "2", "sim.lookout.dev/logs": "ERROR: relation \"orders\" does not exist"})))
        .await;

    let shared = &t;
    let condition = |name: &'static str, kind: &'static str| {
        let api = shared.api::<Job>();
        async move {
            shared
                .wait_for(&format!("job {name} {kind}"), || async {
                    let job = api.get(name).await.ok()?;
                    let c = job
                        .status
                        .as_ref()?
                        .conditions
                        .as_ref()?
                        .iter()
                        .find(|c| c.type_ == kind && c.status == "True")?
                        .clone();
                    Some((job, c))
                })
                .await
        }
    };
    let (ok, _) = condition("migrate-ok", "Complete").await;
    assert_eq!(ok.status.unwrap().succeeded, Some(1));
    let done = t
        .pod_where("migrate-ok", "succeeded pod", |p| phase(p) == "Succeeded")
        .await;
    let term = status(&done)
        .unwrap()
        .state
        .clone()
        .unwrap()
        .terminated
        .unwrap();
    assert_eq!(
        (term.reason.as_deref(), term.exit_code),
        (Some("Completed"), 0)
    );

    let (_, failed) = condition("migrate-bad", "Failed").await;
    assert_eq!(failed.reason.as_deref(), Some("BackoffLimitExceeded"));
    let bad = t
        .pod_where("migrate-bad", "failed pod", |p| phase(p) == "Failed")
        .await;
    let term = status(&bad)
        .unwrap()
        .state
        .clone()
        .unwrap()
        .terminated
        .unwrap();
    assert_eq!((term.reason.as_deref(), term.exit_code), (Some("Error"), 2));
    let logs = t
        .api::<Pod>()
        .logs(bad.metadata.name.as_deref().unwrap(), &LogParams::default())
        .await
        .unwrap();
    assert!(
        logs.starts_with("ERROR: relation \"orders\" does not exist\n"),
        "{logs}"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemonset_pods_land_on_every_node() {
    let mark = unique("ds");
    let t = SimTest::start_with(3, |c| {
        c.nodes = c
            .nodes
            .iter()
            .map(|n| labelled(n, "sim-test", &mark))
            .collect();
    })
    .await;
    let _: DaemonSet = t
        .create(json!({
            "apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "agent"},
            "spec": {
                "selector": {"matchLabels": {"app": "agent"}},
                "template": {
                    "metadata": {"labels": {"app": "agent"}},
                    "spec": {"nodeSelector": {"sim-test": mark}, "containers": [{"name": "agent", "image": "shop/agent:2"}]},
                },
            },
        }))
        .await;
    let pods = t
        .wait_for("an agent ready on each node", || async {
            let pods = t.pods("agent").await;
            let mut nodes: Vec<String> = pods
                .iter()
                .filter(|p| is_ready(p))
                .map(|p| node_of(p).to_string())
                .collect();
            nodes.sort();
            (nodes == t.nodes).then_some(pods)
        })
        .await;
    assert_eq!(pods.len(), 3);
    t.wait_for("daemonset status", || async {
        let ds = t.api::<DaemonSet>().get("agent").await.ok()?;
        let s = ds.status?;
        (s.desired_number_scheduled == 3 && s.number_ready == 3).then_some(())
    })
    .await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_readiness_keeps_pods_running_but_unready_until_fixed() {
    let t = SimTest::start(1).await;
    let probe = json!({"readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 10}});
    let _: Deployment = t
        .create(deployment(
            "checkout",
            1,
            probe,
            json!({"sim.lookout.dev/ready": "false"}),
        ))
        .await;
    let p = t
        .pod_where("checkout", "running unready pod", |p| {
            phase(p) == "Running" && status(p).is_some_and(|s| s.started == Some(true) && !s.ready)
        })
        .await;
    let ready = p
        .status
        .as_ref()
        .unwrap()
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Ready")
        .unwrap()
        .clone();
    assert_eq!(ready.status, "False");
    assert_eq!(ready.reason.as_deref(), Some("ContainersNotReady"));
    assert_eq!(
        ready.message.as_deref(),
        Some("containers with unready status: [app]")
    );
    let name = p.metadata.name.clone().unwrap();
    let unhealthy = t
        .event_where(&name, "Unhealthy", |e| e.count.unwrap_or(0) >= 3)
        .await;
    assert_eq!(
        unhealthy.message.as_deref(),
        Some("Readiness probe failed: HTTP probe failed with statuscode: 503")
    );
    assert_eq!(unhealthy.type_.as_deref(), Some("Warning"));

    // The fix: the workload now passes its probe; the rollout brings a Ready pod.
    t.patch::<Deployment>(
        "checkout",
        json!({"spec": {"template": {"metadata": {"annotations": {"sim.lookout.dev/ready": "true"}}}}}),
    )
    .await;
    t.wait_for("rolled out and ready", || async {
        let d = t.api::<Deployment>().get("checkout").await.ok()?;
        let s = d.status?;
        let pods = t.pods("checkout").await;
        (s.updated_replicas == Some(1)
            && s.ready_replicas == Some(1)
            && pods.len() == 1
            && pods.iter().all(is_ready))
        .then_some(())
    })
    .await;
    t.stop().await;
}
