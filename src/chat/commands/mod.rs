//! Commands people give by mentioning the bot, the same on every platform and case-insensitive:
//! `help`, `status`, `incidents`, `incident <id>`, `ack`, `silence`, `silences`, `unsilence`,
//! `resolve`, `dismiss`, `pause`, `resume`, `runbooks [name]`, `digest now`. Commands that
//! change something need the operator (or admin) role of `approvals.roles`; a refusal is
//! answered and audited. A mention that starts with no command word is not a command
//! ([`Commands::answer`] gives `None`) and is left to the conversation.
//!
//! One file per command family; the card buttons (Ack, Silence 1h) share their code.

mod automation;
mod buttons;
mod help;
mod incidents;
mod lifecycle;
mod runbooks;
mod silences;
mod status;

use std::sync::Arc;

use serde_json::json;
use tracing::warn;

pub use buttons::{ACK, CardButtons, SILENCE};
pub use help::help;

use super::event::{ChatUser, Inbound};
use super::message::{Message, Text};
use super::outbound::Outbound;
use super::redact::{NoRedaction, SharedRedact};
use crate::approval::ApprovalsConfig;
use crate::audit::{Audit, AuditConfig};
use crate::clock::{SharedClock, SystemClock};
use crate::digest::{ClusterView, Digester};
use crate::incident::Incident;
use crate::incident::tracker::{INCIDENTS, TrackerHandle};
use crate::runbook::Runbook;
use crate::store::{SharedStore, StoreExt};

/// Roles allowed to change things with commands and card buttons.
pub const OPERATOR_ROLES: [&str; 2] = ["operator", "admin"];

/// The command interpreter and what it reads and changes. Cheap to clone.
#[derive(Clone)]
pub struct Commands {
    pub store: SharedStore,
    pub outbound: Outbound,
    pub cluster: String,
    pub clock: SharedClock,
    /// Absent: commands that change incidents say the tracker is not running here.
    pub tracker: Option<TrackerHandle>,
    pub audit: Audit,
    /// Role membership (`approvals.roles`).
    pub roles: Arc<ApprovalsConfig>,
    /// `remediation.paused`: automation paused by configuration whatever `resume` says.
    pub paused_by_config: bool,
    pub runbooks: Arc<Vec<Runbook>>,
    /// The API server, for `status`; absent: status shows incidents only.
    pub cluster_view: Option<ClusterView>,
    /// Digests, for `digest now`.
    pub digests: Option<Arc<Digester>>,
    pub redact: SharedRedact,
}

impl Commands {
    /// Commands over a store and an outbound queue; everything else off or default (the
    /// shipped runbooks, nobody holds a role). Set the fields to switch more on.
    pub fn new(store: SharedStore, outbound: Outbound, cluster: impl Into<String>) -> Self {
        let clock = SystemClock::shared();
        Self {
            audit: Audit::new(&AuditConfig::default(), store.clone(), clock.clone())
                .expect("an audit log without a file opens nothing"),
            store,
            outbound,
            cluster: cluster.into(),
            clock,
            tracker: None,
            roles: Arc::new(ApprovalsConfig::default()),
            paused_by_config: false,
            runbooks: Arc::new(crate::runbook::load(None).unwrap_or_default()),
            cluster_view: None,
            digests: None,
            redact: Arc::new(NoRedaction),
        }
    }

    /// The answer to a mention that starts with a command word; `None` when it does not, so
    /// the mention can be taken as a question.
    pub async fn answer(&self, m: &Inbound) -> Option<Message> {
        let words: Vec<&str> = m.text.split_whitespace().collect();
        let command = words.first().map(|w| w.to_lowercase()).unwrap_or_default();
        let args = words.get(1..).unwrap_or_default();
        let caller = Caller::of(m);
        Some(match command.as_str() {
            "" | "help" => help(&self.cluster),
            "status" => self.status().await,
            "incidents" => self.incidents(&m.platform).await,
            "incident" => match args {
                [id] => self.incident(id, &m.platform).await,
                _ => usage("incident <id>", "e.g. `incident INC-7`"),
            },
            "ack" | "resolve" | "dismiss" => match args {
                [id] => self.lifecycle(&command, id, &caller).await,
                _ => usage(&format!("{command} <id>"), "e.g. `ack INC-7`"),
            },
            "silence" => match args {
                [scope, duration] => self.silence(scope, duration, &caller).await,
                _ => usage(
                    "silence <scope> <duration>",
                    &format!(
                        "scope: {}; duration: e.g. 30m, 2h, 1d",
                        crate::incident::silence::SCOPE_GRAMMAR
                    ),
                ),
            },
            "silences" => self.silences().await,
            "unsilence" => match args {
                [what] => self.unsilence(what, &caller).await,
                _ => usage("unsilence <silence id | scope>", "e.g. `unsilence S-3`"),
            },
            "pause" | "resume" => self.automation(command == "pause", &caller).await,
            "runbooks" | "runbook" => match args {
                [] => self.runbooks(),
                [name] => self.runbook(name),
                _ => usage("runbooks [name]", "e.g. `runbooks oom-raise-memory`"),
            },
            "digest" => match args {
                [now] if now.eq_ignore_ascii_case("now") => self.digest_now().await,
                _ => usage("digest now", "posts a digest of the last 24 hours here"),
            },
            _ => return None,
        })
    }

