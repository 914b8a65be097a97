//! The tracker driven step by step with a manual clock and the memory store (or a store that
//! fails on demand).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::broadcast;

use super::*;
use crate::clock::{ManualClock, SharedClock};
use crate::correlate::{self, Severity};
use crate::detect::{Cause, Evidence, ObjectRef, SignalName};
use crate::incident::{IncidentEvent, IncidentEventKind, TimelineEntry};
use crate::store::*;

const SETTLE: Duration = Duration::from_secs(5);
const QUIET: Duration = Duration::from_secs(600);

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn settings() -> TrackerSettings {
    TrackerSettings {
        cluster: "prod".into(),
        correlation: CorrelationConfig::default(),
        production_namespaces: BTreeSet::from(["payments".to_string()]),
    }
}

/// A store that can be switched off, for outage tests.
struct Switchable {
    inner: MemoryStore,
    down: AtomicBool,
}

macro_rules! guard {
    ($self:ident) => {
        if $self.down.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("switched off".into()));
        }
    };
}

#[async_trait]
impl StateStore for Switchable {
    async fn ping(&self) -> StoreResult<()> {
        guard!(self);
        self.inner.ping().await
    }
    async fn claim_as(&self, k: &str, h: &str, t: Duration) -> StoreResult<Option<String>> {
        guard!(self);
        self.inner.claim_as(k, h, t).await
    }
    async fn claim_holder(&self, k: &str) -> StoreResult<Option<String>> {
        guard!(self);
        self.inner.claim_holder(k).await
    }
    async fn release(&self, k: &str) -> StoreResult<()> {
        guard!(self);
        self.inner.release(k).await
    }
    async fn put(&self, c: &str, i: &str, j: &str, t: Option<Duration>) -> StoreResult<()> {
        guard!(self);
        self.inner.put(c, i, j, t).await
    }
    async fn get(&self, c: &str, i: &str) -> StoreResult<Option<String>> {
        guard!(self);
        self.inner.get(c, i).await
    }
    async fn delete(&self, c: &str, i: &str) -> StoreResult<()> {
        guard!(self);
        self.inner.delete(c, i).await
    }
    async fn list(&self, c: &str) -> StoreResult<Vec<String>> {
        guard!(self);
        self.inner.list(c).await
    }
    async fn incr(&self, k: &str, by: i64, t: Option<Duration>) -> StoreResult<i64> {
        guard!(self);
        self.inner.incr(k, by, t).await
    }
    async fn append_timeline(&self, tl: &str, j: &str) -> StoreResult<u64> {
        guard!(self);
        self.inner.append_timeline(tl, j).await
    }
    async fn timeline(&self, tl: &str) -> StoreResult<Vec<String>> {
        guard!(self);
        self.inner.timeline(tl).await
    }
    async fn create_approval(&self, r: &ApprovalRecord) -> StoreResult<bool> {
        self.inner.create_approval(r).await
    }
    async fn approval(&self, id: &str) -> StoreResult<Option<StoredApproval>> {
        self.inner.approval(id).await
    }
    async fn decide(&self, id: &str, d: &Decision) -> StoreResult<DecideOutcome> {
        self.inner.decide(id, d).await
    }
    async fn add_vote(&self, id: &str, v: &str) -> StoreResult<Vec<String>> {
        self.inner.add_vote(id, v).await
    }
    async fn append_turn(&self, c: &str, j: &str) -> StoreResult<()> {
        self.inner.append_turn(c, j).await
    }
    async fn conversation(&self, c: &str) -> StoreResult<Vec<String>> {
        self.inner.conversation(c).await
    }
    async fn audit(&self, j: &str) -> StoreResult<String> {
        self.inner.audit(j).await
    }
    async fn audit_tail(&self, n: usize) -> StoreResult<Vec<AuditEntry>> {
        self.inner.audit_tail(n).await
    }
}

struct Harness {
    clock: ManualClock,
    store: Arc<Switchable>,
    bus: IncidentBus,
    events: broadcast::Receiver<IncidentEvent>,
    tracker: Tracker,
}

