//! The bot's configuration for the demo: the local cluster, an in-memory store, the console
//! as the only chat (its user an approver), detection and settling paced for a person
//! watching, and the LLM only if the environment configures one.

use std::path::Path;
use std::time::Duration;

use crate::config::{Config, StoreBackend};

use super::scenario::Scenario;

/// The label on the demo's nodes (value: the demo's namespace), its node scope.
pub const NODE_LABEL: &str = "lookout.dev/demo";

/// The demo's console user (an approver).
pub const USER: &str = "you";

pub fn demo_config(kubeconfig: &Path, scenario: Scenario) -> Result<Config, String> {
    // The environment still decides the LLM (`LOOKOUT_LLM_*`), so the demo shows the agentic
    // path when a model is configured; everything else is the demo's.
    let mut c = crate::config::load().map_err(|e| e.to_string())?;
    c.cluster = "demo".into();
    c.kubernetes.kubeconfig = Some(kubeconfig.to_path_buf());
    c.kubernetes.context = None;
    c.store.backend = StoreBackend::Memory;
    c.http.listen = "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?;
    c.platforms.slack.bot_token = Default::default();
    c.platforms.discord.bot_token = Default::default();
    c.platforms.telegram.bot_token = Default::default();
    c.platforms.console.enabled = true;
    c.platforms.console.user = USER.into();
    c.routing = Vec::new();
    c.alertmanager = Default::default();
    c.scope.include_namespaces = vec![namespace()];
    c.scope.exclude_namespaces = Vec::new();
    c.scope.node_labels = [(NODE_LABEL.to_string(), namespace())].into();
    c.approvals = serde_yaml_ng::from_str(&format!(
        "roles:\n  operator: {{ console: [{USER}] }}\n  admin: {{ console: [{USER}] }}\n"
    ))
    .map_err(|e| e.to_string())?;
    c.remediation.min_severity = crate::correlate::Severity::Low;
    c.remediation.paused = false;
    c.correlation.settle = Duration::from_secs(5);
    c.correlation.quiet_period = Duration::from_secs(20);
    c.actions.verify_settle = Duration::from_secs(15);
    c.actions.verify_timeout = Duration::from_secs(180);
    c.detection.node_not_ready_grace = Duration::from_secs(5);
    c.detection.rollout_grace = Duration::from_secs(20);
    c.detection.replicas_unavailable_grace = Duration::from_secs(20);
    if scenario == Scenario::NodeDown {
        // The node is the incident: its pods and their Deployment wait out the drain that
        // moves them, rather than opening incidents of their own.
        c.detection.not_ready_grace = Duration::from_secs(180);
        c.detection.replicas_unavailable_grace = Duration::from_secs(180);
    }
    Ok(c)
}

/// The demo's namespace: unique per run, so a run never waits for the last one's to go.
pub fn namespace() -> String {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        format!("demo-{:06x}", nanos & 0xff_ffff)
    })
    .clone()
}
