//! The tracker: turns signal changes into incidents and keeps them.
//!
//! One task owns all open incidents in memory and processes inputs in order: a signal raised
//! or cleared, "the watchers finished their initial sync", a person ending an incident. Timers
//! (measured on the injected clock) announce incidents after the settle window and resolve them
//! after the quiet period.
//!
//! Redis is the shared truth between restarts and processes: every signal's dedup key
//! (SHA-256, `SET NX`, TTL) records the incident it belongs to, and a new incident claims its
//! correlation keys, so a restarted bot or a second process joins the existing incident instead
//! of opening another. Store reads and claims happen before an input changes anything; if Redis
//! is unavailable the input waits in a backlog and is retried in order, so nothing is lost or
//! applied twice. Writes (records, timeline entries, claim updates) go through an outbox that
//! is flushed after each batch and retried until it succeeds; bus events are published only
//! after the incident they carry is stored, so a crash can never announce an incident that a
//! restart would not find.

mod join;
mod metrics;
mod persist;
mod silences;

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub use metrics::TrackerMetrics;

use super::{Incident, IncidentBus, IncidentState};
use crate::clock::SharedClock;
use crate::correlate::CorrelationConfig;
use crate::detect::{Signal, SignalKey};
use crate::store::{SharedStore, StoreError, StoreExt, StoreResult};

/// Store collections the tracker uses.
pub const INCIDENTS: &str = "incidents";
pub const OPEN_INCIDENTS: &str = "open-incidents";
const SEQUENCE: &str = "incident-seq";
const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);
/// Evidence-only changes (a restart count grew) are written at most this often.
const LAZY_FLUSH: Duration = Duration::from_secs(1);
/// Inputs processed before one flush, so a storm is written in batches.
const BATCH: usize = 256;
/// Inputs waiting for the tracker; the observer waits when it is full.
const INPUT_QUEUE: usize = 4096;

/// What the tracker needs to know.
#[derive(Debug, Clone)]
pub struct TrackerSettings {
    pub cluster: String,
    pub correlation: CorrelationConfig,
    /// Namespaces whose incidents weigh more (`scope.production_namespaces`).
    pub production_namespaces: BTreeSet<String>,
}

/// What the tracker is told.
#[derive(Debug)]
pub enum TrackerInput {
    /// A signal appeared or its evidence changed. `observed` is when the object change that
    /// produced it was received, for the detection-latency histogram.
    Raised {
        signal: Box<Signal>,
        observed: Instant,
    },
    /// A signal's condition cleared.
    Cleared { key: SignalKey, observed: Instant },
    /// Every watcher finished its initial list: signals of loaded incidents that were not seen
    /// again are cleared.
    Synced,
    /// Remediation moves an incident along (state, diagnosis); the card is updated.
    Update {
        id: String,
        change: IncidentChange,
        reply: Option<oneshot::Sender<Result<Incident, String>>>,
    },
    /// Silences were added or removed: re-read them, mark the incidents they cover, and raise
    /// held signals no silence covers any more.
    SilencesChanged,
    /// A person resolves or dismisses an incident.
    End {
        id: String,
        state: IncidentState,
        by: String,
        reply: Option<oneshot::Sender<Result<Incident, String>>>,
    },
}

/// A change remediation makes to an open incident.
#[derive(Debug, Clone, PartialEq)]
pub enum IncidentChange {
    /// A state transition (checked against the state machine), with a note for the timeline.
    Transition {
        to: IncidentState,
        note: String,
        by: Option<String>,
    },
    /// The one-line diagnosis shown on the card.
    Diagnosis(String),
    /// Someone acknowledged it (reminders stop); the first acknowledgement stands.
    Acknowledge { by: String, name: Option<String> },
}

/// Where to send inputs; cheap to clone.
#[derive(Clone)]
pub struct TrackerHandle {
    tx: mpsc::Sender<TrackerInput>,
}

impl TrackerHandle {
    /// A handle whose inputs go to `rx` instead of a tracker: for one-shot tools (`lookout
    /// scan`) and tests that only want the signals.
    pub fn detached(capacity: usize) -> (Self, mpsc::Receiver<TrackerInput>) {
        let (tx, rx) = mpsc::channel(capacity);
        (Self { tx }, rx)
    }

    /// Sends an input; false if the tracker has stopped.
    pub async fn send(&self, input: TrackerInput) -> bool {
        self.tx.send(input).await.is_ok()
    }

    /// Applies a change to an open incident and returns it.
    pub async fn update(&self, id: &str, change: IncidentChange) -> Result<Incident, String> {
        let (reply, rx) = oneshot::channel();
        let input = TrackerInput::Update {
            id: id.to_string(),
            change,
            reply: Some(reply),
        };
        if !self.send(input).await {
            return Err("the incident tracker has stopped".into());
        }
        rx.await
            .unwrap_or_else(|_| Err("the incident tracker has stopped".into()))
    }

    /// Tells the tracker that silences changed in the store.
    pub async fn silences_changed(&self) -> bool {
        self.send(TrackerInput::SilencesChanged).await
    }