impl Harness {
    async fn new() -> Self {
        let clock = ManualClock::new(t0());
        let store = Arc::new(Switchable {
            inner: MemoryStore::new(
                Arc::new(clock.clone()),
                Retention::from(&crate::config::StoreConfig::default()),
            ),
            down: AtomicBool::new(false),
        });
        Self::with(clock, store).await
    }

    /// Another tracker (a restart, or a second process) on the same store and clock.
    async fn with(clock: ManualClock, store: Arc<Switchable>) -> Self {
        let bus = IncidentBus::new(4096);
        let events = bus.subscribe();
        let shared: SharedClock = Arc::new(clock.clone());
        let tracker = Tracker::load(
            settings(),
            store.clone(),
            shared,
            bus.clone(),
            TrackerMetrics::unregistered(),
            &CancellationToken::new(),
        )
        .await
        .expect("loads");
        Self {
            clock,
            store,
            bus,
            events,
            tracker,
        }
    }

    async fn raise(&mut self, s: Signal) {
        self.input(TrackerInput::Raised {
            signal: Box::new(s),
            observed: Instant::now(),
        })
        .await;
    }

    async fn clear(&mut self, s: &Signal) {
        self.input(TrackerInput::Cleared {
            key: s.key(),
            observed: Instant::now(),
        })
        .await;
    }

    async fn input(&mut self, input: TrackerInput) {
        self.tracker.submit(input).await;
        self.tracker.flush_or_schedule_retry(false).await;
    }

    async fn advance(&mut self, d: Duration) {
        self.clock.advance(d);
        self.tracker.fire_timers().await;
        self.tracker.flush_or_schedule_retry(true).await;
    }

    fn drain(&mut self) -> Vec<(IncidentEventKind, String)> {
        let mut out = Vec::new();
        while let Ok(e) = self.events.try_recv() {
            out.push((e.kind, e.incident.id.clone()));
        }
        out
    }

    fn open(&self) -> Vec<&Incident> {
        let mut v: Vec<_> = self.tracker.open_incidents().collect();
        v.sort_by_key(|i| i.number);
        v
    }

    async fn stored(&self, id: &str) -> Incident {
        self.store
            .get_json(INCIDENTS, id)
            .await
            .unwrap()
            .expect("stored")
    }
}

fn pod(name: SignalName, ns: &str, deployment: &str, i: usize) -> Signal {
    Signal {
        name,
        object: ObjectRef::namespaced("Pod", ns, &format!("{deployment}-5d8f-{i}")),
        owner: ObjectRef::namespaced("Deployment", ns, deployment),
        node: Some(format!("node-{}", i % 3)),
        cause: None,
        evidence: Evidence {
            reason: "CrashLoopBackOff".into(),
            ..Default::default()
        },
    }
}

fn on_node(mut s: Signal, node: &str) -> Signal {
    s.node = Some(node.into());
    s
}

fn missing_secret(ns: &str, deployment: &str, i: usize, secret: &str) -> Signal {
    let mut s = pod(SignalName::ContainerConfigError, ns, deployment, i);
    s.evidence.reason = "CreateContainerConfigError".into();
    s.evidence.message = format!("secret \"{secret}\" not found");
    s.cause = Some(Cause::MissingObject {
        kind: "Secret".into(),
        namespace: ns.into(),
        name: secret.into(),
    });
    s
}

fn node_not_ready(node: &str, pods: usize) -> Signal {
    let n = ObjectRef::cluster_scoped("Node", node);
    let mut evidence = Evidence {
        reason: "NodeStatusUnknown".into(),
        ..Default::default()
    };
    evidence.details.insert("pods".into(), pods.to_string());
    Signal {
        name: SignalName::NodeNotReady,
        object: n.clone(),
        owner: n,
        node: None,
        cause: None,
        evidence,
    }
}

