//! Wiring: builds every part from the config and runs them until shutdown. Tests start the
//! whole bot in-process with [`App::build`] and [`App::run`], handing in their own shutdown
//! future and clock.
//!
//! ```text
//! watchers ──┐
//! alertmanager webhook ──> observer (detect, diff) ──> tracker (dedup, correlate) ──> bus
//! ```

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use crate::actions::{ActionContext, Registry as ActionRegistry};
use crate::agent::Investigator;
use crate::alertmanager::{self, Payload};
use crate::approval::{APPROVE, Desk, REJECT};
use crate::audit::Audit;
use crate::chat::console::ConsolePlatform;
use crate::chat::discord::DiscordPlatform;
use crate::chat::handler::ChatHandler;
use crate::chat::notifier::Notifier;
use crate::chat::ops::{Ops, OpsDeps};
use crate::chat::outbound::{ChatMetrics, Outbound};
use crate::chat::slack::SlackPlatform;
use crate::chat::telegram::TelegramPlatform;
use crate::chat::{ActionCodec, SharedPlatform};
use crate::clock::{SharedClock, SystemClock};
use crate::cluster::{WatchMetrics, discover};
use crate::config::{Config, StoreBackend};
use crate::context::ContextBuilder;
use crate::conversation::{
    ConversationMetrics, Conversations, Deps as ConversationDeps, PROPOSE, ProposeButton,
};
use crate::detect::Detector;
use crate::health::{Health, KubeProbe, StoreProbe};
use crate::incident::IncidentBus;
use crate::incident::postmortem::PostmortemTemplate;
use crate::incident::tracker::{Tracker, TrackerMetrics, TrackerSettings};
use crate::llm::{LlmClient, Prompts};
use crate::observe::{ClusterEvent, Observer, ObserverMetrics, watchers};
use crate::remediation::{Deps as RemediationDeps, Engine, RemediationMetrics};
use crate::store::{MemoryStore, RedisStore, RedisStoreOptions, Retention, SharedStore};
use crate::{Error, Result, http, kube_client, metrics};

/// Changes waiting for the observer; watchers wait when it is full.
const CLUSTER_QUEUE: usize = 8192;
/// Alertmanager deliveries waiting; beyond this the webhook answers 503 and Alertmanager retries.
const ALERT_QUEUE: usize = 256;

/// A built, not yet running, bot.
pub struct App {
    config: Config,
    clock: SharedClock,
    listener: TcpListener,
    store: SharedStore,
    kube: kube::Client,
    health: Health,
    registry: Registry,
    bus: IncidentBus,
    tracker_metrics: TrackerMetrics,
    observer_metrics: ObserverMetrics,
    watch_metrics: WatchMetrics,
    alert_routes: Option<axum::Router>,
    alerts: mpsc::Receiver<Payload>,
    platforms: Vec<SharedPlatform>,
    chat_metrics: ChatMetrics,
    agent: AgentParts,
}

/// What remediation is built from (metrics are registered at build time).
struct AgentParts {
    llm: LlmClient,
    prompts: Arc<Prompts>,
    actions: Arc<ActionRegistry>,
    remediation_metrics: RemediationMetrics,
    conversation_metrics: ConversationMetrics,
    audit: Audit,
    postmortem: Arc<PostmortemTemplate>,
}

impl App {
    /// Builds the bot with the system clock.
    pub async fn build(config: Config) -> Result<Self> {
        Self::build_with_clock(config, SystemClock::shared()).await
    }