    /// Ends an incident by hand and returns it as stored.
    pub async fn end(&self, id: &str, state: IncidentState, by: &str) -> Result<Incident, String> {
        let (reply, rx) = oneshot::channel();
        let input = TrackerInput::End {
            id: id.to_string(),
            state,
            by: by.to_string(),
            reply: Some(reply),
        };
        if !self.send(input).await {
            return Err("the incident tracker has stopped".into());
        }
        rx.await
            .unwrap_or_else(|_| Err("the incident tracker has stopped".into()))
    }
}

/// The tracker; see the module docs.
pub struct Tracker {
    settings: TrackerSettings,
    store: SharedStore,
    clock: SharedClock,
    bus: IncidentBus,
    metrics: TrackerMetrics,
    /// Open incidents by id.
    open: HashMap<String, Incident>,
    /// Incidents that ended but whose final state is not stored yet.
    ended: HashMap<String, Incident>,
    /// Correlation key -> open incident holding it.
    by_key: HashMap<String, String>,
    /// Signal -> open incident it belongs to (active or cleared).
    by_signal: HashMap<SignalKey, String>,
    /// Signals still firing for incidents a person ended: quiet until they clear.
    suppressed: HashMap<SignalKey, String>,
    /// (when, incident id): announce or resolve checks.
    timers: BTreeSet<(DateTime<Utc>, String)>,
    outbox: persist::Outbox,
    /// Signals seen since start; `None` once the initial sync is done.
    reconfirmed: Option<HashSet<SignalKey>>,
    /// Inputs waiting for the store to come back, in arrival order.
    backlog: VecDeque<TrackerInput>,
    retry_delay: Duration,
    /// Latency samples of the inputs in the current batch.
    observed: Vec<Instant>,
    /// Silences as last read, and the signals they hold back.
    silences: silences::Silenced,
}

impl Tracker {
    /// Loads the open incidents from the store, waiting (with backoff) while it is unavailable.
    pub async fn load(
        settings: TrackerSettings,
        store: SharedStore,
        clock: SharedClock,
        bus: IncidentBus,
        metrics: TrackerMetrics,
        shutdown: &CancellationToken,
    ) -> Option<Self> {
        let mut tracker = Self {
            settings,
            store,
            clock,
            bus,
            metrics,
            open: HashMap::new(),
            ended: HashMap::new(),
            by_key: HashMap::new(),
            by_signal: HashMap::new(),
            suppressed: HashMap::new(),
            timers: BTreeSet::new(),
            outbox: persist::Outbox::default(),
            reconfirmed: Some(HashSet::new()),
            backlog: VecDeque::new(),
            retry_delay: Duration::from_millis(200),
            observed: Vec::new(),
            silences: silences::Silenced::default(),
        };
        let mut delay = Duration::from_millis(200);
        loop {
            match tracker.load_open().await {
                Ok(n) => {
                    info!(open_incidents = n, "incident tracker loaded");
                    tracker.metrics.refresh(tracker.open.values());
                    return Some(tracker);
                }
                Err(error) => {
                    warn!(%error, retry_in = ?delay, "cannot load open incidents yet");
                    tokio::select! {
                        _ = shutdown.cancelled() => return None,
                        _ = tracker.clock.sleep(delay) => {}
                    }
                    delay = (delay * 2).min(MAX_RETRY_DELAY);
                }
            }
        }
    }

    async fn load_open(&mut self) -> StoreResult<usize> {
        let now = self.clock.now();
        let ids = self.store.list(OPEN_INCIDENTS).await?;
        for id in ids {
            match self.store.get_json::<Incident>(INCIDENTS, &id).await? {
                Some(incident) if incident.is_open() => self.adopt(incident, now),
                // Ended, or its record expired: the index entry is stale.
                _ => self.store.delete(OPEN_INCIDENTS, &id).await?,
            }
        }
        Ok(self.open.len())
    }

    /// Open incidents, for tests and status views.
    pub fn open_incidents(&self) -> impl Iterator<Item = &Incident> {
        self.open.values()
    }

    /// Starts the tracker task; returns where to send inputs.
    pub fn spawn(
        self,
        shutdown: CancellationToken,
    ) -> (TrackerHandle, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(INPUT_QUEUE);
        let task = tokio::spawn(self.run(rx, shutdown));
        (TrackerHandle { tx }, task)
    }

    /// Starts a task that loads the tracker (waiting for the store as long as it takes) and
    /// runs it. The handle works at once: inputs queue until the tracker is loaded.
    pub fn start(
        settings: TrackerSettings,
        store: SharedStore,
        clock: SharedClock,
        bus: IncidentBus,
        metrics: TrackerMetrics,
        shutdown: CancellationToken,
    ) -> (TrackerHandle, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(INPUT_QUEUE);
        let task = tokio::spawn(async move {
            if let Some(tracker) = Self::load(settings, store, clock, bus, metrics, &shutdown).await
            {
                tracker.run(rx, shutdown).await;
            }
        });
        (TrackerHandle { tx }, task)
    }

