//! Benchmarks against the real test cluster (`scripts/test-env up` first):
//! `cargo bench --bench cluster` prints
//! - detection latency: a pod's status written to the API server -> its incident created,
//!   p50/p90/p99 over 200 pods, with the whole bot running in-process;
//! - memory: the RSS of a `lookout run` process after its initial sync of 10,000 pods and
//!   20,000 events, next to the raw JSON size of those objects.

#[path = "common.rs"]
mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Event, Namespace, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use lookout::app::App;
use lookout::config::{Config, SecretUrl};
use lookout::incident::IncidentEventKind;
use serde_json::json;

const LATENCY_SAMPLES: usize = 200;
const MEMORY_PODS: usize = 10_000;
const MEMORY_EVENTS: usize = 20_000;
const CONCURRENCY: usize = 16;

fn main() {
    lookout::install_crypto_provider();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let env = common::test_env();
        let kubeconfig = PathBuf::from(&env["LOOKOUT_TEST_KUBECONFIG"]);
        let client = client(&kubeconfig).await;
        let only = std::env::args().nth(1).filter(|a| !a.starts_with('-'));
        if only.as_deref().is_none_or(|o| o == "latency") {
            latency(&client, &kubeconfig, &env["LOOKOUT_TEST_REDIS_URL"]).await;
        }
        if only.as_deref().is_none_or(|o| o == "memory") {
            memory(&client, &kubeconfig).await;
        }
    });
}

async fn client(kubeconfig: &Path) -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig).expect("kubeconfig");
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("kube config");
    kube::Client::try_from(cfg).expect("client")
}

async fn namespace(client: &kube::Client, prefix: &str) -> String {
    let name = format!("{prefix}-{}", std::process::id());
    let ns: Namespace =
        serde_json::from_value(json!({"metadata": {"name": name}})).expect("namespace");
    let _ = Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await;
    name
}

/// Deletes the namespace. Its pods are bound to nodes no kubelet serves, so they are deleted
/// with a grace period of 0 first (as `kubectl delete --force` would); otherwise they would
/// stay Terminating and be listed by every later watch.
async fn delete_namespace(client: &kube::Client, name: &str) {
    let _ = Api::<Pod>::namespaced(client.clone(), name)
        .delete_collection(
            &DeleteParams::default().grace_period(0),
            &Default::default(),
        )
        .await;
    let _ = Api::<Namespace>::all(client.clone())
        .delete(name, &DeleteParams::default())
        .await;
}

fn bare_pod(name: &str, node: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"bench": "lookout"}},
        "spec": {"nodeName": node, "containers": [{"name": "app", "image": "shop/app:1.0",
            "resources": {"limits": {"memory": "64Mi"}}}]},
    }))
    .expect("pod")
}

fn running_status() -> serde_json::Value {
    json!({"status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True"}, {"type": "PodScheduled", "status": "True"}],
        "containerStatuses": [{"name": "app", "image": "shop/app:1.0", "imageID": "", "ready": true,
            "restartCount": 0, "started": true, "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}]}})
}

fn oom_crash_loop_status(pod: &str) -> serde_json::Value {
    json!({"status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "False", "reason": "ContainersNotReady"},
        {"type": "PodScheduled", "status": "True"}],
        "containerStatuses": [{"name": "app", "image": "shop/app:1.0", "imageID": "", "ready": false,
            "restartCount": 3, "started": false,
            "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled",
                "startedAt": "2026-01-01T00:00:00Z", "finishedAt": "2026-01-01T00:00:05Z"}},
            "state": {"waiting": {"reason": "CrashLoopBackOff",
                "message": format!("back-off 40s restarting failed container=app pod={pod}")}}}]}})
}

async fn latency(client: &kube::Client, kubeconfig: &Path, redis: &str) {
    let ns = namespace(client, "bench-latency").await;
    let mut config = Config {
        cluster: format!("bench-{}", std::process::id()),
        ..Config::default()
    };
    config.redis.url = SecretUrl::new(redis);
    config.kubernetes.kubeconfig = Some(kubeconfig.to_path_buf());
    config.http.listen = "127.0.0.1:0".parse().expect("addr");
    config.scope.include_namespaces = vec![ns.clone()];
    // Measure creation, not the settle window.
    config.correlation.settle = Duration::ZERO;
    let app = App::build(config).await.expect("bot");
    let mut bus = app.bus().subscribe();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let bot = tokio::spawn(app.run(async {
        let _ = stopped.await;
    }));
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    tokio::time::sleep(Duration::from_secs(2)).await; // initial sync

    let mut samples = Vec::with_capacity(LATENCY_SAMPLES);
    for i in 0..LATENCY_SAMPLES {
        let name = format!("lat-{i}");
        pods.create(&PostParams::default(), &bare_pod(&name, "bench-node"))
            .await
            .expect("create pod");
        pods.patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(running_status()),
        )
        .await
        .expect("running");
        tokio::time::sleep(Duration::from_millis(20)).await;
        let t0 = Instant::now();
        pods.patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(oom_crash_loop_status(&name)),
        )
        .await
        .expect("crash loop");
        loop {
            let e = tokio::time::timeout(Duration::from_secs(10), bus.recv())
                .await
                .expect("incident within 10 s")
                .expect("bus");
            if e.kind == IncidentEventKind::Created && e.incident.primary.name == name {
                break;
            }
        }
        samples.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    println!(
        "detection latency (pod status written -> incident created), {} pods: \
         p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        samples.len(),
        common::percentile(&samples, 50.0),
        common::percentile(&samples, 90.0),
        common::percentile(&samples, 99.0),
        samples.last().copied().unwrap_or(f64::NAN)
    );
    let _ = stop.send(());
    let _ = bot.await;
    delete_namespace(client, &ns).await;
}

