//! Environment variables: the secrets and the basics. This table is the single source of truth:
//! loading applies it, and a test checks that `.env.example` lists exactly these variables with
//! these defaults.

use std::path::PathBuf;

use super::model::{Config, LogFormat, StoreBackend};
use super::secret::SecretUrl;

/// One environment variable and how it changes the config.
pub struct EnvVar {
    pub name: &'static str,
    /// The default as written in `.env.example` (empty: unset).
    pub default: &'static str,
    /// What it sets, in one line.
    pub doc: &'static str,
    /// Applies a value; the error says why the value is wrong.
    pub apply: fn(&mut Config, &str) -> Result<(), String>,
}

/// Every variable Lookout reads, in the order `.env.example` lists them.
pub static ENV_VARS: &[EnvVar] = &[
    EnvVar {
        name: "LOOKOUT_CONFIG",
        default: "",
        doc: "Path of the optional YAML config file.",
        apply: |_, _| Ok(()), // read before the file is loaded; see load.rs
    },
    EnvVar {
        name: "LOOKOUT_CLUSTER",
        default: "local",
        doc: "Cluster name (cluster): names incidents and prefixes Redis keys.",
        apply: |c, v| {
            c.cluster = v.to_string();
            Ok(())
        },
    },
    EnvVar {
        name: "LOOKOUT_STORE",
        default: "redis",
        doc: "State store (store.backend): redis or memory.",
        apply: |c, v| {
            c.store.backend = match v {
                "redis" => StoreBackend::Redis,
                "memory" => StoreBackend::Memory,
                _ => return Err(format!("expected `redis` or `memory`, got `{v}`")),
            };
            Ok(())
        },
    },
    EnvVar {
        name: "LOOKOUT_REDIS_URL",
        default: "redis://127.0.0.1:6379/0",
        doc: "Redis URL (redis.url); rediss:// for TLS, credentials allowed.",
        apply: |c, v| {
            c.redis.url = SecretUrl::new(v);
            Ok(())
        },
    },
    EnvVar {
        name: "LOOKOUT_REDIS_TLS_CA_FILE",
        default: "",
        doc: "PEM CA for rediss:// with a private CA (redis.tls_ca_file).",
        apply: |c, v| {
            c.redis.tls_ca_file = Some(PathBuf::from(v));
            Ok(())
        },
    },
    EnvVar {
        name: "LOOKOUT_HTTP_LISTEN",
        default: "0.0.0.0:8080",
        doc: "HTTP listen address (http.listen).",
        apply: |c, v| {
            c.http.listen = v
                .parse()
                .map_err(|e| format!("expected host:port, got `{v}` ({e})"))?;
            Ok(())
        },
    },
    EnvVar {
        name: "LOOKOUT_ALERTMANAGER_TOKEN",
        default: "",
        doc: "Bearer token of the Alertmanager webhook (alertmanager.token); unset: endpoint off.",
        apply: |c, v| {
            c.alertmanager.token = super::secret::Secret::new(v);
            Ok(())
        },
    },
    EnvVar {
        name: "LOOKOUT_LLM_BASE_URL",
        default: "",
        doc: "OpenAI-compatible API base URL (llm.base_url); empty: no LLM, rules only.",
        apply: |c, v| {
            c.llm.base_url = v.to_string();
            Ok(())
        },
    },
    EnvVar {
        name: "LOOKOUT_LLM_MODEL",
        default: "",
        doc: "Model name (llm.model).",
        apply: |c, v| {
            c.llm.model = v.to_string();
            Ok(())
        },
    },
    EnvVar {
        name: "LOOKOUT_LLM_API_KEY",
        default: "",
        doc: "API key of the LLM endpoint (llm.api_key); OPENAI_* variables are never read.",
        apply: |c, v| {
            c.llm.api_key = super::secret::Secret::new(v);
            Ok(())
        },
    },
    EnvVar {
        name: "LOOKOUT_LOG",
        default: "info",
        doc: "Log filter (log.filter), RUST_LOG syntax; RUST_LOG is used when this is unset.",
        apply: |c, v| {
            c.log.filter = v.to_string();
            Ok(())
        },
    },
    EnvVar {
        name: "LOOKOUT_LOG_FORMAT",
        default: "pretty",
        doc: "Log format (log.format): pretty or json.",
        apply: |c, v| {
            c.log.format = match v {
                "pretty" => LogFormat::Pretty,
                "json" => LogFormat::Json,
                _ => return Err(format!("expected `pretty` or `json`, got `{v}`")),
            };
            Ok(())
        },
    },
    EnvVar {
        name: "LOOKOUT_CONSOLE",
        default: "false",
        doc: "Run the terminal chat (platforms.console.enabled): true or false.",
        apply: |c, v| {
            c.platforms.console.enabled = match v {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                _ => return Err(format!("expected `true` or `false`, got `{v}`")),
            };
            Ok(())
        },
    },
    EnvVar {
        name: "KUBECONFIG",
        default: "",
        doc: "Kubeconfig path (kubernetes.kubeconfig); unset: ~/.kube/config or in-cluster.",
        apply: |c, v| {
            // The file's explicit setting wins over the ambient KUBECONFIG of a shell.
            if c.kubernetes.kubeconfig.is_none() {
                c.kubernetes.kubeconfig = Some(PathBuf::from(v));
            }
            Ok(())
        },
    },
    EnvVar {
        name: "LOOKOUT_SLACK_BOT_TOKEN",
        default: "",
        doc: "Slack bot token, xoxb-... (platforms.slack.bot_token); unset: Slack is off.",
        apply: |c, v| {
            c.platforms.slack.bot_token = super::secret::Secret::new(v);
            Ok(())
        },
    },
    EnvVar {
        name: "LOOKOUT_SLACK_APP_TOKEN",
        default: "",
        doc: "Slack app-level token, xapp-..., for Socket Mode (platforms.slack.app_token).",
        apply: |c, v| {
            c.platforms.slack.app_token = super::secret::Secret::new(v);
            Ok(())
        },
    },
    EnvVar {
        name: "LOOKOUT_SLACK_SIGNING_SECRET",
        default: "",
        doc: "Slack signing secret for the HTTP Events API (platforms.slack.signing_secret).",
        apply: |c, v| {
            c.platforms.slack.signing_secret = super::secret::Secret::new(v);
            Ok(())
        },
    },
    EnvVar {
        name: "LOOKOUT_TELEGRAM_BOT_TOKEN",
        default: "",
        doc: "Telegram bot token from BotFather (platforms.telegram.bot_token); unset: Telegram is off.",
        apply: |c, v| {
            c.platforms.telegram.bot_token = super::secret::Secret::new(v);
            Ok(())
        },
    },
    EnvVar {
        name: "LOOKOUT_TELEGRAM_MODE",
        default: "",
        doc: "How Telegram delivers updates (platforms.telegram.mode): polling (default) or webhook.",
        apply: |c, v| {
            c.platforms.telegram.mode = match v {
                "polling" => crate::chat::telegram::TelegramMode::Polling,
                "webhook" => crate::chat::telegram::TelegramMode::Webhook,
                _ => return Err(format!("expected `polling` or `webhook`, got `{v}`")),
            };
            Ok(())
        },
    },
    EnvVar {
        name: "LOOKOUT_TELEGRAM_API_URL",
        default: "",
        doc: "Telegram Bot API base URL (platforms.telegram.api_url); unset: https://api.telegram.org.",
        apply: |c, v| {
            c.platforms.telegram.api_url = v.to_string();
            Ok(())
        },
    },
    EnvVar {
        name: "LOOKOUT_TELEGRAM_BOT_USERNAME",
        default: "",
        doc: "Telegram bot username for mentions (platforms.telegram.bot_username); unset: from getMe.",
        apply: |c, v| {
            c.platforms.telegram.bot_username = v.to_string();
            Ok(())
        },
    },
    EnvVar {
        name: "LOOKOUT_TELEGRAM_WEBHOOK_URL",
        default: "",
        doc: "Public URL Telegram posts updates to in webhook mode (platforms.telegram.webhook_url).",
        apply: |c, v| {
            c.platforms.telegram.webhook_url = v.to_string();
            Ok(())
        },
    },
    EnvVar {
        name: "LOOKOUT_TELEGRAM_WEBHOOK_SECRET",
        default: "",
        doc: "Secret token of the Telegram webhook (platforms.telegram.webhook_secret).",
        apply: |c, v| {
            c.platforms.telegram.webhook_secret = super::secret::Secret::new(v);
            Ok(())
        },
    },
    EnvVar {
        name: "LOOKOUT_DISCORD_BOT_TOKEN",
        default: "",
        doc: "Discord bot token (platforms.discord.bot_token); unset: Discord is off.",
        apply: |c, v| {
            c.platforms.discord.bot_token = super::secret::Secret::new(v);
            Ok(())
        },
    },
    EnvVar {
        name: "LOOKOUT_DISCORD_APPLICATION_ID",
        default: "",
        doc: "Discord application id (platforms.discord.application_id); unset: learnt at connect.",
        apply: |c, v| {
            let id = v.parse::<u64>().ok().filter(|n| *n != 0);
            c.platforms.discord.application_id =
                Some(id.ok_or_else(|| format!("expected a numeric Discord id, got `{v}`"))?);
            Ok(())
        },
    },
    EnvVar {
        name: "LOOKOUT_DISCORD_API_URL",
        default: "",
        doc: "Discord REST base URL (platforms.discord.api_url); unset: https://discord.com.",
        apply: |c, v| {
            c.platforms.discord.api_url = v.to_string();
            Ok(())
        },
    },
    EnvVar {
        name: "LOOKOUT_DISCORD_GATEWAY_URL",
        default: "",
        doc: "Discord gateway URL (platforms.discord.gateway_url); unset: asked from the API.",
        apply: |c, v| {
            c.platforms.discord.gateway_url = Some(v.to_string());
            Ok(())
        },
    },
];
