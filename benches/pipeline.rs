//! Throughput of detect + dedup + correlate on one core, from real pod JSON, with Redis on
//! loopback: `cargo bench --bench pipeline` (needs `scripts/test-env up` for Redis).
//!
//! The workload is a realistic watch stream: 2,000 pods of 200 Deployments, each update a full
//! pod object as the API server sends it (8.5 KB with managedFields). 97% of updates are
//! healthy pods changing status; 3% are pods of 20 failing Deployments crash-looping with a
//! growing restart count. Everything runs on a current-thread runtime (one core): JSON parsing
//! into the lean model, the observer's detection and diffing, and the incident tracker with its
//! Redis claims and writes.

#[path = "common.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use lookout::clock::SystemClock;
use lookout::cluster::{Change, Observed};
use lookout::config::{RedisConfig, SecretUrl};
use lookout::detect::Detector;
use lookout::incident::IncidentBus;
use lookout::incident::tracker::{Tracker, TrackerMetrics, TrackerSettings};
use lookout::model::Pod;
use lookout::observe::{ClusterEvent, Observer, ObserverMetrics};
use lookout::store::{RedisStore, RedisStoreOptions, Retention, SharedStore};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const DEPLOYMENTS: usize = 200;
const REPLICAS: usize = 10;
const FAILING_DEPLOYMENTS: usize = 20;
const UPDATES: usize = 60_000;
const FAILING_PERCENT: usize = 3;

fn main() {
    lookout::install_crypto_provider();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run());
}

fn template() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/model/testdata/pod.json"
    ))
    .expect("pod fixture");
    serde_json::from_str(&text).expect("pod json")
}

/// The fixture is a crash-looping pod; a healthy one runs and is Ready.
fn healthy(mut pod: Value) -> Value {
    for c in pod["status"]["conditions"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        c["status"] = json!("True");
        c.as_object_mut().map(|o| {
            o.remove("reason");
            o.remove("message")
        });
    }
    for cs in pod["status"]["containerStatuses"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        cs["ready"] = json!(true);
        cs["started"] = json!(true);
        cs["restartCount"] = json!(0);
        cs["lastState"] = json!({});
        cs["state"] = json!({"running": {"startedAt": "2024-05-01T10:10:00Z"}});
    }
    pod["status"]["phase"] = json!("Running");
    pod
}

/// One watch update of pod `p` of deployment `d`, as bytes.
fn update(base: &Value, d: usize, p: usize, version: usize, restarts: usize) -> Vec<u8> {
    let mut pod = base.clone();
    let deployment = format!("svc-{d}");
    let rs = format!("{deployment}-7d4b9c6f5");
    let name = format!("{rs}-{p:05}");
    pod["metadata"]["name"] = json!(name);
    pod["metadata"]["uid"] = json!(format!("uid-{d}-{p}"));
    pod["metadata"]["resourceVersion"] = json!(version.to_string());
    pod["metadata"]["ownerReferences"][0]["name"] = json!(rs);
    pod["metadata"]["labels"]["app"] = json!(deployment);
    pod["metadata"]["namespace"] = json!("bench");
    pod["spec"]["nodeName"] = json!(format!("node-{}", p % 20));
    if restarts > 0 {
        pod["status"]["containerStatuses"][0]["restartCount"] = json!(restarts);
    }
    serde_json::to_vec(&pod).expect("serialize")
}

async fn run() {
    let env = common::test_env();
    let redis_url = env["LOOKOUT_TEST_REDIS_URL"].clone();
    let crashing = template();
    let healthy_pod = healthy(template());

    // Pre-render the stream so the measurement is the pipeline, not the generator.
    let mut stream = Vec::with_capacity(UPDATES);
    let mut bytes = 0usize;
    let (mut failing, mut fine) = (0usize, 0usize);
    for i in 0..UPDATES {
        let body = if i % 100 < FAILING_PERCENT {
            failing += 1;
            let d = failing % FAILING_DEPLOYMENTS;
            let p = (failing / FAILING_DEPLOYMENTS) % REPLICAS;
            // Each round over the failing pods is one more restart.
            let restarts = 1 + failing / (FAILING_DEPLOYMENTS * REPLICAS);
            update(&crashing, d, p, i, restarts)
        } else {
            fine += 1;
            let healthy_deployments = DEPLOYMENTS - FAILING_DEPLOYMENTS;
            let d = FAILING_DEPLOYMENTS + fine % healthy_deployments;
            let p = (fine / healthy_deployments) % REPLICAS;
            update(&healthy_pod, d, p, i, 0)
        };
        bytes += body.len();
        stream.push(body);
    }

    let store: SharedStore = Arc::new(
        RedisStore::new(
            RedisStoreOptions {
                redis: RedisConfig {
                    url: SecretUrl::new(redis_url),
                    ..RedisConfig::default()
                },
                cluster: format!("bench-{}", std::process::id()),
                retention: Retention::from(&lookout::config::StoreConfig::default()),
            },
            &mut Default::default(),
        )
        .expect("redis store"),
    );
    let shutdown = CancellationToken::new();
    let bus = IncidentBus::default();
    let mut events = bus.subscribe();
    let (tracker, task) = Tracker::start(
        TrackerSettings {
            cluster: "bench".into(),
            correlation: lookout::correlate::CorrelationConfig {
                settle: Duration::ZERO,
                ..Default::default()
            },
            production_namespaces: Default::default(),
        },
        store,
        SystemClock::shared(),
        bus,
        TrackerMetrics::unregistered(),
        shutdown.clone(),
    );
    let mut observer = Observer::new(
        Detector::default(),
        SystemClock::shared(),
        tracker.clone(),
        ObserverMetrics::new(&mut Default::default()),
    );

    let started = Instant::now();
    for body in &stream {
        let pod: Pod = serde_json::from_slice(body).expect("parse pod");
        observer
            .handle(ClusterEvent::Pod(Observed {
                change: Change::Apply(pod),
                at: Instant::now(),
            }))
            .await;
    }
    // The tracker handles inputs in order: when this answers, everything before it is done.
    let _ = tracker
        .end(
            "bench/none",
            lookout::incident::IncidentState::Resolved,
            "bench",
        )
        .await;
    let elapsed = started.elapsed();

    let mut incidents = std::collections::BTreeSet::new();
    while let Ok(Ok(e)) = tokio::time::timeout(Duration::from_millis(500), events.recv()).await {
        incidents.insert(e.incident.id.clone());
    }
    let rate = UPDATES as f64 / elapsed.as_secs_f64();
    println!(
        "pipeline throughput: {UPDATES} pod updates ({:.1} MB of JSON, {FAILING_PERCENT}% failing) \
         in {:.2} s on one core = {:.0} updates/s ({:.1} µs each); {} incidents",
        bytes as f64 / 1e6,
        elapsed.as_secs_f64(),
        rate,
        1e6 / rate,
        incidents.len()
    );
    shutdown.cancel();
    let _ = task.await;
}