    async fn run(mut self, mut rx: mpsc::Receiver<TrackerInput>, shutdown: CancellationToken) {
        loop {
            let now = self.clock.now();
            let timer_in = self
                .timers
                .first()
                .map(|(at, _)| (*at - now).to_std().unwrap_or(Duration::ZERO));
            let retry_in = self.needs_retry().then_some(self.retry_delay);
            let lazy_in = self.outbox.has_lazy().then_some(LAZY_FLUSH);
            let silence_in = self
                .silences
                .next_expiry(now)
                .map(|at| (at - now).to_std().unwrap_or(Duration::ZERO));
            let clock = self.clock.clone();
            let sleep = |d: Option<Duration>| {
                let clock = clock.clone();
                async move {
                    match d {
                        Some(d) => clock.sleep(d).await,
                        None => futures::future::pending::<()>().await,
                    }
                }
            };
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                input = rx.recv() => {
                    let Some(input) = input else { break };
                    self.submit(input).await;
                    // Take whatever else is queued, then write once.
                    for _ in 1..BATCH {
                        match rx.try_recv() {
                            Ok(input) => self.submit(input).await,
                            Err(_) => break,
                        }
                    }
                    // Under a steady stream of inputs the timer branch may not get its turn:
                    // announcements and resolutions that are due go out with this batch.
                    self.fire_timers().await;
                    self.flush_or_schedule_retry(false).await;
                }
                _ = sleep(timer_in) => {
                    self.fire_timers().await;
                    self.flush_or_schedule_retry(false).await;
                }
                _ = sleep(retry_in) => self.retry().await,
                _ = sleep(lazy_in) => self.flush_or_schedule_retry(true).await,
                _ = sleep(silence_in) => {
                    self.submit(TrackerInput::SilencesChanged).await;
                    self.flush_or_schedule_retry(false).await;
                }
            }
        }
        // Persist what is in memory before stopping; a failure here is retried by the next
        // start, which re-derives everything from the cluster and the store.
        if let Err(error) = self.flush(true).await {
            warn!(%error, "could not store every incident change before stopping");
        }
    }

    fn needs_retry(&self) -> bool {
        !self.backlog.is_empty() || self.outbox.has_urgent()
    }

    async fn submit(&mut self, input: TrackerInput) {
        if !self.backlog.is_empty() {
            self.backlog.push_back(input);
            return;
        }
        if let Err((input, error)) = self.process(input).await {
            warn!(%error, "state store unavailable; holding signal changes until it returns");
            self.backlog.push_back(*input);
        }
    }

    /// Applies one input. On a store error nothing was changed, and the input is handed back.
    async fn process(
        &mut self,
        input: TrackerInput,
    ) -> Result<(), (Box<TrackerInput>, StoreError)> {
        let now = self.clock.now();
        match input {
            TrackerInput::Raised { signal, observed } => {
                match self.raise((*signal).clone(), now).await {
                    Ok(()) => self.observed.push(observed),
                    Err(e) => {
                        return Err((Box::new(TrackerInput::Raised { signal, observed }), e));
                    }
                }
            }
            TrackerInput::Cleared { key, observed } => {
                self.clear(&key, now);
                self.observed.push(observed);
            }
            TrackerInput::Synced => self.synced(now),
            TrackerInput::SilencesChanged => {
                if let Err(e) = self.silences_changed(now).await {
                    return Err((Box::new(TrackerInput::SilencesChanged), e));
                }
            }
            TrackerInput::Update { id, change, reply } => {
                let result = self.change(&id, change, now);
                if let Some(reply) = reply {
                    let _ = reply.send(result);
                }
            }
            TrackerInput::End {
                id,
                state,
                by,
                reply,
            } => {
                let result = self.end_by_person(&id, state, &by, now);
                if let Some(reply) = reply {
                    let _ = reply.send(result);
                }
            }
        }
        Ok(())
    }

    async fn fire_timers(&mut self) {
        let now = self.clock.now();
        while let Some((at, id)) = self.timers.first().cloned() {
            if at > now {
                break;
            }
            self.timers.remove(&(at, id.clone()));
            self.check(&id, now);
        }
    }

    async fn retry(&mut self) {
        if self.outbox.has_urgent() && self.flush(false).await.is_err() {
            self.back_off();
            return;
        }
        while let Some(input) = self.backlog.pop_front() {
            if let Err((input, _)) = self.process(input).await {
                self.backlog.push_front(*input);
                self.back_off();
                return;
            }
        }
        info!("state store reachable again; held signal changes applied");
        self.flush_or_schedule_retry(false).await;
    }

    async fn flush_or_schedule_retry(&mut self, include_lazy: bool) {
        match self.flush(include_lazy).await {
            Ok(()) => self.retry_delay = Duration::from_millis(200),
            Err(error) => {
                warn!(%error, retry_in = ?self.retry_delay, "cannot store incident changes yet");
                self.back_off();
            }
        }
    }

    fn back_off(&mut self) {
        self.retry_delay = (self.retry_delay * 2).min(MAX_RETRY_DELAY);
    }

    fn schedule(&mut self, at: DateTime<Utc>, id: &str) {
        self.timers.insert((at, id.to_string()));
    }
}

fn chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

#[cfg(test)]
mod tests;
