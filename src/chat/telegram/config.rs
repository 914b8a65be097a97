//! The Telegram section of the configuration (`platforms.telegram`). The bot token and the
//! webhook secret usually come from the environment (`LOOKOUT_TELEGRAM_BOT_TOKEN`,
//! `LOOKOUT_TELEGRAM_WEBHOOK_SECRET`) and are never printed.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::Secret;

/// How Telegram delivers updates to Lookout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TelegramMode {
    /// Long polling with `getUpdates`: no public URL needed. Any webhook set on the bot is
    /// removed at start (Telegram refuses `getUpdates` while one is set).
    Polling,
    /// Telegram POSTs updates to `webhook_url`, which must reach `webhook_path` on Lookout's
    /// HTTP server; every request must carry `webhook_secret`.
    Webhook,
}

/// One Telegram bot (one per cluster): its token, how updates arrive, and pacing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelegramConfig {
    /// `polling` (default) or `webhook`.
    pub mode: TelegramMode,
    /// Base URL of the Bot API, without a trailing slash: `https://api.telegram.org`, a proxy,
    /// a local Bot API server, or a test server. Requests go to `{api_url}/bot{token}/{method}`.
    pub api_url: String,
    /// The token BotFather gave (`123456:ABC...`). Usually `LOOKOUT_TELEGRAM_BOT_TOKEN`.
    pub bot_token: Secret,
    /// The bot's username without `@`, recognised in mentions (`@lookout_prod_bot`). Empty:
    /// learnt from `getMe` at start, which also wins when both are known.
    pub bot_username: String,
    /// Public HTTPS URL Telegram posts updates to (mode `webhook`); it must route to
    /// `webhook_path` on Lookout's HTTP server. Registered with `setWebhook` at start.
    pub webhook_url: String,
    /// Path on Lookout's HTTP server that receives updates (mode `webhook`).
    pub webhook_path: String,
    /// Secret Telegram sends in `X-Telegram-Bot-Api-Secret-Token` with every update (mode
    /// `webhook`); requests without it get 401. 1-256 characters of `A-Z a-z 0-9 _ -`.
    /// Usually `LOOKOUT_TELEGRAM_WEBHOOK_SECRET`.
    pub webhook_secret: Secret,
    /// How long one `getUpdates` call waits for updates (mode `polling`). Whole seconds,
    /// 1s to 50s.
    #[serde(with = "crate::config::duration")]
    pub poll_timeout: Duration,
    /// Time allowed for one Bot API call; a slower answer counts as a temporary failure.
    #[serde(with = "crate::config::duration")]
    pub request_timeout: Duration,
    /// Minimum spacing of messages to one chat (Telegram allows about one per second).
    #[serde(with = "crate::config::duration")]
    pub chat_interval: Duration,
    /// Most new messages to one group within `group_window` (Telegram allows 20 a minute).
    pub group_limit: usize,
    /// The window `group_limit` counts over.
    #[serde(with = "crate::config::duration")]
    pub group_window: Duration,
    /// Give each incident its own topic where the chat is a forum (the bot needs the "Manage
    /// topics" right); otherwise, and where this is off, its thread is a reply chain.
    pub forum_topics: bool,
    /// First wait after Telegram refused the token or could not be reached; doubles after
    /// each failure up to `max_backoff`.
    #[serde(with = "crate::config::duration")]
    pub initial_backoff: Duration,
    /// Longest wait between two attempts to reach Telegram.
    #[serde(with = "crate::config::duration")]
    pub max_backoff: Duration,
    /// Largest webhook request body accepted (mode `webhook`); larger ones get 413.
    pub max_body_bytes: usize,
    /// When a message had to be cut to fit Telegram's 4096 characters, at most this many
    /// characters of the full text are posted in its thread.
    pub max_overflow_chars: usize,
}

impl Default for TelegramConfig {
    fn default() -> Self {
        Self {
            mode: TelegramMode::Polling,
            api_url: "https://api.telegram.org".into(),
            bot_token: Secret::default(),
            bot_username: String::new(),
            webhook_url: String::new(),
            webhook_path: "/telegram/webhook".into(),
            webhook_secret: Secret::default(),
            poll_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(10),
            chat_interval: Duration::from_secs(1),
            group_limit: 20,
            group_window: Duration::from_secs(60),
            forum_topics: true,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            max_body_bytes: 1024 * 1024,
            max_overflow_chars: 30_000,
        }
    }
}

