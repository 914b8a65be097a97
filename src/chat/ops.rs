//! Wiring of what people do in chat beyond approvals: the commands, the card buttons, the
//! reminders and the digests, built from the config in one place so `app.rs` only starts them.

use std::sync::Arc;

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::commands::{ACK, CardButtons, Commands, SILENCE};
use super::handler::ChatHandler;
use super::outbound::Outbound;
use super::redact::SharedRedact;
use super::reminders::Reminders;
use crate::audit::Audit;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::digest::{ClusterView, Digester, LlmSummary, Summarize};
use crate::incident::IncidentEvent;
use crate::incident::tracker::TrackerHandle;
use crate::llm::{LlmClient, Prompts};
use crate::store::SharedStore;

/// What the parts are built from.
pub struct OpsDeps {
    pub store: SharedStore,
    pub clock: SharedClock,
    pub outbound: Outbound,
    pub tracker: TrackerHandle,
    pub kube: kube::Client,
    pub redact: SharedRedact,
    pub audit: Audit,
    pub llm: LlmClient,
    pub prompts: Arc<Prompts>,
}

/// Commands, buttons, reminders and digests, ready to start.
pub struct Ops {
    pub commands: Commands,
    pub digester: Arc<Digester>,
    pub reminders: Reminders,
}

impl Ops {
    pub fn build(config: &Config, d: OpsDeps) -> Self {
        let view = ClusterView {
            client: d.kube.clone(),
            scope: config.scope.clone(),
        };
        let summarize: Option<Arc<dyn Summarize>> = d.llm.enabled().then(|| {
            Arc::new(LlmSummary {
                llm: d.llm.clone(),
                prompts: d.prompts.clone(),
                redact: d.redact.clone(),
            }) as Arc<dyn Summarize>
        });
        let digester = Arc::new(Digester {
            cluster: config.cluster.clone(),
            store: d.store.clone(),
            clock: d.clock.clone(),
            outbound: d.outbound.clone(),
            view: Some(view.clone()),
            redact: d.redact.clone(),
            summarize,
            digests: config.digests.clone(),
        });
        let mut commands =
            Commands::new(d.store.clone(), d.outbound.clone(), config.cluster.clone());
        commands.clock = d.clock.clone();
        commands.tracker = Some(d.tracker);
        commands.audit = d.audit;
        commands.roles = Arc::new(config.approvals.clone());
        commands.paused_by_config = config.remediation.paused;
        // Validated by `lookout check`; a broken directory leaves the shipped runbooks listed.
        commands.runbooks = Arc::new(
            crate::runbook::load(config.runbooks.dir.as_deref())
                .unwrap_or_else(|_| crate::runbook::load(None).unwrap_or_default()),
        );
        commands.cluster_view = Some(view);
        commands.digests = Some(digester.clone());
        commands.redact = d.redact.clone();
        let reminders = Reminders {
            store: d.store,
            clock: d.clock,
            outbound: d.outbound,
            escalation: config.escalation.clone(),
            redact: d.redact,
        };
        Self {
            commands,
            digester,
            reminders,
        }
    }

    /// Registers the card buttons.
    pub fn register(&self, handler: &mut ChatHandler) {
        let buttons = Arc::new(CardButtons(self.commands.clone()));
        handler.on_click(ACK, buttons.clone());
        handler.on_click(SILENCE, buttons);
    }

    /// Starts reminders and digests on the app's task tracker; both stop with `shutdown`.
    pub fn start(
        self,
        events: broadcast::Receiver<IncidentEvent>,
        tasks: &tokio_util::task::TaskTracker,
        shutdown: &CancellationToken,
    ) {
        tasks.spawn(self.reminders.run(events, shutdown.child_token()));
        tasks.spawn(self.digester.run(shutdown.child_token()));
    }
}
