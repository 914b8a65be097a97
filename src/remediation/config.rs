//! The `remediation:` and `escalation:` sections.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::correlate::Severity;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RemediationConfig {
    /// Whether incidents get automatic diagnosis and proposals at all. Changes people propose
    /// from a conversation (its Propose button) still go to approval; `paused` stops those too.
    pub enabled: bool,
    /// Only incidents at least this severe get them.
    pub min_severity: Severity,
    /// Only incidents in these namespaces (patterns may end in `*`; empty: all; node incidents
    /// always qualify).
    pub namespaces: Vec<String>,
    /// Steps of the agentic loop before it escalates.
    pub max_steps: u32,
    /// Wall time of one incident's remediation before it escalates.
    #[serde(with = "crate::config::duration")]
    pub timeout: Duration,
    /// Failed strategies (an action that did not fix it) before it escalates.
    pub max_attempts: u32,
    /// Actions executed per incident before it escalates.
    pub action_budget: u32,
    /// `true`: automation is always paused (no proposals). Otherwise the runtime switch
    /// (`pause` / `resume`, kept in Redis) decides.
    pub paused: bool,
    /// How long "wait and observe" waits.
    #[serde(with = "crate::config::duration")]
    pub observe_wait: Duration,
    /// Read-only tool calls the model may make while investigating.
    pub investigation_tool_calls: u32,
    /// After a rejection, how long the next step waits for the reason (a thread reply), so
    /// the model hears why before proposing again.
    #[serde(with = "crate::config::duration")]
    pub reason_wait: Duration,
}

impl Default for RemediationConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            min_severity: Severity::Medium,
            namespaces: Vec::new(),
            max_steps: 10,
            timeout: Duration::from_secs(30 * 60),
            max_attempts: 3,
            action_budget: 5,
            paused: false,
            observe_wait: Duration::from_secs(60),
            investigation_tool_calls: 5,
            reason_wait: Duration::from_secs(60),
        }
    }
}

impl RemediationConfig {
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (field, v) in [
            ("max_steps", self.max_steps),
            ("max_attempts", self.max_attempts),
            ("action_budget", self.action_budget),
        ] {
            if v == 0 {
                out.push((format!("remediation.{field}"), "must be at least 1".into()));
            }
        }
        for (field, d) in [
            ("timeout", self.timeout),
            ("observe_wait", self.observe_wait),
        ] {
            if d.is_zero() {
                out.push((
                    format!("remediation.{field}"),
                    "must be longer than zero".into(),
                ));
            }
        }
        out
    }

    /// Whether an incident in these namespaces qualifies.
    pub fn covers(&self, namespaces: &[&str]) -> bool {
        if self.namespaces.is_empty() || namespaces.is_empty() {
            return true;
        }
        namespaces.iter().any(|ns| {
            self.namespaces.iter().any(|p| match p.strip_suffix('*') {
                Some(prefix) => ns.starts_with(prefix),
                None => p == ns,
            })
        })
    }
}

/// The `escalation:` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EscalationConfig {
    /// Who is mentioned when Lookout escalates, per platform, verbatim: Slack `<@U0123>` or
    /// `<!subteam^S0123>`, Discord `<@&role id>`, Telegram `@handle`, the console user.
    pub on_call: OnCall,
    /// An unacknowledged high or critical incident re-mentions the on-call this often.
    #[serde(with = "crate::config::duration")]
    pub remind_every: Duration,
}

impl Default for EscalationConfig {
    fn default() -> Self {
        Self {
            on_call: OnCall::default(),
            remind_every: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OnCall {
    pub slack: Vec<String>,
    pub discord: Vec<String>,
    pub telegram: Vec<String>,
    pub console: Vec<String>,
}

impl OnCall {
    pub fn for_platform(&self, platform: &str) -> &[String] {
        match platform {
            "slack" => &self.slack,
            "discord" => &self.discord,
            "telegram" => &self.telegram,
            "console" => &self.console,
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    /// The README's sample for approvals and remediation is a valid config with the values it
    /// shows.
    #[test]
    fn the_readmes_sample_loads() {
        let readme = include_str!("../../README.md");
        let section = &readme[readme
            .find("## Approvals and remediation")
            .expect("the README section")..];
        let start = section.find("```yaml\n").expect("a YAML sample") + "```yaml\n".len();
        let sample = &section[start..start + section[start..].find("```").expect("its end")];
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("lookout.yaml");
        std::fs::write(&path, sample).expect("write config");
        let env = std::collections::HashMap::from([(
            "LOOKOUT_CONFIG".to_string(),
            path.display().to_string(),
        )]);
        let c = crate::config::load_from(&env).expect("the README's sample is a valid config");
        assert_eq!(c.approvals.expires_after, Duration::from_secs(15 * 60));
        assert_eq!(c.remediation.action_budget, 5);
        assert_eq!(c.escalation.on_call.slack, ["U0123ABCD"]);
        assert!(c.approvals.roles.contains_key("admin"));
    }
}
