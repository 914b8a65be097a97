//! Checks that serde cannot express: value ranges, formats, fields that only make sense
//! together. Every problem is reported with its field, all at once.

use super::load::{ConfigError, FieldError};
use super::model::{Config, StoreBackend};

pub(super) fn validate(config: &Config) -> Result<(), ConfigError> {
    let mut errors = Vec::new();
    let mut err = |field: &str, reason: String| {
        errors.push(FieldError {
            field: field.to_string(),
            reason,
        })
    };

    if !is_cluster_name(&config.cluster) {
        err(
            "cluster",
            format!(
                "`{}` is not a valid cluster name: use 1-40 lowercase letters, digits or `-`, \
                 starting and ending with a letter or digit",
                config.cluster
            ),
        );
    }

    if config.store.backend == StoreBackend::Redis {
        match url::Url::parse(config.redis.url.expose()) {
            Ok(u) if matches!(u.scheme(), "redis" | "rediss" | "redis+unix" | "unix") => {}
            Ok(u) => err(
                "redis.url",
                format!("scheme `{}` is not redis:// or rediss://", u.scheme()),
            ),
            Err(e) => err("redis.url", format!("not a URL ({e})")),
        }
        let tls = &config.redis;
        if tls.tls_client_cert_file.is_some() != tls.tls_client_key_file.is_some() {
            err(
                "redis.tls_client_cert_file",
                "mutual TLS needs both tls_client_cert_file and tls_client_key_file".into(),
            );
        }
        for (field, path) in [
            ("redis.tls_ca_file", &tls.tls_ca_file),
            ("redis.tls_client_cert_file", &tls.tls_client_cert_file),
            ("redis.tls_client_key_file", &tls.tls_client_key_file),
        ] {
            if let Some(p) = path
                && !p.is_file()
            {
                err(field, format!("file `{}` does not exist", p.display()));
            }
        }
    }

    for (field, d) in [
        ("store.retention", config.store.retention),
        ("store.conversation_ttl", config.store.conversation_ttl),
        ("redis.connect_timeout", config.redis.connect_timeout),
        ("redis.response_timeout", config.redis.response_timeout),
        ("health.check_interval", config.health.check_interval),
        ("health.max_backoff", config.health.max_backoff),
    ] {
        if d.is_zero() {
            err(field, "must be longer than zero".into());
        }
    }
    for (field, d) in [
        ("correlation.window", config.correlation.window),
        ("correlation.quiet_period", config.correlation.quiet_period),
        ("correlation.dedup_ttl", config.correlation.dedup_ttl),
    ] {
        if d.is_zero() {
            err(field, "must be longer than zero".into());
        }
    }
    for (name, weight) in &config.correlation.weights {
        if *weight > 100 {
            err(
                &format!("correlation.weights.{name}"),
                format!("{weight} is above the maximum of 100"),
            );
        }
    }
    if !config.alertmanager.path.starts_with('/') {
        err(
            "alertmanager.path",
            format!("`{}` must start with `/`", config.alertmanager.path),
        );
    }
    if config.alertmanager.max_body_bytes < 1024 {
        err(
            "alertmanager.max_body_bytes",
            "must be at least 1024 (Alertmanager sends whole alert groups)".into(),
        );
    }
    // The redaction section names its own fields in full.
    for (field, reason) in config.redaction.validate() {
        err(&field, reason);
    }
    for (field, reason) in config
        .approvals
        .validate()
        .into_iter()
        .chain(config.remediation.validate())
    {
        err(&field, reason);
    }
    // The conversations section names its own fields in full.
    for (field, reason) in config.conversations.validate() {
        err(&field, reason);
    }
    for (field, reason) in config.actions.validate() {
        err(&format!("actions.{field}"), reason);
    }
    for (field, reason) in config.context.problems() {
        err(&format!("context.{field}"), reason);
    }
    for (field, reason) in config.llm.validate() {
        err(&format!("llm.{field}"), reason);
    }
    if config.platforms.slack_enabled() {
        for (field, reason) in config.platforms.slack.validate() {
            err(&format!("platforms.slack.{field}"), reason);
        }
    }
    if config.platforms.telegram_enabled() {
        for (field, reason) in config.platforms.telegram.validate() {
            err(&format!("platforms.telegram.{field}"), reason);
        }
    }
    if config.platforms.discord_enabled() {
        for (field, reason) in config.platforms.discord.validate() {
            err(&format!("platforms.discord.{field}"), reason);
        }
    }
    let enabled = config.platforms.enabled();
    for (i, rule) in config.routing.iter().enumerate() {
        if rule.to.is_empty() {
            err(&format!("routing[{i}].to"), "names no target".into());
        }
        for (j, target) in rule.to.iter().enumerate() {
            if !enabled.contains(&target.platform.as_str()) {
                err(
                    &format!("routing[{i}].to[{j}]"),
                    format!(
                        "`{target}`: platform `{}` is not configured (enabled: {})",
                        target.platform,
                        if enabled.is_empty() {
                            "none".to_string()
                        } else {
                            enabled.join(", ")
                        }
                    ),
                );
            }
        }
    }
    for (i, digest) in config.digests.iter().enumerate() {
        for (field, reason) in digest.validate() {
            err(&format!("digests[{i}].{field}"), reason);
        }
        for (j, target) in digest.to.iter().enumerate() {
            if !enabled.contains(&target.platform.as_str()) {
                err(
                    &format!("digests[{i}].to[{j}]"),
                    format!(
                        "`{target}`: platform `{}` is not configured",
                        target.platform
                    ),
                );
            }
        }
    }
    if config.routing.is_empty() && config.platforms.slack_enabled() {
        err(
            "routing",
            "Slack is configured but no rule routes incidents to it; add e.g. `- to: [\"slack:#k8s-alerts\"]`".into(),
        );
    }
    if config.store.audit_max_len == 0 {
        err("store.audit_max_len", "must be at least 1".into());
    }
    if config.store.conversation_max_turns == 0 {
        err("store.conversation_max_turns", "must be at least 1".into());
    }
    if config.health.max_backoff < config.health.check_interval {
        err(
            "health.max_backoff",
            "must not be shorter than health.check_interval".into(),
        );
    }
    if let Err(e) = config.log.filter.parse::<tracing_subscriber::EnvFilter>() {
        err("log.filter", format!("not a valid filter: {e}"));
    }
    if let Some(p) = &config.kubernetes.kubeconfig
        && !p.is_file()
    {
        err(
            "kubernetes.kubeconfig",
            format!("file `{}` does not exist", p.display()),
        );
    }

    if errors.is_empty() {
        Ok(())
    } else {
        Err(ConfigError { errors })
    }
}

fn is_cluster_name(s: &str) -> bool {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    (1..=40).contains(&s.len())
        && s.chars().all(ok_char)
        && !s.starts_with('-')
        && !s.ends_with('-')
}