#[tokio::test]
async fn a_signal_opens_an_incident_announced_after_the_settle_window() {
    let mut h = Harness::new().await;
    h.raise(pod(SignalName::CrashLoop, "shop", "web", 0)).await;
    let open = h.open();
    assert_eq!(open.len(), 1);
    let id = open[0].id.clone();
    assert_eq!(id, "prod/INC-1");
    assert_eq!(open[0].title, "Deployment shop/web: crash loop");
    assert_eq!(open[0].severity, Severity::Medium);
    assert!(
        h.drain().is_empty(),
        "not announced during the settle window"
    );
    // Stored at once, so a restart finds it.
    assert_eq!(h.stored(&id).await.state, IncidentState::Detected);
    assert_eq!(
        h.store.list(OPEN_INCIDENTS).await.unwrap(),
        std::slice::from_ref(&id)
    );

    // More of the same workload during the settle window: still one incident, one message.
    for i in 1..3 {
        h.raise(pod(SignalName::CrashLoop, "shop", "web", i)).await;
        h.raise(pod(SignalName::OomKilled, "shop", "web", i)).await;
    }
    h.advance(SETTLE).await;
    assert_eq!(h.drain(), [(IncidentEventKind::Created, id.clone())]);
    let incident = h.stored(&id).await;
    assert_eq!(incident.signals.len(), 5);
    assert!(incident.announced_at.is_some());
    assert_eq!(incident.title, "Deployment shop/web: OOMKilled, crash loop");

    // A change after the announcement is an update.
    h.raise(pod(SignalName::CrashLoop, "shop", "web", 7)).await;
    assert_eq!(h.drain(), [(IncidentEventKind::Updated, id.clone())]);
    // Evidence-only changes (restart count grew) edit nothing.
    let mut again = pod(SignalName::CrashLoop, "shop", "web", 7);
    again.evidence.count = Some(9);
    h.raise(again).await;
    assert!(h.drain().is_empty());

    let timeline: Vec<TimelineEntry> = h.store.timeline_json(&id).await.unwrap();
    assert_eq!(timeline[0].kind, crate::incident::TimelineKind::Detected);
    assert!(
        timeline
            .iter()
            .any(|e| e.kind == crate::incident::TimelineKind::Announced)
    );
}

#[tokio::test]
async fn storm_of_unrelated_crashes_makes_one_incident_per_deployment() {
    let mut h = Harness::new().await;
    for d in 0..30 {
        for p in 0..10 {
            h.raise(pod(SignalName::CrashLoop, "shop", &format!("svc-{d}"), p))
                .await;
        }
    }
    h.advance(SETTLE).await;
    assert_eq!(h.open().len(), 30);
    let created = h
        .drain()
        .into_iter()
        .filter(|(k, _)| *k == IncidentEventKind::Created)
        .count();
    assert_eq!(created, 30);
}

#[tokio::test]
async fn storm_on_one_missing_secret_makes_one_incident() {
    let mut h = Harness::new().await;
    for d in 0..30 {
        for p in 0..10 {
            h.raise(missing_secret("shop", &format!("svc-{d}"), p, "db-creds"))
                .await;
        }
    }
    h.advance(SETTLE).await;
    let open = h.open();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].workloads().len(), 30);
    assert_eq!(
        open[0].title,
        "missing Secret shop/db-creds: 30 workloads failing"
    );
    assert_eq!(
        open[0].primary,
        ObjectRef::namespaced("Secret", "shop", "db-creds")
    );
    assert_eq!(h.drain().len(), 1);
}

#[tokio::test]
async fn a_shared_cause_found_later_merges_announced_incidents() {
    let mut h = Harness::new().await;
    h.raise(pod(SignalName::CrashLoop, "shop", "api", 0)).await;
    h.raise(pod(SignalName::CrashLoop, "shop", "worker", 0))
        .await;
    h.advance(SETTLE).await;
    assert_eq!(h.drain().len(), 2);
    let (api, worker) = (h.open()[0].id.clone(), h.open()[1].id.clone());

    h.raise(missing_secret("shop", "api", 1, "db-creds")).await;
    h.raise(missing_secret("shop", "worker", 1, "db-creds"))
        .await;
    let open = h.open();
    assert_eq!(open.len(), 1, "merged");
    assert_eq!(
        open[0].id, api,
        "the first incident with the cause survives"
    );
    assert_eq!(open[0].merged_from, std::slice::from_ref(&worker));
    let events = h.drain();
    assert!(events.contains(&(
        IncidentEventKind::Merged { into: api.clone() },
        worker.clone()
    )));
    assert!(events.contains(&(IncidentEventKind::Updated, api.clone())));
    let absorbed = h.stored(&worker).await;
    assert_eq!(absorbed.state, IncidentState::Merged);
    assert_eq!(absorbed.merged_into.as_deref(), Some(api.as_str()));

    // Signals of the absorbed incident now belong to the survivor, in Redis too.
    let key = pod(SignalName::CrashLoop, "shop", "worker", 0).key();
    let holder = h
        .store
        .claim_holder(&correlate::dedup_key("prod", &key))
        .await
        .unwrap();
    assert_eq!(holder.as_deref(), Some(api.as_str()));
}

