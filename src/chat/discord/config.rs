//! The Discord section of the configuration (`platforms.discord`). The bot token usually comes
//! from the environment (`LOOKOUT_DISCORD_BOT_TOKEN`) and is never printed.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::Secret;

/// Discord's own REST base, which serenity's routes are written against.
pub const DISCORD_URL: &str = "https://discord.com";

/// One Discord application (one per cluster): its bot token, where its APIs are, and client
/// tuning.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiscordConfig {
    /// Bot token (Developer Portal, Bot, Reset Token). Usually `LOOKOUT_DISCORD_BOT_TOKEN`;
    /// unset: Discord is off.
    pub bot_token: Secret,
    /// The application's id (Developer Portal, General Information). Optional: Discord tells
    /// it at connect and with every click; when set, clicks for another application are
    /// ignored.
    pub application_id: Option<u64>,
    /// Base URL of the REST API, without `/api/v10` and without a trailing slash:
    /// `https://discord.com`, a proxy that forwards to it, or a test server.
    pub api_url: String,
    /// Gateway WebSocket URL (`wss://gateway.discord.gg`). Unset: asked from the REST API
    /// (`GET /gateway/bot`) at each connect.
    pub gateway_url: Option<String>,
    /// Only messages and clicks from this server (guild) are taken; unset: every server the
    /// bot is in. Direct messages are always taken.
    pub guild_id: Option<u64>,
    /// Time allowed for one REST call; a slower answer counts as a temporary failure.
    #[serde(with = "crate::config::duration")]
    pub request_timeout: Duration,
    /// First wait after Discord refused the token or could not be reached; doubles after each
    /// failure up to `max_backoff`.
    #[serde(with = "crate::config::duration")]
    pub initial_backoff: Duration,
    /// Longest wait between two attempts to sign in.
    #[serde(with = "crate::config::duration")]
    pub max_backoff: Duration,
}

impl Default for DiscordConfig {
    fn default() -> Self {
        Self {
            bot_token: Secret::default(),
            application_id: None,
            api_url: DISCORD_URL.into(),
            gateway_url: None,
            guild_id: None,
            request_timeout: Duration::from_secs(10),
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
        }
    }
}

impl DiscordConfig {
    /// Checks serde cannot express. Each problem names its field relative to this section
    /// (`api_url`); the caller prefixes the section's path (`platforms.discord.api_url`).
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        let mut errors = Vec::new();
        if self.bot_token.is_empty() {
            errors.push((
                "bot_token",
                "a bot token is required: set LOOKOUT_DISCORD_BOT_TOKEN".to_string(),
            ));
        } else if self.bot_token.expose().contains(char::is_whitespace) {
            // Pasted with "Bot " or a newline: Discord would refuse it with a bare 401.
            errors.push((
                "bot_token",
                "contains whitespace: give the token alone, without `Bot ` or a line break".into(),
            ));
        }
        if let Some(problem) = url_problem(&self.api_url, &["http", "https"]) {
            errors.push(("api_url", problem));
        } else if self.api_url.contains("/api") {
            errors.push((
                "api_url",
                format!(
                    "`{}`: give the base only (https://discord.com), not the /api path",
                    self.api_url
                ),
            ));
        }
        if let Some(url) = &self.gateway_url
            && let Some(problem) = url_problem(url, &["ws", "wss"])
        {
            errors.push(("gateway_url", problem));
        }
        for (field, id) in [
            ("application_id", self.application_id),
            ("guild_id", self.guild_id),
        ] {
            if id == Some(0) {
                errors.push((field, "0 is not a Discord id".to_string()));
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
        errors
    }
}

fn url_problem(url: &str, schemes: &[&str]) -> Option<String> {
    match url::Url::parse(url) {
        Ok(u) if schemes.contains(&u.scheme()) && !url.ends_with('/') => None,
        Ok(_) => Some(format!(
            "`{url}` must be a {} URL without a trailing slash",
            schemes.join("/")
        )),
        Err(e) => Some(format!("`{url}` is not a URL ({e})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(c: &DiscordConfig) -> Vec<&'static str> {
        c.validate().into_iter().map(|(f, _)| f).collect()
    }

    #[test]
    fn defaults_need_a_token() {
        let mut c = DiscordConfig::default();
        assert_eq!(fields(&c), ["bot_token"]);
        c.bot_token = Secret::new("MTIz.abc.def");
        assert!(c.validate().is_empty(), "{:?}", c.validate());
    }

    #[test]
    fn bad_values_name_their_field() {
        let c = DiscordConfig {
            bot_token: Secret::new("Bot MTIz.abc"),
            api_url: "https://discord.com/api/v10".into(),
            gateway_url: Some("https://gateway.discord.gg".into()),
            guild_id: Some(0),
            request_timeout: Duration::ZERO,
            max_backoff: Duration::from_millis(10),
            ..DiscordConfig::default()
        };
        assert_eq!(
            fields(&c),
            [
                "bot_token",
                "api_url",
                "gateway_url",
                "guild_id",
                "request_timeout",
                "max_backoff"
            ]
        );
    }

    #[test]
    fn yaml_reads_ids_and_durations_and_rejects_unknown_keys() {
        let c: DiscordConfig = serde_yaml_ng::from_str(
            "application_id: 123456789012345678\ngateway_url: ws://127.0.0.1:9\nrequest_timeout: 3s\n",
        )
        .unwrap();
        assert_eq!(c.application_id, Some(123_456_789_012_345_678));
        assert_eq!(c.gateway_url.as_deref(), Some("ws://127.0.0.1:9"));
        assert_eq!(c.request_timeout, Duration::from_secs(3));
        assert_eq!(c.api_url, DISCORD_URL);
        assert!(serde_yaml_ng::from_str::<DiscordConfig>("bot_tokn: x\n").is_err());
        let printed = serde_yaml_ng::to_string(&DiscordConfig {
            bot_token: Secret::new("MTIz.secret"),
            ..DiscordConfig::default()
        })
        .unwrap();
        assert!(!printed.contains("MTIz.secret"), "{printed}");
    }
}
