//! The Slack section of the configuration (`platforms.slack`). Tokens and the signing secret
//! usually come from the environment (`LOOKOUT_SLACK_BOT_TOKEN`, `LOOKOUT_SLACK_APP_TOKEN`,
//! `LOOKOUT_SLACK_SIGNING_SECRET`) and are never printed.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::Secret;

/// How Slack delivers events to Lookout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlackMode {
    /// Socket Mode: Lookout opens a WebSocket to Slack; no public URL needed. Needs an
    /// app-level token (`xapp-...`).
    Socket,
    /// HTTP Events API: Slack POSTs events and button clicks to `events_path` on Lookout's
    /// HTTP server. Needs the app's signing secret and a public URL.
    Http,
}

/// One Slack app (one per cluster): its tokens, how events arrive, and client tuning.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlackConfig {
    /// `socket` (default) or `http`.
    pub mode: SlackMode,
    /// Base URL of the Web API, without a trailing slash: `https://slack.com/api`, a proxy,
    /// GovSlack (`https://slack-gov.com/api`), or a test server.
    pub api_url: String,
    /// Path on Lookout's HTTP server that receives the Events API and interactivity requests
    /// (mode `http`). Configure the same URL for both in the Slack app.
    pub events_path: String,
    /// Bot token (`xoxb-...`), used for every Web API call. Usually `LOOKOUT_SLACK_BOT_TOKEN`.
    pub bot_token: Secret,
    /// App-level token (`xapp-...`) with `connections:write`, for Socket Mode. Usually
    /// `LOOKOUT_SLACK_APP_TOKEN`.
    pub app_token: Secret,
    /// Signing secret that authenticates Events API requests (mode `http`). Usually
    /// `LOOKOUT_SLACK_SIGNING_SECRET`.
    pub signing_secret: Secret,
    /// Time allowed for one Web API call; a slower answer counts as a temporary failure.
    #[serde(with = "crate::config::duration")]
    pub request_timeout: Duration,
    /// Socket Mode connections kept open at once (Slack allows 10); a second one keeps events
    /// flowing while the other reconnects.
    pub max_connections: u32,
    /// Socket Mode ping interval; a connection that misses 5 pongs in a row is replaced.
    /// Whole seconds, at least 1s.
    #[serde(with = "crate::config::duration")]
    pub ping_interval: Duration,
    /// Wait before retrying a Socket Mode connection that failed. Whole seconds, at least 1s.
    #[serde(with = "crate::config::duration")]
    pub reconnect_delay: Duration,
    /// First wait after Slack refused the tokens or could not be reached at start; doubles
    /// after each failure up to `max_backoff`.
    #[serde(with = "crate::config::duration")]
    pub initial_backoff: Duration,
    /// Longest wait between two attempts to reach Slack at start.
    #[serde(with = "crate::config::duration")]
    pub max_backoff: Duration,
    /// Largest Events API request body accepted (mode `http`); larger ones get 413.
    pub max_body_bytes: usize,
    /// When a message had to be cut to fit Slack's limits, at most this many characters of
    /// the full text are posted in its thread.
    pub max_overflow_chars: usize,
}

impl Default for SlackConfig {
    fn default() -> Self {
        Self {
            mode: SlackMode::Socket,
            api_url: "https://slack.com/api".into(),
            events_path: "/slack/events".into(),
            bot_token: Secret::default(),
            app_token: Secret::default(),
            signing_secret: Secret::default(),
            request_timeout: Duration::from_secs(10),
            max_connections: 2,
            ping_interval: Duration::from_secs(15),
            reconnect_delay: Duration::from_secs(10),
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            max_body_bytes: 1024 * 1024,
            max_overflow_chars: 30_000,
        }
    }
}

