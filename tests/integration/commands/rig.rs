//! A bot's chat side around one chat harness, as `app.rs` wires it: the real tracker, notifier,
//! handler, commands and card buttons over a memory store, with time on a [`ManualClock`] so
//! silences expire and reminders fall due when the test says. Incidents are seeded as stored
//! records the tracker loads, so each test knows their ids and severities.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use lookout::approval::ApprovalsConfig;
use lookout::audit::{Audit, AuditConfig};
use lookout::chat::ActionCodec;
use lookout::chat::commands::{ACK, CardButtons, Commands, SILENCE};
use lookout::chat::handler::ChatHandler;
use lookout::chat::notifier::Notifier;
use lookout::chat::outbound::{ChatMetrics, Outbound, Post};
use lookout::chat::redact::NoRedaction;
use lookout::chat::routing::RouteRule;
use lookout::clock::{Clock, ManualClock, SharedClock, SystemClock};
use lookout::conversation::reply::{Offered, answer_messages};
use lookout::conversation::suggestions;
use lookout::conversation::tools::Suggestion;
use lookout::conversation::{PROPOSE, ProposeButton};
use lookout::correlate::Severity;
use lookout::detect::{Evidence, ObjectRef, Signal, SignalName};
use lookout::digest::{ClusterView, Digester};
use lookout::incident::tracker::{
    INCIDENTS, IncidentChange, OPEN_INCIDENTS, Tracker, TrackerHandle, TrackerInput,
    TrackerMetrics, TrackerSettings,
};
use lookout::incident::{
    Incident, IncidentBus, IncidentEvent, IncidentEventKind, IncidentState, SignalEntry, signal_id,
};
use lookout::remediation::{Proposal, ProposalInbox};
use lookout::store::{MemoryStore, Retention, SharedStore, StoreExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::chat::harness::{ChatHarness, SeenMessage};
use crate::support::eventually;

pub const CLUSTER: &str = "prod";
/// Long enough for Telegram's pacing (about 20 messages a minute to one group): the read-only
/// case alone posts more than that.
pub const WAIT: Duration = Duration::from_secs(120);

/// The chat side of one bot around a harness.
pub struct CommandRig {
    pub h: Arc<dyn ChatHarness>,
    pub store: SharedStore,
    pub clock: ManualClock,
    pub outbound: Outbound,
    pub tracker: TrackerHandle,
    pub bus: IncidentBus,
    pub cancel: CancellationToken,
    /// What the Propose button handed to remediation; a stand-in engine takes each and
    /// answers "Proposing <action> for <incident>".
    pub proposed: Arc<Mutex<Vec<Proposal>>>,
}

/// A pod of `deployment` in `ns` crash-looping (or OOM-killed): one signal.
pub fn signal(ns: &str, deployment: &str, name: SignalName) -> Signal {
    Signal {
        name,
        object: ObjectRef::namespaced("Pod", ns, &format!("{deployment}-5d8f-x1")),
        owner: ObjectRef::namespaced("Deployment", ns, deployment),
        node: Some("node-1".into()),
        cause: None,
        evidence: Evidence {
            reason: "CrashLoopBackOff".into(),
            message: "back-off restarting failed container".into(),
            container: Some("app".into()),
            ..Default::default()
        },
    }
}

/// An announced, open incident `INC-<n>` about `deployment` in `ns`, its signal still firing.
pub fn incident(
    n: u64,
    ns: &str,
    deployment: &str,
    severity: Severity,
    at: DateTime<Utc>,
) -> Incident {
    let s = signal(ns, deployment, SignalName::CrashLoop);
    let keys = lookout::correlate::keys(&s);
    let mut signals = BTreeMap::new();
    signals.insert(
        signal_id(&s.key()),
        SignalEntry {
            signal: s.clone(),
            active: true,
            first_seen: at,
            last_seen: at,
            cleared_at: None,
            occurrences: 3,
        },
    );
    Incident {
        id: format!("{CLUSTER}/INC-{n}"),
        number: n,
        cluster: CLUSTER.into(),
        title: format!("Deployment {ns}/{deployment}: CrashLoopBackOff"),
        primary: s.owner.clone(),
        state: IncidentState::Detected,
        severity,
        score: 50,
        signals,
        keys: std::iter::once(keys.owner).collect(),
        causes: Default::default(),
        created_at: at,
        updated_at: at,
        announced_at: Some(at),
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

/// Stores incidents as the tracker would have (open ones listed as open).
pub async fn seed(store: &SharedStore, incidents: &[Incident]) {
    for i in incidents {
        store
            .put_json(INCIDENTS, &i.id, i, None)
            .await
            .expect("seed incident");
        if i.is_open() {
            store
                .put(OPEN_INCIDENTS, &i.id, "{}", None)
                .await
                .expect("seed open");
        }
    }
    // New incidents the tracker opens are numbered after the seeded ones.
    store
        .incr("incident-seq", 100, None)
        .await
        .expect("sequence");
}

fn approvals(h: &dyn ChatHarness, operators: &[&str]) -> ApprovalsConfig {
    let platform = h.platform().name();
    let ids: Vec<String> = operators.iter().map(|u| h.user_id(u)).collect();
    serde_yaml_ng::from_str(&format!(
        "roles: {{ operator: {{ {platform}: {} }} }}",
        serde_json::to_string(&ids).expect("ids")
    ))
    .expect("approvals config")
}

fn notifier(rig_outbound: &Outbound, store: &SharedStore, h: &dyn ChatHarness) -> Notifier {
    let target = format!("{}:{}", h.platform().name(), h.channel());
    let rules: Vec<RouteRule> =
        serde_yaml_ng::from_str(&format!("- match: {{}}\n  to: [ \"{target}\" ]\n"))
            .expect("routing");
    Notifier {
        outbound: rig_outbound.clone(),
        store: store.clone(),
        clock: SystemClock::shared(),
        rules,
        cluster: CLUSTER.into(),
        redact: Arc::new(NoRedaction),
    }
}

impl CommandRig {
    /// Starts the chat side with `operators` (names the harness knows) holding the operator
    /// role, over `incidents` stored beforehand; posts the open ones' cards.
    pub async fn start(
        h: Arc<dyn ChatHarness>,
        operators: &[&str],
        clock: ManualClock,
        incidents: Vec<Incident>,
    ) -> Self {
        let cancel = CancellationToken::new();
        let shared: SharedClock = Arc::new(clock.clone());
        let store: SharedStore = Arc::new(MemoryStore::new(
            shared.clone(),
            Retention::from(&lookout::config::StoreConfig::default()),
        ));
        seed(&store, &incidents).await;
        // Deliveries run on real time: only the bot's own schedules are on the manual clock.
        let outbound = Outbound::new(
            store.clone(),
            SystemClock::shared(),
            vec![h.platform()],
            ChatMetrics::unregistered(),
            cancel.child_token(),
        );
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(h.platform().run(tx, cancel.child_token()));
        let bus = IncidentBus::default();
        let (tracker, _) = Tracker::start(
            TrackerSettings {
                cluster: CLUSTER.into(),
                correlation: Default::default(),
                production_namespaces: Default::default(),
            },
            store.clone(),
            shared.clone(),
            bus.clone(),
            TrackerMetrics::unregistered(),
            cancel.child_token(),
        );
        let cards = notifier(&outbound, &store, h.as_ref());
        for i in incidents.iter().filter(|i| i.is_open()) {
            cards
                .handle(&IncidentEvent {
                    kind: IncidentEventKind::Created,
                    incident: Arc::new(i.clone()),
                })
                .await;
        }
        tokio::spawn(cards.run(bus.subscribe(), cancel.child_token()));

        let mut commands = Commands::new(store.clone(), outbound.clone(), CLUSTER);
        commands.clock = shared.clone();
        commands.tracker = Some(tracker.clone());
        commands.audit =
            Audit::new(&AuditConfig::default(), store.clone(), shared.clone()).expect("audit");
        commands.roles = Arc::new(approvals(h.as_ref(), operators));
        commands.cluster_view = Some(ClusterView {
            client: crate::support::admin_client().await,
            scope: Default::default(),
        });
        commands.digests = Some(Arc::new(Digester {
            cluster: CLUSTER.into(),
            store: store.clone(),
            clock: shared.clone(),
            outbound: outbound.clone(),
            view: None,
            redact: Arc::new(NoRedaction),
            summarize: None,
            digests: Vec::new(),
        }));
        let mut handler = ChatHandler::new(
            outbound.clone(),
            ActionCodec::new(CLUSTER),
            commands.clone(),
        );
        let buttons = Arc::new(CardButtons(commands.clone()));
        handler.on_click(ACK, buttons.clone());
        handler.on_click(SILENCE, buttons);
        let (proposals, inbox) = lookout::remediation::proposals();
        handler.on_click(
            PROPOSE,
            Arc::new(ProposeButton {
                commands: commands.clone(),
                proposals,
            }),
        );
        let proposed = Arc::new(Mutex::new(Vec::new()));
        tokio::spawn(stand_in_engine(inbox, proposed.clone()));
        tokio::spawn(handler.run(rx, cancel.child_token()));
        Self {
            h,
            store,
            clock,
            outbound,
            tracker,
            bus,
            cancel,
            proposed,
        }
    }

    /// Posts an answer carrying `suggestion` with its Propose button, as a conversation
    /// does (kept in the store, rendered by the conversation's own code); returns it as seen.
    pub async fn suggest(&self, suggestion: Suggestion, answer: &str) -> SeenMessage {
        let platform = self.h.platform().name().to_string();
        let channel = self.h.channel();
        let asker = format!("{platform}:{}", self.h.user_id("carol"));
        let id = suggestions::save(
            self.store.as_ref(),
            &suggestion,
            &asker,
            &platform,
            &channel,
            None,
            self.now(),
        )
        .await
        .expect("keep the suggestion");
        let button = ActionCodec::new(CLUSTER).encode(PROPOSE, &id);
        let offered = [Offered {
            suggestion: &suggestion,
            button: Some(&button),
        }];
        let limits = self.h.platform().limits().clone();
        for (i, message) in answer_messages(answer, None, &offered, &limits)
            .into_iter()
            .enumerate()
        {
            let key = format!("answer:{id}:{i}");
            self.outbound
                .post(Post::new(key, &platform, &channel, message))
                .await;
        }
        eventually(WAIT, "the answer with its Propose button", || async {
            self.h
                .messages(&channel)
                .await
                .into_iter()
                .find(|m| m.text.contains(answer) && !m.buttons.is_empty())
        })
        .await
    }

    /// `user` mentions the bot with `text`; returns the answer, the first new message of the
    /// bot's that contains `expect`.
    pub async fn ask(&self, user: &str, text: &str, expect: &str) -> String {
        let ch = self.h.channel();
        let before = self.h.messages(&ch).await.len();
        self.h.mention(&ch, None, user, text).await;
        let what = format!("an answer to `{text}` containing `{expect}`");
        eventually(WAIT, &what, || async {
            self.h
                .messages(&ch)
                .await
                .into_iter()
                .skip(before)
                // The console's transcript shows what people type too.
                .filter(|m| !m.text.trim_end().ends_with(&format!("@lookout {text}")))
                .find(|m| m.text.contains(expect))
                .map(|m| m.text)
        })
        .await
    }

    /// The current card of incident `INC-<n>` (the top-level message naming it).
    pub async fn card(&self, title: &str, also: &str) -> SeenMessage {
        let ch = self.h.channel();
        let what = format!("the card of `{title}` showing `{also}`");
        eventually(WAIT, &what, || async {
            self.h
                .messages(&ch)
                .await
                .into_iter()
                .find(|m| m.thread.is_none() && m.text.contains(title) && m.text.contains(also))
        })
        .await
    }

    /// `user` clicks the button labelled `label` on `card`; returns the private answer.
    pub async fn click(&self, user: &str, card: &SeenMessage, label: &str, expect: &str) -> String {
        let action = card
            .buttons
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, a)| a.clone())
            .unwrap_or_else(|| panic!("no {label} button on {card:?}"));
        let before = self.h.private_notes(user).await.len();
        self.h
            .click(&self.h.channel(), &card.id, user, &action)
            .await;
        eventually(
            WAIT,
            &format!("a private answer containing `{expect}`"),
            || async {
                self.h
                    .private_notes(user)
                    .await
                    .into_iter()
                    .skip(before)
                    .find(|n| n.contains(expect))
            },
        )
        .await
    }

    /// A message of the bot's containing `expect`, once there.
    pub async fn seen(&self, expect: &str) -> SeenMessage {
        let ch = self.h.channel();
        eventually(
            WAIT,
            &format!("a message containing `{expect}`"),
            || async {
                self.h
                    .messages(&ch)
                    .await
                    .into_iter()
                    .find(|m| m.text.contains(expect))
            },
        )
        .await
    }

    /// The incident as stored.
    pub async fn stored(&self, n: u64) -> Incident {
        self.store
            .get_json::<Incident>(INCIDENTS, &format!("{CLUSTER}/INC-{n}"))
            .await
            .expect("store")
            .expect("incident stored")
    }

    /// Open incidents' primary resources, sorted.
    pub async fn open(&self) -> Vec<String> {
        let mut out = Vec::new();
        for id in self.store.list(OPEN_INCIDENTS).await.expect("open list") {
            if let Ok(Some(i)) = self.store.get_json::<Incident>(INCIDENTS, &id).await {
                out.push(i.primary.to_string());
            }
        }
        out.sort();
        out
    }

    /// The signal fires (again), as the observer would say.
    pub async fn raise(&self, s: Signal) {
        let observed = Instant::now();
        assert!(
            self.tracker
                .send(TrackerInput::Raised {
                    signal: Box::new(s),
                    observed,
                })
                .await
        );
    }

    pub async fn clear(&self, s: &Signal) {
        let observed = Instant::now();
        assert!(
            self.tracker
                .send(TrackerInput::Cleared {
                    key: s.key(),
                    observed,
                })
                .await
        );
    }

    /// Returns once the tracker has taken in everything sent to it before.
    pub async fn settled(&self) {
        let answer = self
            .tracker
            .update(
                &format!("{CLUSTER}/INC-999999"),
                IncidentChange::Diagnosis("barrier".into()),
            )
            .await;
        assert!(answer.is_err(), "no such incident: {answer:?}");
    }

    /// How many incidents were ever numbered (the seeded ones count as 100).
    pub async fn numbered(&self) -> i64 {
        self.store
            .incr("incident-seq", 0, None)
            .await
            .expect("sequence")
    }

    /// Audit entries of `kind`, as (actor, summary).
    pub async fn audited(&self, kind: &str) -> Vec<(String, String)> {
        self.store
            .audit_tail(1000)
            .await
            .expect("audit")
            .into_iter()
            .filter_map(|e| serde_json::from_str::<serde_json::Value>(&e.json).ok())
            .filter(|v| v["kind"] == kind)
            .map(|v| {
                (
                    v["actor"].as_str().unwrap_or_default().to_string(),
                    v["summary"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// Moves the manual clock on.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

/// Takes proposals as the remediation engine would, recording them.
async fn stand_in_engine(mut inbox: ProposalInbox, proposed: Arc<Mutex<Vec<Proposal>>>) {
    while let Some(request) = inbox.recv().await {
        let p = request.proposal;
        let answer = format!("Proposing {} for {}", p.action, p.incident);
        proposed.lock().expect("proposals").push(p);
        let _ = request.answer.send(Ok(answer));
    }
}

impl Drop for CommandRig {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}
