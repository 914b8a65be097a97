//! Incident announced -> its card's `chat.postMessage` arrives at (fake) Slack:
//! `cargo bench --bench chat`. The whole chat path runs for real: the incident bus, the
//! notifier (routing, card rendering), the persisted outbound queue and the Slack adapter
//! (slack-morphism over HTTP) against the fake Slack of the integration tests. Each sample
//! goes to a channel of its own, so no per-channel pacing is pending, as the target says.

#[path = "common.rs"]
mod common;

#[path = "../tests/integration/fakes/mod.rs"]
#[allow(dead_code, unused_imports)]
mod fakes;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use lookout::chat::notifier::Notifier;
use lookout::chat::outbound::{ChatMetrics, Outbound};
use lookout::chat::redact::NoRedaction;
use lookout::chat::routing::RouteRule;
use lookout::chat::slack::{SlackConfig, SlackMode, SlackPlatform};
use lookout::clock::SystemClock;
use lookout::config::Secret;
use lookout::correlate::Severity;
use lookout::detect::{Evidence, ObjectRef, Signal, SignalName};
use lookout::incident::{
    Incident, IncidentBus, IncidentEventKind, IncidentState, SignalEntry, signal_id,
};
use lookout::store::{MemoryStore, Retention};
use tokio_util::sync::CancellationToken;

use fakes::slack::FakeSlack;

const SAMPLES: usize = 200;

fn main() {
    lookout::install_crypto_provider();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run());
}

fn incident(i: usize) -> Incident {
    let ns = format!("ns-{i}");
    let s = Signal {
        name: SignalName::OomKilled,
        object: ObjectRef::namespaced("Pod", &ns, "web-5d8f-x1"),
        owner: ObjectRef::namespaced("Deployment", &ns, "web"),
        node: Some("node-1".into()),
        cause: None,
        evidence: Evidence {
            reason: "OOMKilled".into(),
            message: "container app was OOM-killed (exit code 137) at its memory limit of 64Mi"
                .into(),
            container: Some("app".into()),
            ..Default::default()
        },
    };
    let mut signals = BTreeMap::new();
    signals.insert(
        signal_id(&s.key()),
        SignalEntry {
            signal: s.clone(),
            active: true,
            first_seen: Utc::now(),
            last_seen: Utc::now(),
            cleared_at: None,
            occurrences: 1,
        },
    );
    Incident {
        id: format!("bench/INC-{i}"),
        number: i as u64,
        cluster: "bench".into(),
        title: format!("Deployment {ns}/web: OOMKilled, crash loop"),
        primary: s.owner.clone(),
        state: IncidentState::Detected,
        severity: Severity::High,
        score: 65,
        signals,
        keys: Default::default(),
        causes: Default::default(),
        created_at: Utc::now(),
        updated_at: Utc::now(),
        announced_at: Some(Utc::now()),
        all_clear_since: None,
        resolved_at: None,
        ended_by: None,
        merged_into: None,
        merged_from: vec![],
        acked: None,
        silenced: None,
        diagnosis: None,
        revision: 1,
    }
}

async fn run() {
    let fake = FakeSlack::start().await;
    let mut rules = Vec::new();
    for i in 0..SAMPLES {
        let channel = format!("C0BENCH{i:04}");
        fake.add_channel(&channel, &format!("bench-{i}"));
        rules.push(
            serde_yaml_ng::from_str::<RouteRule>(&format!(
                "match: {{ namespaces: [ns-{i}] }}\nto: [ \"slack:{channel}\" ]\n"
            ))
            .expect("rule"),
        );
    }
    let slack = SlackPlatform::new(SlackConfig {
        mode: SlackMode::Socket,
        api_url: fake.api_url.clone(),
        bot_token: Secret::new(FakeSlack::BOT_TOKEN),
        app_token: Secret::new(FakeSlack::APP_TOKEN),
        ..SlackConfig::default()
    })
    .expect("slack adapter");
    let store = Arc::new(MemoryStore::new(
        SystemClock::shared(),
        Retention::from(&lookout::config::StoreConfig::default()),
    ));
    let cancel = CancellationToken::new();
    let outbound = Outbound::new(
        store.clone(),
        SystemClock::shared(),
        vec![Arc::new(slack)],
        ChatMetrics::unregistered(),
        cancel.child_token(),
    );
    let bus = IncidentBus::default();
    let notifier = Notifier {
        outbound,
        store,
        clock: SystemClock::shared(),
        rules,
        cluster: "bench".into(),
        redact: Arc::new(NoRedaction),
    };
    tokio::spawn(notifier.run(bus.subscribe(), cancel.child_token()));

    let mut samples = Vec::with_capacity(SAMPLES);
    for i in 0..SAMPLES {
        let channel = format!("C0BENCH{i:04}");
        let incident = incident(i);
        let t0 = Instant::now();
        bus.publish(IncidentEventKind::Created, incident);
        let card = loop {
            if let Some(m) = fake
                .bot_messages(&channel)
                .into_iter()
                .find(|m| m.thread().is_none())
            {
                break m;
            }
            assert!(t0.elapsed() < Duration::from_secs(10), "no card in 10 s");
            tokio::time::sleep(Duration::from_micros(200)).await;
        };
        samples.push(card.received.duration_since(t0).as_secs_f64() * 1000.0);
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    println!(
        "incident announced -> card's chat.postMessage at the fake Slack, {} incidents: \
         p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        samples.len(),
        common::percentile(&samples, 50.0),
        common::percentile(&samples, 90.0),
        common::percentile(&samples, 99.0),
        samples.last().copied().unwrap_or(f64::NAN)
    );
    cancel.cancel();
}