    /// Builds the bot: binds the HTTP listener, prepares the store and the Kubernetes client.
    /// Unreachable dependencies are not errors here; bad configuration is.
    pub async fn build_with_clock(config: Config, clock: SharedClock) -> Result<Self> {
        let mut registry = metrics::new_registry();
        let retention = Retention::from(&config.store);
        let store: SharedStore = match config.store.backend {
            StoreBackend::Redis => Arc::new(RedisStore::new(
                RedisStoreOptions {
                    redis: config.redis.clone(),
                    cluster: config.cluster.clone(),
                    retention,
                },
                &mut registry,
            )?),
            StoreBackend::Memory => Arc::new(MemoryStore::new(clock.clone(), retention)),
        };
        let kube = kube_client::client(&config.kubernetes).await?;
        let health = Health::new(&mut registry);
        let tracker_metrics = TrackerMetrics::new(&mut registry);
        let observer_metrics = ObserverMetrics::new(&mut registry);
        let watch_metrics = WatchMetrics::new(&mut registry);
        let (alert_tx, alerts) = mpsc::channel(ALERT_QUEUE);
        let alert_routes = alertmanager::router(&config.alertmanager, alert_tx, &mut registry);
        let chat_metrics = ChatMetrics::new(&mut registry);
        let mut platforms: Vec<SharedPlatform> = Vec::new();
        if config.platforms.slack_enabled() {
            let slack =
                SlackPlatform::new(config.platforms.slack.clone()).map_err(|e| match e {
                    crate::chat::slack::SlackError::Config { field, reason } => {
                        crate::config::ConfigError::single(
                            format!("platforms.slack.{field}"),
                            reason,
                        )
                    }
                    other => {
                        crate::config::ConfigError::single("platforms.slack", other.to_string())
                    }
                })?;
            platforms.push(Arc::new(slack));
        }
        if config.platforms.telegram_enabled() {
            let telegram = TelegramPlatform::new(config.platforms.telegram.clone())
                .map_err(crate::config::ConfigError::from)?;
            platforms.push(Arc::new(telegram));
        }
        if config.platforms.discord_enabled() {
            let discord = DiscordPlatform::new(config.platforms.discord.clone())?;
            platforms.push(Arc::new(discord));
        }
        if config.platforms.console.enabled {
            platforms.push(Arc::new(ConsolePlatform::stdio(&config.platforms.console)));
        }
        let config_error = |field: &str, e: String| crate::config::ConfigError::single(field, e);
        let llm = LlmClient::new(&config.llm, store.clone(), clock.clone(), &mut registry)
            .map_err(|e| config_error("llm", e.to_string()))?;
        let prompts = Arc::new(
            Prompts::load(&config.llm)
                .map_err(|e| config_error("llm.prompts_dir", e.to_string()))?,
        );
        let mut actions = ActionRegistry::new(&mut registry);
        crate::actions::catalogue::register_all(&mut actions);
        let agent = AgentParts {
            llm,
            prompts,
            actions: Arc::new(actions),
            remediation_metrics: RemediationMetrics::new(&mut registry),
            conversation_metrics: ConversationMetrics::new(&mut registry),
            audit: Audit::new(&config.audit, store.clone(), clock.clone())
                .map_err(|e| config_error("audit.file", e.to_string()))?,
            postmortem: Arc::new(
                PostmortemTemplate::from_dir(config.llm.prompts_dir.as_deref())
                    .map_err(|e| config_error("llm.prompts_dir", e.to_string()))?,
            ),
        };
        let listener = TcpListener::bind(config.http.listen)
            .await
            .map_err(Error::Http)?;
        Ok(Self {
            config,
            clock,
            listener,
            store,
            kube,
            health,
            registry,
            bus: IncidentBus::default(),
            tracker_metrics,
            observer_metrics,
            watch_metrics,
            alert_routes,
            alerts,
            platforms,
            chat_metrics,
            agent,
        })
    }

    /// Adds a chat platform, replacing a configured one of the same name (tests use this to
    /// run the console on pipes, for example).
    pub fn with_platform(mut self, platform: SharedPlatform) -> Self {
        self.platforms.retain(|p| p.name() != platform.name());
        self.platforms.push(platform);
        self
    }

    /// The address the HTTP server is bound to (useful with port 0).
    pub fn http_addr(&self) -> SocketAddr {
        // A bound listener always has a local address.
        self.listener
            .local_addr()
            .unwrap_or(self.config.http.listen)
    }

    pub fn store(&self) -> SharedStore {
        self.store.clone()
    }