async fn memory(client: &kube::Client, kubeconfig: &Path) {
    let ns = namespace(client, "bench-memory").await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let events: Api<Event> = Api::namespaced(client.clone(), &ns);
    let started = Instant::now();
    futures::stream::iter(0..MEMORY_PODS)
        .map(|i| {
            let pods = pods.clone();
            async move {
                let name = format!("mem-{i:05}");
                pods.create(
                    &PostParams::default(),
                    &bare_pod(&name, &format!("mem-node-{}", i % 50)),
                )
                .await
                .expect("create pod");
                pods.patch_status(
                    &name,
                    &PatchParams::default(),
                    &Patch::Merge(running_status()),
                )
                .await
                .expect("status");
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    let reasons = [
        ("Normal", "Scheduled", "Successfully assigned to node"),
        (
            "Normal",
            "Pulled",
            "Container image \"shop/app:1.0\" already present on machine",
        ),
        ("Normal", "Created", "Created container app"),
        ("Normal", "Started", "Started container app"),
        ("Warning", "BackOff", "Back-off restarting failed container"),
        (
            "Warning",
            "Unhealthy",
            "Readiness probe failed: HTTP probe failed with statuscode: 503",
        ),
    ];
    futures::stream::iter(0..MEMORY_EVENTS)
        .map(|i| {
            let events = events.clone();
            let ns = ns.clone();
            async move {
                let (type_, reason, message) = reasons[i % reasons.len()];
                let pod = format!("mem-{:05}", i % MEMORY_PODS);
                let now = chrono::Utc::now().to_rfc3339();
                let e: Event = serde_json::from_value(json!({
                    "metadata": {"name": format!("{pod}.{i:x}"), "namespace": ns},
                    "involvedObject": {"kind": "Pod", "namespace": ns, "name": pod, "apiVersion": "v1"},
                    "reason": reason, "message": message, "type": type_, "count": 1,
                    "firstTimestamp": now, "lastTimestamp": now,
                    "source": {"component": "kubelet", "host": "mem-node"},
                }))
                .expect("event");
                events.create(&PostParams::default(), &e).await.expect("create event");
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    let created_in = started.elapsed();

    let raw = |path: String| {
        let client = client.clone();
        async move {
            let req = http::Request::get(path).body(Vec::new()).expect("request");
            client.request_text(req).await.expect("raw list").len()
        }
    };
    let pods_json = raw(format!("/api/v1/namespaces/{ns}/pods")).await;
    let events_json = raw(format!("/api/v1/namespaces/{ns}/events")).await;

    let config = tempfile::NamedTempFile::new().expect("config file");
    std::fs::write(
        config.path(),
        format!("scope:\n  include_namespaces: [{ns}]\n"),
    )
    .expect("write config");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_lookout"))
        .arg("run")
        .env_clear()
        .env("LOOKOUT_STORE", "memory")
        .env("LOOKOUT_CONFIG", config.path())
        .env("KUBECONFIG", kubeconfig)
        .env("LOOKOUT_HTTP_LISTEN", format!("127.0.0.1:{port}"))
        .env("LOOKOUT_LOG_FORMAT", "json")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start lookout");
    let sync_started = Instant::now();
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    loop {
        match lines.next() {
            Some(Ok(line)) if line.contains("initial sync complete") => break,
            Some(Ok(_)) => {}
            _ => panic!("lookout exited before its initial sync"),
        }
    }
    let synced_in = sync_started.elapsed();
    std::thread::spawn(move || for _ in lines {}); // keep draining its log
    tokio::time::sleep(Duration::from_secs(2)).await;
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", child.id())).expect("proc status");
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(f64::NAN)
    };
    println!(
        "memory after initial sync of {MEMORY_PODS} pods and {MEMORY_EVENTS} events \
         (raw JSON: pods {:.1} MB, events {:.1} MB): RSS {:.1} MB, peak {:.1} MB; \
         sync took {:.1} s (objects created in {:.0} s)",
        pods_json as f64 / 1e6,
        events_json as f64 / 1e6,
        field("VmRSS:"),
        field("VmHWM:"),
        synced_in.as_secs_f64(),
        created_in.as_secs_f64(),
    );
    let _ = child.kill();
    let _ = child.wait();
    delete_namespace(client, &ns).await;
}
