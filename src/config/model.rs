//! The configuration model. Every field has a doc comment and an explicit default; the YAML
//! file uses the same names (snake_case) and rejects keys it does not know.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::secret::SecretUrl;

/// Everything Lookout can be told. Sections are filled in as features arrive.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Name of the cluster this bot watches. It names incidents (`<cluster>/INC-12`), prefixes
    /// every Redis key, and is carried in every chat action id so a bot refuses another
    /// cluster's buttons. Lowercase letters, digits and `-`, at most 40 characters.
    pub cluster: String,
    /// Where state lives and how long it is kept.
    pub store: StoreConfig,
    /// Redis connection (used when `store.backend` is `redis`).
    pub redis: RedisConfig,
    /// How to reach the Kubernetes API server.
    pub kubernetes: KubernetesConfig,
    /// The HTTP server: health, metrics and webhooks.
    pub http: HttpConfig,
    /// Log output.
    pub log: LogConfig,
    /// Dependency health checks behind `/readyz`.
    pub health: HealthConfig,
    /// Which namespaces are watched, and which count as production.
    pub scope: crate::detect::ScopeConfig,
    /// Detection thresholds and grace periods.
    pub detection: crate::detect::DetectConfig,
    /// How signals become incidents: windows, severity weights.
    pub correlation: crate::correlate::CorrelationConfig,
    /// The Alertmanager webhook.
    pub alertmanager: crate::alertmanager::AlertmanagerConfig,
    /// Chat platforms. Slack is on when its bot token is set; the console when enabled.
    pub platforms: PlatformsConfig,
    /// What is removed from text before it reaches the model or chat (secrets, optionally
    /// emails and IP addresses).
    pub redaction: crate::redact::RedactionConfig,
    /// What the model (and the incident thread) is shown about an incident, and its size budget.
    pub context: crate::context::ContextConfig,
    /// The language model (optional): off while `base_url` is empty.
    pub llm: crate::llm::LlmConfig,
    /// Questions to the bot (mentions that are no command): limits and the answer's bounds.
    pub conversations: crate::conversation::ConversationsConfig,
    /// Who may approve what, and when proposals expire.
    pub approvals: crate::approval::ApprovalsConfig,
    /// Automatic diagnosis and remediation: which incidents, limits, the pause switch.
    pub remediation: crate::remediation::RemediationConfig,
    /// Who is mentioned when Lookout escalates.
    pub escalation: crate::remediation::EscalationConfig,
    /// The audit log.
    pub audit: crate::audit::AuditConfig,
    /// Remediation actions: guards, bounds, verification.
    pub actions: crate::actions::ActionsConfig,
    /// Runbooks: the shipped ones, plus (overriding by name) those of a directory.
    pub runbooks: RunbooksConfig,
    /// Which channels see which incidents: rules tried in order, the first match decides.
    /// Empty with only the console on: everything goes to the console.
    pub routing: Vec<crate::chat::routing::RouteRule>,
    /// Scheduled digests: each a cron schedule in a time zone, posted to route targets.
    pub digests: Vec<crate::digest::DigestConfig>,
}

/// Where runbooks come from.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunbooksConfig {
    /// A directory of runbook YAML files; they add to the shipped runbooks and replace shipped
    /// ones of the same name. Unset: the shipped runbooks only.
    pub dir: Option<PathBuf>,
}

/// The chat platforms.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlatformsConfig {
    /// Slack (Socket Mode or the HTTP Events API).
    pub slack: crate::chat::slack::SlackConfig,
    /// Telegram (long polling or a webhook), on when its bot token is set.
    pub telegram: crate::chat::telegram::TelegramConfig,
    /// A terminal chat for local runs and the demo.
    pub console: crate::chat::console::ConsoleConfig,
    /// Discord (the gateway), on when its bot token is set.
    pub discord: crate::chat::discord::DiscordConfig,
}

impl PlatformsConfig {
    /// Whether Slack is configured (its bot token is set).
    pub fn slack_enabled(&self) -> bool {
        !self.slack.bot_token.is_empty()
    }

    /// Whether Telegram is configured (its bot token is set).
    pub fn telegram_enabled(&self) -> bool {
        !self.telegram.bot_token.is_empty()
    }

    /// Whether Discord is configured (its bot token is set).
    pub fn discord_enabled(&self) -> bool {
        !self.discord.bot_token.is_empty()
    }

    /// Names of the platforms that run.
    pub fn enabled(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.slack_enabled() {
            out.push("slack");
        }
        if self.telegram_enabled() {
            out.push("telegram");
        }
        if self.discord_enabled() {
            out.push("discord");
        }
        if self.console.enabled {
            out.push("console");
        }
        out
    }
}