impl TelegramConfig {
    /// Checks serde cannot express. Each problem names its field relative to this section
    /// (`webhook_url`); the caller prefixes the section's path (`platforms.telegram.`).
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        let mut errors = Vec::new();
        if self.bot_token.is_empty() {
            errors.push((
                "bot_token",
                "a bot token from BotFather is required: set LOOKOUT_TELEGRAM_BOT_TOKEN".into(),
            ));
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
        let name = self.bot_username.trim_start_matches('@');
        if !name.is_empty() && !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            errors.push((
                "bot_username",
                format!("`{}` is not a Telegram username", self.bot_username),
            ));
        }
        if self.mode == TelegramMode::Webhook {
            match url::Url::parse(&self.webhook_url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                Ok(_) => errors.push(("webhook_url", "must be an https URL".into())),
                Err(_) if self.webhook_url.is_empty() => errors.push((
                    "webhook_url",
                    "webhook mode needs the public URL Telegram posts to: \
                     set LOOKOUT_TELEGRAM_WEBHOOK_URL, or use mode polling"
                        .into(),
                )),
                Err(e) => errors.push(("webhook_url", format!("not a URL ({e})"))),
            }
            let secret = self.webhook_secret.expose();
            if secret.is_empty() {
                errors.push((
                    "webhook_secret",
                    "webhook mode needs a secret token: set LOOKOUT_TELEGRAM_WEBHOOK_SECRET".into(),
                ));
            } else if secret.len() > 256
                || !secret
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                errors.push((
                    "webhook_secret",
                    "must be 1-256 characters of A-Z, a-z, 0-9, `_` and `-` (Telegram's rule)"
                        .into(),
                ));
            }
        }
        if !self.webhook_path.starts_with('/') {
            errors.push((
                "webhook_path",
                format!("`{}` must start with `/`", self.webhook_path),
            ));
        }
        if !(Duration::from_secs(1)..=Duration::from_secs(50)).contains(&self.poll_timeout) {
            errors.push(("poll_timeout", "must be between 1s and 50s".into()));
        }
        for (field, d) in [
            ("request_timeout", self.request_timeout),
            ("initial_backoff", self.initial_backoff),
            ("group_window", self.group_window),
        ] {
            if d.is_zero() {
                errors.push((field, "must be longer than zero".into()));
            }
        }
        if self.group_limit == 0 {
            errors.push(("group_limit", "must be at least 1".into()));
        }
        if self.max_backoff < self.initial_backoff {
            errors.push((
                "max_backoff",
                "must not be shorter than initial_backoff".into(),
            ));
        }
        if self.max_body_bytes < 16 * 1024 {
            errors.push(("max_body_bytes", "must be at least 16384".into()));
        }
        errors
    }

    /// The username as written in mentions, without `@`.
    pub fn username(&self) -> Option<&str> {
        Some(self.bot_username.trim_start_matches('@')).filter(|n| !n.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(c: &TelegramConfig) -> Vec<&'static str> {
        c.validate().into_iter().map(|(f, _)| f).collect()
    }

    #[test]
    fn defaults_need_a_token_and_webhook_mode_its_url_and_secret() {
        let mut c = TelegramConfig::default();
        assert_eq!(fields(&c), ["bot_token"]);
        c.bot_token = Secret::new("123:abc");
        assert!(c.validate().is_empty(), "{:?}", c.validate());
        c.mode = TelegramMode::Webhook;
        assert_eq!(fields(&c), ["webhook_url", "webhook_secret"]);
        c.webhook_url = "https://bot.example.com/telegram/webhook".into();
        c.webhook_secret = Secret::new("not allowed!");
        assert_eq!(fields(&c), ["webhook_secret"]);
        c.webhook_secret = Secret::new("s3cret_token-1");
        assert!(c.validate().is_empty(), "{:?}", c.validate());
    }

    #[test]
    fn bad_values_name_their_field() {
        let c = TelegramConfig {
            bot_token: Secret::new("123:abc"),
            api_url: "https://api.telegram.org/".into(),
            bot_username: "look out".into(),
            webhook_path: "telegram".into(),
            poll_timeout: Duration::from_secs(90),
            group_limit: 0,
            max_backoff: Duration::from_millis(10),
            ..TelegramConfig::default()
        };
        assert_eq!(
            fields(&c),
            [
                "api_url",
                "bot_username",
                "webhook_path",
                "poll_timeout",
                "group_limit",
                "max_backoff"
            ]
        );
    }

    #[test]
    fn yaml_reads_modes_and_durations_rejects_unknown_keys_and_hides_secrets() {
        let c: TelegramConfig = serde_yaml_ng::from_str(
            "mode: webhook\nchat_interval: 500ms\nbot_username: '@lookout_bot'\n",
        )
        .unwrap();
        assert_eq!(c.mode, TelegramMode::Webhook);
        assert_eq!(c.chat_interval, Duration::from_millis(500));
        assert_eq!(c.username(), Some("lookout_bot"));
        assert!(serde_yaml_ng::from_str::<TelegramConfig>("bot_tokn: x\n").is_err());
        let printed = serde_yaml_ng::to_string(&TelegramConfig {
            bot_token: Secret::new("123:secret-token"),
            webhook_secret: Secret::new("hook-secret"),
            ..TelegramConfig::default()
        })
        .unwrap();
        assert!(!printed.contains("secret-token"), "{printed}");
        assert!(!printed.contains("hook-secret"), "{printed}");
    }
}