#[tokio::test]
async fn pods_on_a_failing_node_join_the_node_incident() {
    let mut h = Harness::new().await;
    // A pod goes unready first (its own incident, not yet announced)...
    h.raise(on_node(
        pod(SignalName::NotReady, "shop", "web", 0),
        "node-9",
    ))
    .await;
    // ...then the node is seen NotReady: the pod's incident merges into the node's.
    h.raise(node_not_ready("node-9", 12)).await;
    for d in 0..5 {
        h.raise(on_node(
            pod(SignalName::NotReady, "shop", &format!("w{d}"), 1),
            "node-9",
        ))
        .await;
    }
    // A pod elsewhere is not part of it.
    h.raise(on_node(
        pod(SignalName::CrashLoop, "shop", "other", 0),
        "node-1",
    ))
    .await;
    h.advance(SETTLE).await;
    let open = h.open();
    assert_eq!(open.len(), 2);
    let node = open.iter().find(|i| i.primary.kind == "Node").unwrap();
    assert_eq!(node.title, "Node node-9 NotReady (12 pods)");
    assert_eq!(node.severity, Severity::Critical);
    assert_eq!(node.pods().len(), 6);
    let created = h.drain();
    assert_eq!(created.len(), 2, "{created:?}");
}

#[tokio::test]
async fn clears_then_quiet_period_resolves_and_a_recurrence_is_new() {
    let mut h = Harness::new().await;
    let s = pod(SignalName::CrashLoop, "shop", "web", 0);
    h.raise(s.clone()).await;
    h.advance(SETTLE).await;
    let id = h.open()[0].id.clone();
    h.drain();

    h.clear(&s).await;
    assert_eq!(h.drain(), [(IncidentEventKind::Updated, id.clone())]);
    h.advance(QUIET / 2).await;
    // Flapping back within the quiet period keeps the same incident open.
    h.raise(s.clone()).await;
    h.clear(&s).await;
    h.drain();
    h.advance(QUIET / 2 + Duration::from_secs(1)).await;
    assert_eq!(
        h.open().len(),
        1,
        "the quiet period restarted at the last clear"
    );
    h.advance(QUIET / 2).await;
    assert!(h.open().is_empty());
    assert_eq!(h.drain(), [(IncidentEventKind::Resolved, id.clone())]);
    let resolved = h.stored(&id).await;
    assert_eq!(resolved.state, IncidentState::Resolved);
    assert!(h.store.list(OPEN_INCIDENTS).await.unwrap().is_empty());

    // Dedup keys were released: the same fault again is a new incident at once.
    h.raise(s).await;
    let open = h.open();
    assert_eq!(open.len(), 1);
    assert_ne!(open[0].id, id);
}

#[tokio::test]
async fn a_blip_inside_the_settle_window_is_never_announced() {
    let mut h = Harness::new().await;
    let s = pod(SignalName::NotReady, "shop", "web", 0);
    h.raise(s.clone()).await;
    h.clear(&s).await;
    h.advance(SETTLE).await;
    h.advance(QUIET).await;
    assert!(h.open().is_empty());
    assert!(h.drain().is_empty());
}

#[tokio::test]
async fn severity_only_rises() {
    let mut h = Harness::new().await;
    let oom = pod(SignalName::OomKilled, "payments", "checkout", 0);
    h.raise(oom.clone()).await;
    assert_eq!(h.open()[0].severity, Severity::High);
    h.clear(&oom).await;
    h.raise(pod(SignalName::HighRestarts, "payments", "checkout", 1))
        .await;
    assert_eq!(h.open()[0].severity, Severity::High);
}