    async fn digest_now(&self) -> Message {
        match &self.digests {
            Some(d) => d.on_demand().await,
            None => Message::text("Digests are not available here."),
        }
    }

    /// Whether `caller` may change things; otherwise the refusal to answer (audited).
    pub(crate) async fn authorize(&self, caller: &Caller, what: &str) -> Result<(), Message> {
        let user = &caller.user;
        if OPERATOR_ROLES.iter().any(|r| self.roles.has_role(user, r)) {
            return Ok(());
        }
        warn!(user = %user.identity(), command = %what, "command refused: not an operator");
        self.audit
            .record(
                self.audit
                    .event(
                        "refused_command",
                        &user.identity(),
                        format!("{what}: not an operator"),
                    )
                    .detail(json!({"command": what, "platform": user.platform,
                        "channel": caller.channel, "via": caller.via})),
            )
            .await;
        Err(Message::text(
            Text::plain("Sorry, ")
                .code(what)
                .and(" needs the operator role (")
                .code("approvals.roles.operator")
                .and(" or ")
                .code("admin")
                .and("), and you do not have it."),
        ))
    }

    /// Audits a change made by a person.
    pub(crate) async fn audited(
        &self,
        caller: &Caller,
        kind: &str,
        summary: String,
        incident: Option<&str>,
    ) {
        let mut event = self
            .audit
            .event(kind, &caller.user.identity(), summary)
            .detail(
                json!({"platform": caller.user.platform, "channel": caller.channel,
                "via": caller.via}),
            );
        if let Some(id) = incident {
            event = event.incident(id);
        }
        self.audit.record(event).await;
    }

    /// The full id for what people type: `INC-7`, `7`, `#7` or `<cluster>/INC-7`.
    pub fn incident_id(&self, text: &str) -> Result<String, String> {
        let t = text.trim().trim_start_matches('#');
        let (cluster, rest) = match t.rsplit_once('/') {
            Some((c, r)) => (Some(c), r),
            None => (None, t),
        };
        if let Some(c) = cluster
            && c != self.cluster
        {
            return Err(format!(
                "`{text}` is an incident of cluster {c}; this is {}",
                self.cluster
            ));
        }
        let upper = rest.to_ascii_uppercase();
        let number = upper.strip_prefix("INC-").unwrap_or(&upper);
        match number.parse::<u64>() {
            Ok(n) => Ok(format!("{}/INC-{n}", self.cluster)),
            Err(_) => Err(format!(
                "`{text}` is not an incident id (e.g. INC-7 or {}/INC-7)",
                self.cluster
            )),
        }
    }

    /// The incident people mean, or what to tell them.
    pub(crate) async fn find_incident(&self, text: &str) -> Result<Incident, Message> {
        let id = self.incident_id(text).map_err(Message::text)?;
        match self.store.get_json::<Incident>(INCIDENTS, &id).await {
            Ok(Some(i)) => Ok(i),
            Ok(None) => Err(Message::text(
                Text::plain("No incident ")
                    .code(&id)
                    .and(". Try ")
                    .code("incidents")
                    .and("."),
            )),
            Err(e) => Err(Message::text(format!(
                "I cannot read the incidents right now: {e}"
            ))),
        }
    }

    pub(crate) fn tracker(&self) -> Result<&TrackerHandle, Message> {
        self.tracker.as_ref().ok_or_else(|| {
            Message::text(
                "Incidents cannot be changed from here: the incident tracker is not running.",
            )
        })
    }
}

/// Who gave a command or clicked, and where.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: ChatUser,
    pub channel: String,
    /// `command` or `button`.
    pub via: &'static str,
}

impl Caller {
    pub fn of(m: &Inbound) -> Self {
        Self {
            user: m.user.clone(),
            channel: m.channel.clone(),
            via: "command",
        }
    }

    /// `Alice (slack:U1)` or the identity.
    pub fn who(&self) -> String {
        crate::incident::silence::who(&self.user.identity(), self.user.name.as_deref())
    }
}

/// `Usage: <grammar>` with a hint.
fn usage(grammar: &str, hint: &str) -> Message {
    Message::text(Text::plain("Usage: ").code(grammar)).context(hint.to_string())
}

/// What a mention that is no command gets when nothing else answers it.
pub fn unknown(text: &str) -> Message {
    let word = text.split_whitespace().next().unwrap_or("");
    Message::text(
        Text::plain("I don't know ")
            .code(word)
            .and(". Try ")
            .code("help")
            .and("."),
    )
}