impl SlackConfig {
    /// Checks serde cannot express. Each problem names its field relative to this section
    /// (`app_token`); the caller prefixes the section's path (`platforms.slack.app_token`).
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        let mut errors = Vec::new();
        if self.bot_token.is_empty() {
            errors.push((
                "bot_token",
                "a bot token (xoxb-...) is required: set LOOKOUT_SLACK_BOT_TOKEN".to_string(),
            ));
        }
        match self.mode {
            SlackMode::Socket if self.app_token.is_empty() => errors.push((
                "app_token",
                "socket mode needs an app-level token (xapp-...) with connections:write: \
                 set LOOKOUT_SLACK_APP_TOKEN, or use mode http"
                    .to_string(),
            )),
            SlackMode::Http if self.signing_secret.is_empty() => errors.push((
                "signing_secret",
                "http mode needs the app's signing secret: set LOOKOUT_SLACK_SIGNING_SECRET"
                    .to_string(),
            )),
            _ => {}
        }
        match url::Url::parse(&self.api_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && !self.api_url.ends_with('/') => {}
            Ok(_) => errors.push((
                "api_url",
                format!(
                    "`{}` must be an http(s) URL without a trailing slash",
                    self.api_url
                ),
            )),
            Err(e) => errors.push(("api_url", format!("not a URL ({e})"))),
        }
        if !self.events_path.starts_with('/') {
            errors.push((
                "events_path",
                format!("`{}` must start with `/`", self.events_path),
            ));
        }
        if !(1..=10).contains(&self.max_connections) {
            errors.push((
                "max_connections",
                format!("{} is outside 1..=10 (Slack's limit)", self.max_connections),
            ));
        }
        for (field, d) in [
            ("ping_interval", self.ping_interval),
            ("reconnect_delay", self.reconnect_delay),
        ] {
            // slack-morphism counts these in whole seconds and cannot use zero.
            if d < Duration::from_secs(1) {
                errors.push((field, "must be at least 1s".to_string()));
            }
        }
        for (field, d) in [
            ("request_timeout", self.request_timeout),
            ("initial_backoff", self.initial_backoff),
        ] {
            if d.is_zero() {
                errors.push((field, "must be longer than zero".to_string()));
            }
        }
        if self.max_backoff < self.initial_backoff {
            errors.push((
                "max_backoff",
                "must not be shorter than initial_backoff".to_string(),
            ));
        }
        if self.max_body_bytes < 16 * 1024 {
            errors.push((
                "max_body_bytes",
                "must be at least 16384 (interactive payloads carry the whole message)".into(),
            ));
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(c: &SlackConfig) -> Vec<&'static str> {
        c.validate().into_iter().map(|(f, _)| f).collect()
    }

    #[test]
    fn defaults_need_tokens_for_the_mode() {
        let mut c = SlackConfig::default();
        assert_eq!(fields(&c), ["bot_token", "app_token"]);
        c.bot_token = Secret::new("xoxb-1");
        c.app_token = Secret::new("xapp-1");
        assert!(c.validate().is_empty(), "{:?}", c.validate());
        c.mode = SlackMode::Http;
        assert_eq!(fields(&c), ["signing_secret"]);
        c.signing_secret = Secret::new("s3cret");
        assert!(c.validate().is_empty());
    }

    #[test]
    fn bad_values_name_their_field() {
        let c = SlackConfig {
            bot_token: Secret::new("xoxb-1"),
            app_token: Secret::new("xapp-1"),
            api_url: "https://slack.com/api/".into(),
            events_path: "slack/events".into(),
            max_connections: 0,
            reconnect_delay: Duration::from_millis(500),
            max_backoff: Duration::from_millis(10),
            ..SlackConfig::default()
        };
        assert_eq!(
            fields(&c),
            [
                "api_url",
                "events_path",
                "max_connections",
                "reconnect_delay",
                "max_backoff"
            ]
        );
    }

    #[test]
    fn yaml_uses_snake_case_durations_and_rejects_unknown_keys() {
        let c: SlackConfig =
            serde_yaml_ng::from_str("mode: http\nrequest_timeout: 3s\nevents_path: /s\n").unwrap();
        assert_eq!(c.mode, SlackMode::Http);
        assert_eq!(c.request_timeout, Duration::from_secs(3));
        assert_eq!(c.api_url, "https://slack.com/api");
        assert!(serde_yaml_ng::from_str::<SlackConfig>("bot_tokn: x\n").is_err());
        let printed = serde_yaml_ng::to_string(&SlackConfig {
            bot_token: Secret::new("xoxb-secret"),
            ..SlackConfig::default()
        })
        .unwrap();
        assert!(!printed.contains("xoxb-secret"), "{printed}");
    }
}