#[tokio::test]
async fn a_restart_rebuilds_from_the_store_without_duplicates() {
    let mut h = Harness::new().await;
    let a = pod(SignalName::CrashLoop, "shop", "web", 0);
    let b = pod(SignalName::CrashLoop, "shop", "web", 1);
    h.raise(a.clone()).await;
    h.raise(b.clone()).await;
    h.advance(SETTLE).await;
    let id = h.open()[0].id.clone();

    // Restart: a new tracker on the same store. The watchers see `a` again, not `b`.
    let mut h2 = Harness::with(h.clock.clone(), h.store.clone()).await;
    assert_eq!(h2.open().len(), 1);
    h2.raise(a.clone()).await;
    h2.input(TrackerInput::Synced).await;
    assert_eq!(h2.open().len(), 1, "no duplicate incident");
    assert_eq!(h2.open()[0].id, id);
    assert!(
        !h2.open()[0]
            .signals
            .values()
            .find(|e| e.signal == b)
            .unwrap()
            .active
    );
    // The only event is the update for `b` having cleared while we were away.
    assert_eq!(h2.drain(), [(IncidentEventKind::Updated, id.clone())]);
    let _ = &h.bus;
}

#[tokio::test]
async fn a_restart_during_the_settle_window_still_announces_once() {
    let mut h = Harness::new().await;
    h.raise(pod(SignalName::CrashLoop, "shop", "web", 0)).await;
    let mut h2 = Harness::with(h.clock.clone(), h.store.clone()).await;
    h2.raise(pod(SignalName::CrashLoop, "shop", "web", 0)).await;
    h2.advance(SETTLE).await;
    assert_eq!(h2.drain().len(), 1);
    assert_eq!(h2.open().len(), 1);
}

#[tokio::test]
async fn two_processes_sharing_a_store_open_one_incident() {
    let mut a = Harness::new().await;
    let mut b = Harness::with(a.clock.clone(), a.store.clone()).await;
    a.raise(pod(SignalName::CrashLoop, "shop", "web", 0)).await;
    // b sees a different pod of the same workload first: the group claim sends it to a's.
    b.raise(pod(SignalName::OomKilled, "shop", "web", 1)).await;
    b.raise(pod(SignalName::CrashLoop, "shop", "web", 0)).await;
    assert_eq!(a.open()[0].id, b.open()[0].id);
    assert_eq!(b.open().len(), 1);
}

#[tokio::test]
async fn a_person_resolving_keeps_firing_signals_quiet_until_they_clear() {
    let mut h = Harness::new().await;
    let s = pod(SignalName::CrashLoop, "shop", "web", 0);
    h.raise(s.clone()).await;
    h.advance(SETTLE).await;
    let id = h.open()[0].id.clone();
    h.drain();

    h.input(TrackerInput::End {
        id: id.clone(),
        state: IncidentState::Resolved,
        by: "slack:U1".into(),
        reply: None,
    })
    .await;
    assert!(h.open().is_empty());
    assert_eq!(h.drain(), [(IncidentEventKind::Resolved, id.clone())]);
    assert_eq!(h.stored(&id).await.ended_by.as_deref(), Some("slack:U1"));

    // Still firing: no new incident.
    h.raise(s.clone()).await;
    assert!(h.open().is_empty());
    // Even after a restart.
    let mut h2 = Harness::with(h.clock.clone(), h.store.clone()).await;
    h2.raise(s.clone()).await;
    assert!(h2.open().is_empty());
    // Once it clears, a recurrence is a new incident.
    h2.clear(&s).await;
    h2.raise(s).await;
    assert_eq!(h2.open().len(), 1);
}