impl Config {
    /// The routing rules in effect: the configured ones, or everything to the console when
    /// none are configured and the console runs.
    pub fn effective_routing(&self) -> Vec<crate::chat::routing::RouteRule> {
        if self.routing.is_empty() && self.platforms.console.enabled {
            return vec![crate::chat::routing::RouteRule {
                matches: Default::default(),
                to: vec!["console".parse().expect("a valid target")],
            }];
        }
        self.routing.clone()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            cluster: "local".into(),
            store: StoreConfig::default(),
            redis: RedisConfig::default(),
            kubernetes: KubernetesConfig::default(),
            http: HttpConfig::default(),
            log: LogConfig::default(),
            health: HealthConfig::default(),
            scope: Default::default(),
            detection: Default::default(),
            correlation: Default::default(),
            alertmanager: Default::default(),
            platforms: Default::default(),
            routing: Vec::new(),
            digests: Vec::new(),
            runbooks: RunbooksConfig::default(),
            llm: Default::default(),
            conversations: Default::default(),
            context: Default::default(),
            redaction: Default::default(),
            actions: Default::default(),
            approvals: Default::default(),
            remediation: Default::default(),
            escalation: Default::default(),
            audit: Default::default(),
        }
    }
}

/// Which state store implementation to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreBackend {
    /// Redis: shared by every replica, survives restarts. The production choice.
    Redis,
    /// Process memory: for local runs and the demo; lost on exit.
    Memory,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `redis` (default) or `memory`.
    pub backend: StoreBackend,
    /// How long incident records, timelines, approvals and postmortems are kept.
    #[serde(with = "super::duration")]
    pub retention: Duration,
    /// The audit stream keeps this many most recent entries.
    pub audit_max_len: u64,
    /// A conversation with the bot is forgotten this long after its last turn.
    #[serde(with = "super::duration")]
    pub conversation_ttl: Duration,
    /// At most this many turns of a conversation are kept; older ones are dropped.
    pub conversation_max_turns: u32,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            backend: StoreBackend::Redis,
            retention: Duration::from_secs(90 * 24 * 3600),
            audit_max_len: 100_000,
            conversation_ttl: Duration::from_secs(24 * 3600),
            conversation_max_turns: 40,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisConfig {
    /// `redis://[user][:password@]host:port/db`, or `rediss://` for TLS. The password may be
    /// given here or in `LOOKOUT_REDIS_URL`; it is never printed.
    pub url: SecretUrl,
    /// PEM file of the CA that signed the server's certificate (`rediss://` with a private
    /// CA). Unset: the system's web PKI roots.
    pub tls_ca_file: Option<PathBuf>,
    /// PEM client certificate for mutual TLS (requires `tls_client_key_file`).
    pub tls_client_cert_file: Option<PathBuf>,
    /// PEM private key for mutual TLS (requires `tls_client_cert_file`).
    pub tls_client_key_file: Option<PathBuf>,
    /// Time allowed to establish a connection.
    #[serde(with = "super::duration")]
    pub connect_timeout: Duration,
    /// Time allowed for one command's reply; a slower Redis counts as unavailable.
    #[serde(with = "super::duration")]
    pub response_timeout: Duration,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: SecretUrl::new("redis://127.0.0.1:6379/0"),
            tls_ca_file: None,
            tls_client_cert_file: None,
            tls_client_key_file: None,
            connect_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(2),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KubernetesConfig {
    /// Path of a kubeconfig file. Unset: `KUBECONFIG`, then `~/.kube/config`, then the
    /// in-cluster service account.
    pub kubeconfig: Option<PathBuf>,
    /// Context to use from the kubeconfig. Unset: its current context.
    pub context: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address the HTTP server listens on (`/healthz`, `/readyz`, `/metrics`, webhooks).
    pub listen: SocketAddr,
    /// On SIGTERM/ctrl-c, in-flight work gets this long to finish before the process exits.
    #[serde(with = "super::duration")]
    pub shutdown_grace: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable, coloured when the output is a terminal.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A `RUST_LOG`-style filter, e.g. `info` or `lookout=debug,kube=warn`.
    pub filter: String,
    /// `pretty` (default) or `json`.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            filter: "info".into(),
            format: LogFormat::Pretty,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthConfig {
    /// How often Redis and the API server are checked while they are reachable.
    #[serde(with = "super::duration")]
    pub check_interval: Duration,
    /// While a dependency is down, checks back off up to this interval, and its failure is
    /// logged at most once per interval.
    #[serde(with = "super::duration")]
    pub max_backoff: Duration,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            check_interval: Duration::from_secs(5),
            max_backoff: Duration::from_secs(60),
        }
    }
}