    /// The incident bus: created / updated / merged / resolved.
    pub fn bus(&self) -> IncidentBus {
        self.bus.clone()
    }

    /// Runs until `shutdown` completes, then stops taking new work and gives work in flight
    /// `http.shutdown_grace` to finish.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let Self {
            config,
            clock,
            listener,
            store,
            kube,
            health,
            registry,
            bus,
            tracker_metrics,
            observer_metrics,
            watch_metrics,
            alert_routes,
            mut alerts,
            platforms,
            chat_metrics,
            agent,
        } = self;
        let cancel = CancellationToken::new();
        let tasks = TaskTracker::new();

        for probe in [
            Arc::new(StoreProbe(store.clone())) as Arc<dyn crate::health::Probe>,
            Arc::new(KubeProbe(kube.clone())),
        ] {
            let handle = health.watch(
                probe,
                config.health.clone(),
                clock.clone(),
                cancel.child_token(),
            );
            tasks.spawn(async move {
                let _ = handle.await;
            });
        }

        // The pipeline: watchers and alerts -> observer -> tracker -> bus.
        let (tracker, tracker_task) = Tracker::start(
            TrackerSettings {
                cluster: config.cluster.clone(),
                correlation: config.correlation.clone(),
                production_namespaces: config.scope.production_namespaces.iter().cloned().collect(),
            },
            store.clone(),
            clock.clone(),
            bus.clone(),
            tracker_metrics,
            cancel.child_token(),
        );
        tasks.spawn(async move {
            let _ = tracker_task.await;
        });
        let (cluster_tx, cluster_rx) = mpsc::channel(CLUSTER_QUEUE);
        let observer = Observer::new(
            Detector::new(config.detection.clone(), &config.scope),
            clock.clone(),
            tracker.clone(),
            observer_metrics,
        );
        tasks.spawn(observer.run(cluster_rx, cancel.child_token()));
        {
            let tx = cluster_tx.clone();
            let cancel = cancel.child_token();
            tasks.spawn(async move {
                loop {
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        payload = alerts.recv() => match payload {
                            Some(p) => { let _ = tx.send(ClusterEvent::Alerts(p)).await; }
                            None => return,
                        },
                    }
                }
            });
        }
        tasks.spawn(start_watching(
            kube.clone(),
            cluster_tx,
            watch_metrics,
            clock.clone(),
            cancel.child_token(),
        ));

        // Chat: the outbound queue, incident cards, and what people say and click.
        let outbound = Outbound::new(
            store.clone(),
            clock.clone(),
            platforms.clone(),
            chat_metrics,
            cancel.child_token(),
        );
        {
            let outbound = outbound.clone();
            let clock = clock.clone();
            let cancel = cancel.child_token();
            tasks.spawn(async move {
                let mut delay = Duration::from_millis(200);
                loop {
                    match outbound.recover().await {
                        Ok(n) => {
                            if n > 0 {
                                info!(
                                    messages = n,
                                    "resuming chat messages pending before the restart"
                                );
                            }
                            return;
                        }
                        Err(error) => warn!(%error, "cannot read pending chat messages yet"),
                    }
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = clock.sleep(delay) => {}
                    }
                    delay = (delay * 2).min(Duration::from_secs(30));
                }
            });
        }
        // Validated with the config; a redactor that cannot be built would be a bug, and
        // posting unredacted text is worse than not starting.
        let redact: Arc<dyn crate::chat::redact::Redact> = Arc::new(
            crate::redact::Redactor::new(&config.redaction)
                .map_err(|e| crate::config::ConfigError::single("redaction", e.to_string()))?,
        );
        let notifier = Notifier {
            outbound: outbound.clone(),
            store: store.clone(),
            clock: clock.clone(),
            rules: config.effective_routing(),
            cluster: config.cluster.clone(),
            redact: redact.clone(),
        };
        tasks.spawn(notifier.run(bus.subscribe(), cancel.child_token()));
        let (chat_tx, chat_rx) = mpsc::channel(1024);
        let mut chat_routes = Vec::new();
        for platform in &platforms {
            if let Some(routes) = platform.clone().routes(chat_tx.clone()) {
                chat_routes.push(routes);
            }
            tasks.spawn(platform.clone().run(chat_tx.clone(), cancel.child_token()));
        }
        drop(chat_tx);
        // Commands, card buttons, reminders and digests.
        let ops = Ops::build(
            &config,
            OpsDeps {
                store: store.clone(),
                clock: clock.clone(),
                outbound: outbound.clone(),
                tracker: tracker.clone(),
                kube: kube.clone(),
                redact: redact.clone(),
                audit: agent.audit.clone(),
                llm: agent.llm.clone(),
                prompts: agent.prompts.clone(),
            },
        );
        let mut handler = ChatHandler::new(
            outbound.clone(),
            ActionCodec::new(&config.cluster),
            ops.commands.clone(),
        );
        ops.register(&mut handler);
        let commands = ops.commands.clone();
        ops.start(bus.subscribe(), &tasks, &cancel);
        // Approvals: clicks become exactly-once decisions that the remediation engine acts on.
        let (approval_tx, approval_rx) = mpsc::unbounded_channel();
        let desk = Arc::new(Desk {
            store: store.clone(),
            clock: clock.clone(),
            policy: config.approvals.clone(),
            outbound: outbound.clone(),
            codec: ActionCodec::new(&config.cluster),
            redact: redact.clone(),
            audit: agent.audit.clone(),
            events: approval_tx,
        });
        handler.on_click(APPROVE, desk.clone());
        handler.on_click(REJECT, desk.clone());
        handler.on_reply(desk.clone());
        // Questions (mentions that are no command, and replies in their threads): answered by
        // the model in tasks of their own, so clicks and commands never wait for it.
        let conversations = Arc::new(Conversations::new(ConversationDeps {
            config: config.conversations.clone(),
            cluster: config.cluster.clone(),
            llm: agent.llm.clone(),
            prompts: agent.prompts.clone(),
            registry: agent.actions.clone(),
            redact: redact.clone(),
            store: store.clone(),
            clock: clock.clone(),
            outbound: outbound.clone(),
            kube: kube.clone(),
            actions: config.actions.clone(),
            metrics: agent.conversation_metrics.clone(),
            shutdown: cancel.child_token(),
        }));
        handler.on_question(conversations.clone());
        handler.on_reply(conversations);
        // A conversation's suggested change becomes a proposal only through its Propose
        // button, which hands it to the remediation engine (and so to the approval path).
        let (proposals, proposal_inbox) = crate::remediation::proposals();
        handler.on_click(
            PROPOSE,
            Arc::new(ProposeButton {
                commands,
                proposals,
            }),
        );
        tasks.spawn(handler.run(chat_rx, cancel.child_token()));
        tasks.spawn(start_remediation(
            config.clone(),
            kube.clone(),
            store.clone(),
            clock.clone(),
            tracker,
            outbound.clone(),
            desk,
            redact.clone(),
            agent,
            bus.subscribe(),
            approval_rx,
            proposal_inbox,
            cancel.child_token(),
        ));
        {
            let outbound = outbound.clone();
            tasks.spawn(async move { outbound.stopped().await });
        }

        let mut router = http::core_router(http::CoreState {
            health: health.clone(),
            registry: Arc::new(registry),
        });
        for routes in chat_routes {
            router = router.merge(routes);
        }
        if let Some(routes) = alert_routes {
            router = router.merge(routes);
        } else {
            info!("alertmanager webhook off (set LOOKOUT_ALERTMANAGER_TOKEN to enable it)");
        }
        info!(
            addr = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(),
            cluster = %config.cluster,
            "lookout running"
        );
        let http_cancel = cancel.clone();
        let server = tokio::spawn(http::serve(listener, router, async move {
            http_cancel.cancelled().await
        }));

        shutdown.await;
        info!("shutting down");
        cancel.cancel();
        tasks.close();
        let grace = config.http.shutdown_grace;
        let drained = tokio::time::timeout(grace, async {
            tasks.wait().await;
            server.await
        })
        .await;
        match drained {
            Ok(Ok(Ok(()))) => info!("stopped cleanly"),
            Ok(Ok(Err(e))) => return Err(Error::Http(e)),
            Ok(Err(join)) => warn!(error = %join, "http server task failed"),
            Err(_) => warn!(
                ?grace,
                "work still in flight after the shutdown grace period"
            ),
        }
        Ok(())
    }
}