#[tokio::test]
async fn a_store_outage_delays_but_never_loses_or_doubles() {
    let mut h = Harness::new().await;
    h.store.down.store(true, Ordering::SeqCst);
    h.raise(pod(SignalName::CrashLoop, "shop", "web", 0)).await;
    h.raise(pod(SignalName::CrashLoop, "shop", "api", 0)).await;
    assert!(
        h.open().is_empty(),
        "nothing applied while the store is down"
    );
    assert_eq!(h.tracker.backlog.len(), 2);

    h.store.down.store(false, Ordering::SeqCst);
    h.tracker.retry().await;
    assert_eq!(h.open().len(), 2);
    assert!(h.tracker.backlog.is_empty());

    // An outage between the change and its write: the write is retried, the event waits.
    h.advance(Duration::from_secs(1)).await;
    h.store.down.store(true, Ordering::SeqCst);
    h.advance(SETTLE).await;
    assert!(h.drain().is_empty(), "not announced before it is stored");
    h.store.down.store(false, Ordering::SeqCst);
    h.tracker.retry().await;
    assert_eq!(h.drain().len(), 2);
    let ids: Vec<_> = h.open().iter().map(|i| i.id.clone()).collect();
    for id in ids {
        assert!(h.stored(&id).await.announced_at.is_some());
        let timeline: Vec<TimelineEntry> = h.store.timeline_json(&id).await.unwrap();
        let announced = timeline
            .iter()
            .filter(|e| e.kind == crate::incident::TimelineKind::Announced)
            .count();
        assert_eq!(announced, 1, "timeline written once");
    }
}

#[tokio::test]
async fn the_task_runs_timers_on_the_injected_clock() {
    let h = Harness::new().await;
    let clock = h.clock.clone();
    let mut events = h.bus.subscribe();
    let shutdown = CancellationToken::new();
    let (handle, task) = h.tracker.spawn(shutdown.clone());
    handle
        .send(TrackerInput::Raised {
            signal: Box::new(pod(SignalName::CrashLoop, "shop", "web", 0)),
            observed: Instant::now(),
        })
        .await;
    // Wait until the task parked on the settle timer, then move time.
    while clock.pending_sleepers() == 0 {
        tokio::task::yield_now().await;
    }
    clock.advance(SETTLE);
    let event = tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .expect("announced")
        .unwrap();
    assert_eq!(event.kind, IncidentEventKind::Created);
    let ended = handle
        .end(&event.incident.id, IncidentState::Dismissed, "slack:U1")
        .await
        .unwrap();
    assert_eq!(ended.state, IncidentState::Dismissed);
    assert!(
        handle
            .end(&event.incident.id, IncidentState::Resolved, "slack:U1")
            .await
            .is_err()
    );
    shutdown.cancel();
    task.await.unwrap();
}

#[tokio::test]
async fn remediation_moves_the_incident_and_the_card_follows() {
    let mut h = Harness::new().await;
    h.raise(pod(SignalName::OomKilled, "shop", "web", 0)).await;
    h.advance(SETTLE).await;
    let id = h.open()[0].id.clone();
    h.drain();
    let transition = |to, note: &str| TrackerInput::Update {
        id: id.clone(),
        change: IncidentChange::Transition {
            to,
            note: note.into(),
            by: None,
        },
        reply: None,
    };
    h.input(transition(IncidentState::Analyzing, "investigating"))
        .await;
    h.input(TrackerInput::Update {
        id: id.clone(),
        change: IncidentChange::Diagnosis("memory limit too low".into()),
        reply: None,
    })
    .await;
    let stored = h.stored(&id).await;
    assert_eq!(stored.state, IncidentState::Analyzing);
    assert_eq!(stored.diagnosis.as_deref(), Some("memory limit too low"));
    assert_eq!(
        h.drain(),
        [
            (IncidentEventKind::Updated, id.clone()),
            (IncidentEventKind::Updated, id.clone())
        ]
    );
    // The state machine refuses skipping ahead.
    let now = crate::clock::Clock::now(&h.clock);
    let refused = h.tracker.change(
        &id,
        IncidentChange::Transition {
            to: IncidentState::Verifying,
            note: "x".into(),
            by: None,
        },
        now,
    );
    assert!(
        refused
            .unwrap_err()
            .contains("cannot go from analyzing to verifying")
    );
    let timeline: Vec<TimelineEntry> = h.store.timeline_json(&id).await.unwrap();
    assert!(
        timeline
            .iter()
            .any(|e| e.text.contains("detected -> analyzing: investigating"))
    );
}
