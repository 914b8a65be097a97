//! Scheduled digests against the shared test Redis with time on a manual clock: a schedule
//! fires once although two processes run it, with the right figures for a seeded set of
//! incidents; a firing missed while every process was down is sent once on start, never
//! twice, and not at all when `include_missed` is off.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lookout::chat::console::ConsolePlatform;
use lookout::chat::outbound::{ChatMetrics, Outbound};
use lookout::chat::redact::NoRedaction;
use lookout::clock::{ManualClock, SystemClock};
use lookout::config::{RedisConfig, SecretUrl};
use lookout::correlate::Severity;
use lookout::digest::{DIGESTS, DigestConfig, Digester, LastSent};
use lookout::incident::{Acknowledgement, IncidentState, TimelineEntry, TimelineKind};
use lookout::store::{RedisStore, RedisStoreOptions, Retention, SharedStore, StoreExt};
use prometheus_client::registry::Registry;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::rig::{incident, seed};
use crate::support::{env, eventually, unique};

const WAIT: Duration = Duration::from_secs(20);

fn redis_store(cluster: &str) -> SharedStore {
    Arc::new(
        RedisStore::new(
            RedisStoreOptions {
                redis: RedisConfig {
                    url: SecretUrl::new(env().redis_url()),
                    ..RedisConfig::default()
                },
                cluster: cluster.into(),
                retention: Retention::from(&lookout::config::StoreConfig::default()),
            },
            &mut Registry::default(),
        )
        .expect("redis store"),
    )
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// One bot process: its own console, outbound queue and digester over the shared store.
struct Process {
    console: Arc<ConsolePlatform>,
    cancel: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Process {
    fn start(store: &SharedStore, clock: &ManualClock, digests: &[DigestConfig]) -> Self {
        let cancel = CancellationToken::new();
        let console = Arc::new(ConsolePlatform::with_io(
            "operator",
            Box::new(tokio::io::BufReader::new(tokio::io::empty())),
            Box::new(std::io::sink()),
            false,
        ));
        let outbound = Outbound::new(
            store.clone(),
            SystemClock::shared(),
            vec![console.clone()],
            ChatMetrics::unregistered(),
            cancel.child_token(),
        );
        let digester = Arc::new(Digester {
            cluster: "prod".into(),
            store: store.clone(),
            clock: Arc::new(clock.clone()),
            outbound,
            view: None,
            redact: Arc::new(NoRedaction),
            summarize: None,
            digests: digests.to_vec(),
        });
        let task = tokio::spawn(digester.run(cancel.child_token()));
        Self {
            console,
            cancel,
            task: Some(task),
        }
    }

    fn digests(&self) -> Vec<String> {
        self.console
            .transcript()
            .into_iter()
            .map(|m| m.message.to_plain())
            .filter(|t| t.contains("Digest for prod"))
            .collect()
    }
}

impl Process {
    /// Stops the process and waits until it has (so it cannot take a later firing).
    async fn stop(mut self) {
        self.cancel.cancel();
        if let Some(task) = self.task.take() {
            task.await.expect("digester stopped");
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

fn all_digests(processes: &[&Process]) -> Vec<String> {
    processes.iter().flat_map(|p| p.digests()).collect()
}

/// Waits until `n` digester tasks are parked on the clock (their next firing).
async fn parked(clock: &ManualClock, n: usize) {
    eventually(WAIT, &format!("{n} digest schedules waiting"), || async {
        (clock.pending_sleepers() >= n).then_some(())
    })
    .await;
}

fn daily(name: &str, include_missed: bool) -> DigestConfig {
    serde_yaml_ng::from_str(&format!(
        "{{ name: {name}, schedule: '0 9 * * *', timezone: Europe/Berlin, to: [console], include_missed: {include_missed} }}"
    ))
    .expect("digest config")
}

/// The seeded day, Berlin 09:00 = 08:00 UTC: the period is 2026-11-19 08:00 to 2026-11-20 08:00.
async fn seed_day(store: &SharedStore) {
    let mut open_critical = incident(
        1,
        "shop",
        "web",
        Severity::Critical,
        at("2026-11-20T07:00:00Z"),
    );
    open_critical.acked = Some(Acknowledgement {
        by: "slack:UALICE".into(),
        name: Some("Alice".into()),
        at: at("2026-11-20T07:05:00Z"),
    });
    let open_old = incident(2, "shop", "api", Severity::High, at("2026-11-17T10:00:00Z"));
    let ended = |n, dep: &str, state, from: &str, to: &str, by: Option<&str>| {
        let mut i = incident(n, "shop", dep, Severity::High, at(from));
        i.state = state;
        i.resolved_at = Some(at(to));
        i.ended_by = by.map(str::to_string);
        for e in i.signals.values_mut() {
            e.active = false;
        }
        i
    };
    let incidents = vec![
        open_critical,
        open_old,
        // Resolved in the period after 30m and 1h30m: median 1h.
        ended(
            3,
            "web",
            IncidentState::Resolved,
            "2026-11-19T12:00:00Z",
            "2026-11-19T12:30:00Z",
            Some("slack:UBOB"),
        ),
        ended(
            4,
            "cart",
            IncidentState::Resolved,
            "2026-11-20T01:00:00Z",
            "2026-11-20T02:30:00Z",
            None,
        ),
        ended(
            5,
            "docs",
            IncidentState::Dismissed,
            "2026-11-19T20:00:00Z",
            "2026-11-19T20:10:00Z",
            Some("slack:UBOB"),
        ),
        // Before the period: not counted.
        ended(
            6,
            "web",
            IncidentState::Resolved,
            "2026-11-18T01:00:00Z",
            "2026-11-18T02:00:00Z",
            None,
        ),
    ];
    seed(store, &incidents).await;
    let entry = |at_: &str, kind, text: &str, data| {
        TimelineEntry::new(at(at_), kind, text.to_string()).with_data(data)
    };
    for e in [
        entry(
            "2026-11-19T12:10:00Z",
            TimelineKind::Proposal,
            "restart web",
            json!({"approval": "ap-1", "summary": "rollout restart shop/web"}),
        ),
        entry(
            "2026-11-19T12:12:00Z",
            TimelineKind::Decision,
            "approved",
            json!({"approval": "ap-1", "verdict": "approved", "by": "slack:UBOB"}),
        ),
        entry(
            "2026-11-19T12:13:00Z",
            TimelineKind::Action,
            "executed rollout restart shop/web",
            json!({"approval": "ap-1", "action": "rollout_restart", "summary": "rollout restart shop/web", "result": "ok"}),
        ),
    ] {
        store
            .append_timeline_json("prod/INC-3", &e)
            .await
            .expect("timeline");
    }
}

#[tokio::test]
async fn a_schedule_fires_once_across_processes_and_a_missed_one_is_sent_once_on_start() {
    let store = redis_store(&unique("digest"));
    seed_day(&store).await;
    // First start a minute before the firing.
    let clock = ManualClock::new(at("2026-11-20T07:59:00Z"));
    let configs = [daily("daily", true), daily("quiet", false)];
    let a = Process::start(&store, &clock, &configs);
    let b = Process::start(&store, &clock, &configs);
    parked(&clock, 4).await;
    assert!(
        all_digests(&[&a, &b]).is_empty(),
        "nothing was due at the first start"
    );

    clock.advance(Duration::from_secs(60));
    eventually(WAIT, "the 09:00 digests", || async {
        (all_digests(&[&a, &b]).len() >= 2).then_some(())
    })
    .await;
    // Both processes handled the firing and wait for the next one.
    parked(&clock, 4).await;
    let sent = all_digests(&[&a, &b]);
    assert_eq!(
        sent.len(),
        2,
        "each schedule once, not once per process: {sent:#?}"
    );
    let text = &sent[0];
    for expected in [
        "2026-11-19 08:00 – 2026-11-20 08:00 UTC",
        "Open incidents: 2",
        "[CRITICAL] prod/INC-1",
        "acked by Alice",
        "Opened 4, resolved 2, dismissed 1 (median time to resolve 1h)",
        "prod/INC-3 Deployment shop/web: CrashLoopBackOff — resolved by slack:UBOB in 30m",
        "prod/INC-4 Deployment shop/cart: CrashLoopBackOff — resolved in 1h 30m",
        "Actions executed: 1",
        "rollout_restart on prod/INC-3 (ok, approved by slack:UBOB): rollout restart shop/web",
    ] {
        assert!(text.contains(expected), "`{expected}` in:\n{text}");
    }
    assert!(!text.contains("INC-6"), "ended before the period: {text}");
    let last: LastSent = store
        .get_json(DIGESTS, "daily")
        .await
        .unwrap()
        .expect("recorded");
    assert_eq!(last.last_fire, Some(at("2026-11-20T08:00:00Z")));

    // The figures themselves.
    let digester = Digester {
        cluster: "prod".into(),
        store: store.clone(),
        clock: Arc::new(clock.clone()),
        outbound: Outbound::new(
            store.clone(),
            SystemClock::shared(),
            vec![],
            ChatMetrics::unregistered(),
            CancellationToken::new(),
        ),
        view: None,
        redact: Arc::new(NoRedaction),
        summarize: None,
        digests: vec![],
    };
    let d = digester
        .digest(at("2026-11-19T08:00:00Z"), at("2026-11-20T08:00:00Z"))
        .await
        .unwrap();
    assert_eq!(
        d.open.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
        ["prod/INC-1", "prod/INC-2"]
    );
    assert_eq!(d.opened, 4);
    assert_eq!(d.ended.len(), 3);
    assert_eq!(d.median_time_to_resolve, Some(chrono::Duration::hours(1)));
    let noisy: HashMap<&str, usize> = d
        .noisiest
        .iter()
        .map(|n| (n.workload.as_str(), n.incidents))
        .collect();
    assert_eq!(noisy["Deployment shop/web"], 2, "{noisy:?}");
    assert_eq!(d.noisiest[0].workload, "Deployment shop/web");
    assert_eq!(d.actions.len(), 1);
    assert_eq!(d.actions[0].approved_by, ["slack:UBOB"]);

    // Every process down over the next morning's firing; two start again at 10:00 Berlin.
    a.stop().await;
    b.stop().await;
    clock.advance(Duration::from_secs(25 * 3600));
    let c = Process::start(&store, &clock, &configs);
    let d2 = Process::start(&store, &clock, &configs);
    eventually(WAIT, "the missed digest", || async {
        (!all_digests(&[&c, &d2]).is_empty()).then_some(())
    })
    .await;
    parked(&clock, 4).await;
    let missed = all_digests(&[&c, &d2]);
    assert_eq!(
        missed.len(),
        1,
        "sent once, and only where include_missed is on: {missed:#?}"
    );
    assert!(
        missed[0].contains("2026-11-20 08:00 – 2026-11-21 08:00 UTC"),
        "{}",
        missed[0]
    );
    let last: LastSent = store
        .get_json(DIGESTS, "daily")
        .await
        .unwrap()
        .expect("recorded");
    assert_eq!(last.last_fire, Some(at("2026-11-21T08:00:00Z")));

    // Another restart: the missed one was sent, so nothing is sent again.
    c.stop().await;
    d2.stop().await;
    let e = Process::start(&store, &clock, &configs);
    // The stopped processes' sleeps stay registered until their deadline: 4 of theirs + 2.
    parked(&clock, 6).await;
    assert!(e.digests().is_empty(), "never twice: {:#?}", e.digests());
}