/// Discovers the served APIs (retrying while the API server is unreachable) and starts the
/// watchers.
async fn start_watching(
    client: kube::Client,
    tx: mpsc::Sender<ClusterEvent>,
    metrics: WatchMetrics,
    clock: SharedClock,
    cancel: CancellationToken,
) {
    let mut delay = Duration::from_millis(500);
    let served = loop {
        match discover(&client).await {
            Ok(served) => break served,
            Err(error) => {
                warn!(%error, retry_in = ?delay, "cannot discover the API server's resources yet");
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = clock.sleep(delay) => {}
                }
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    };
    let handles = watchers::start(client, &served, tx, metrics, cancel).await;
    for h in handles {
        let _ = h.await;
    }
}

/// Discovers the served APIs (the actions need them), then runs the remediation engine.
#[allow(clippy::too_many_arguments)]
async fn start_remediation(
    config: Config,
    kube: kube::Client,
    store: SharedStore,
    clock: SharedClock,
    tracker: crate::incident::tracker::TrackerHandle,
    outbound: Outbound,
    desk: Arc<Desk>,
    redact: Arc<dyn crate::chat::redact::Redact>,
    agent: AgentParts,
    incidents: tokio::sync::broadcast::Receiver<crate::incident::IncidentEvent>,
    approvals: mpsc::UnboundedReceiver<crate::approval::ApprovalEvent>,
    proposals: crate::remediation::ProposalInbox,
    cancel: CancellationToken,
) {
    let mut delay = Duration::from_millis(500);
    let served = loop {
        match discover(&kube).await {
            Ok(served) => break served,
            Err(error) => {
                warn!(%error, retry_in = ?delay, "remediation waits for the API server");
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = clock.sleep(delay) => {}
                }
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    };
    let actions = ActionContext::new(kube.clone(), clock.clone(), config.actions.clone(), served);
    let redactor = match crate::redact::Redactor::new(&config.redaction) {
        Ok(r) => Arc::new(r),
        Err(e) => {
            warn!(error = %e, "redaction cannot be built; remediation stays off");
            return;
        }
    };
    let runbooks = match crate::runbook::load(config.runbooks.dir.as_deref()) {
        Ok(b) => b,
        Err(errors) => {
            for e in &errors {
                warn!(error = %e, "runbook not loaded");
            }
            Vec::new()
        }
    };
    let llm = agent.llm.enabled().then(|| agent.llm.clone());
    let investigator = Arc::new(Investigator {
        llm: llm.clone(),
        prompts: agent.prompts.clone(),
        redactor,
        context: ContextBuilder::new(kube, config.context.clone()),
        registry: agent.actions.clone(),
        actions: actions.clone(),
        cluster: config.cluster.clone(),
        max_tool_calls: config.remediation.investigation_tool_calls,
    });
    let engine = Engine::new(RemediationDeps {
        config: config.remediation.clone(),
        escalation: config.escalation.clone(),
        approvals: config.approvals.clone(),
        cluster: config.cluster.clone(),
        store,
        clock,
        tracker,
        outbound,
        desk,
        registry: agent.actions,
        actions,
        investigator,
        runbooks: Arc::new(runbooks),
        redact,
        audit: agent.audit,
        metrics: agent.remediation_metrics,
        llm,
        prompts: agent.prompts,
        postmortem: agent.postmortem,
    });
    engine
        .with_proposals(proposals)
        .run(incidents, approvals, cancel)
        .await;
}

/// Builds and runs the bot until `shutdown` completes.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    App::build(config).await?.run(shutdown).await
}
