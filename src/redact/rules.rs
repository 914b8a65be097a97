//! The catalogue: every built-in rule, its name (shown in the replacement and accepted by
//! `redaction.disable`), its patterns and what is done with a match.
//!
//! All patterns are searched together, in one pass, by one multi-pattern regex: at each
//! position the leftmost match wins, and among matches starting at the same byte the rule
//! listed first. Patterns avoid what would slow that pass down or make the lazy DFA give up:
//! no Unicode word boundaries (`(?-u:\b)` instead), no bounded repetition at the start of a
//! pattern without an anchor, no look-around. `{KEYS}` stands for the alternation of key names
//! whose values are secret ([`KEY_WORDS`] plus `redaction.extra_keys`).

/// What a rule does with its match; the logic lives in `apply.rs` and `manifest.rs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    /// A secret recognised by its shape: the match (or its `secret` group) becomes
    /// `[REDACTED:<name>]`.
    Token,
    /// A value after something that names it (a URL's user, an `Authorization` header, the
    /// `"auth"` of a Docker config): the value becomes `[REDACTED]`, the rest stays.
    Keyed,
    /// `key=value`, `key: value`, `"key": "value"`: like `Keyed`, with the checks that keep
    /// prose (`invalid token: expired`) and placeholders (`${DB_PASSWORD}`) intact.
    KeyValue,
    /// A Kubernetes env entry whose `name` is secret-like: its `value` is redacted.
    EnvValue,
    /// A YAML block scalar under a secret key (`password: |`): the whole block goes.
    BlockScalar,
    /// `data:` / `stringData:` of a Secret manifest in YAML: every value goes.
    SecretDataYaml,
    /// `"data": {...}` of a Secret in JSON (also escaped, as in `last-applied-configuration`).
    SecretDataJson,
    /// Base64 of a PEM block: redacted unless it decodes to a certificate or public key.
    Base64Pem,
    /// An IPv6 candidate: redacted when it parses and stands alone.
    Ipv6,
}

/// One rule of the catalogue.
#[derive(Debug)]
pub(super) struct Rule {
    /// Shown as `{kind}` in the replacement; accepted by `redaction.disable`.
    pub name: &'static str,
    pub patterns: &'static [&'static str],
    pub action: Action,
}

/// The end of a key whose value is secret, case-insensitive, `{KEYS}` in the patterns. A key
/// matches when it ends with one of these: `DB_PASSWORD`, `client_secret`, `X-Api-Key`,
/// `aws_secret_access_key`; `secretName`, `token_ttl` and `password_file` do not.
pub(super) const KEY_WORDS: &str = "pass(?:word|wd|phrase)|[_.-]pass|pwd|secret|token\
    |(?:api|access|secret|private|account|auth|signing|encryption|master|app|application\
    |license|session|subscription|shared[_-]?access)[_-]?key\
    |private[_-]?key[_-]?id|shared[_-]?access[_-]?signature|(?:amz|goog)-signature";

/// A value after a key: double-quoted (JSON), escaped-quoted (JSON inside a JSON string),
/// single-quoted, `<...>` (describe's `<set to the key ...>`), `[...]` (Go's header maps), or
/// bare up to whitespace, a quote, `;` or `&`. Exactly one of the named groups takes part.
macro_rules! value {
    () => {
        r#"(?:"(?P<dq>(?:[^"\\\r\n]|\\.)*)"|\\"(?P<eq>(?:[^"\\\r\n]|\\[^"])*)\\"|'(?P<sq>[^'\r\n]*)'|<(?P<ang>[^<>\r\n]*)>|\[(?P<br>[^\[\]\s]*)\]|(?P<bare>[^\s"'`<\[{\\;&](?:[^\s"'`\\;&]|\\[^nrt"'])*))"#
    };
}

/// The built-in rules, in priority order.
pub(super) const BUILT_IN: &[Rule] = &[
    // --- Private keys: whole blocks, also with `\n` escapes inside JSON strings.
    Rule {
        name: "private_key",
        patterns: &[
            r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----(?:(?:Proc-Type|DEK-Info|Comment|Version|Hash|Charset):[^\r\n\\]*|[ \t\r\n]|\\[nrt]|[A-Za-z0-9+/=])*(?:-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----)?",
        ],
        action: Action::Token,
    },
    Rule {
        name: "base64_private_key",
        patterns: &[r"(?-u:\b)LS0tLS1CRUdJTi[A-Za-z0-9+/]*={0,2}"],
        action: Action::Base64Pem,
    },
    // --- Manifests and config files: structure decides what is secret.
    Rule {
        name: "secret_data",
        patterns: &[r"(?m)^(?P<ind>[ \t]*(?:-[ \t]+)?)(?P<key>data|stringData):[ \t]*\r?$"],
        action: Action::SecretDataYaml,
    },
    Rule {
        name: "secret_data_json",
        patterns: &[r#"(?P<q>\\?")(?P<key>data|stringData)\\?"[ \t\r\n]*:[ \t\r\n]*\{"#],
        action: Action::SecretDataJson,
    },
    Rule {
        name: "secret_block",
        patterns: &[
            r#"(?m)^(?P<ind>[ \t]*(?:-[ \t]+)?)["']?(?P<key>[A-Za-z0-9_.-]*(?i-u:{KEYS}))["']?[ \t]*:[ \t]*[|>][-+0-9]*[ \t]*(?:#[^\r\n]*)?\r?$"#,
        ],
        action: Action::BlockScalar,
    },
    Rule {
        name: "env_value",
        patterns: &[
            concat!(
                r#"(?m)(?-u:\b)name:[ \t]*["']?(?P<key>[A-Za-z0-9_.-]*(?i-u:{KEYS}))["']?[ \t]*\r?\n[+-]?[ \t]*(?:-[ \t]+)?value:[ \t]*"#,
                value!()
            ),
            concat!(
                r#"\\?"name\\?"[ \t\r\n]*:[ \t\r\n]*\\?"(?P<key>[A-Za-z0-9_.-]*(?i-u:{KEYS}))\\?"[ \t\r\n]*,[ \t\r\n]*\\?"value\\?"[ \t\r\n]*:[ \t\r\n]*"#,
                value!()
            ),
        ],
        action: Action::EnvValue,
    },
    Rule {
        name: "docker_config",
        patterns: &[r"(?-u:\b)eyJhdXRocyI6[A-Za-z0-9+/=]+"],
        action: Action::Token,
    },
    Rule {
        name: "docker_auth",
        patterns: &[r#"\\?"auth\\?"[ \t]*:[ \t]*\\?"(?P<secret>[A-Za-z0-9+/=]{4,})\\?""#],
        action: Action::Keyed,
    },
    // --- Tokens recognisable by their shape.
    Rule {
        name: "aws_access_key",
        patterns: &[r"(?-u:\b)(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?-u:\b)"],
        action: Action::Token,
    },
    Rule {
        name: "github_token",
        patterns: &[r"(?-u:\b)gh[pousr]_[A-Za-z0-9]{36}[A-Za-z0-9]*"],
        action: Action::Token,
    },
    Rule {
        name: "github_pat",
        patterns: &[r"(?-u:\b)github_pat_[A-Za-z0-9_]{22}[A-Za-z0-9_]*"],
        action: Action::Token,
    },
    Rule {
        name: "gitlab_token",
        patterns: &[
            r"(?-u:\b)gl(?:pat|ptt|dt|rt|cbt|soat|ft|imt|agent)-[A-Za-z0-9_-]{20}[A-Za-z0-9_-]*",
        ],
        action: Action::Token,
    },
    Rule {
        name: "slack_token",
        patterns: &[r"(?-u:\b)(?:xox[abposer]|xapp)-[A-Za-z0-9-]{10}[A-Za-z0-9-]*"],
        action: Action::Token,
    },
    Rule {
        name: "slack_webhook",
        patterns: &[
            r"https://hooks\.slack\.com/(?P<secret>(?:services|workflows|triggers)/[A-Za-z0-9_/-]+)",
        ],
        action: Action::Token,
    },
    Rule {
        name: "discord_webhook",
        patterns: &[
            r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/[0-9]+/(?P<secret>[A-Za-z0-9_-]+)",
        ],
        action: Action::Token,
    },
    Rule {
        name: "stripe_key",
        patterns: &[r"(?-u:\b)(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10}[A-Za-z0-9]*"],
        action: Action::Token,
    },
    Rule {
        name: "stripe_webhook_secret",
        patterns: &[r"(?-u:\b)whsec_[A-Za-z0-9+/=]{20}[A-Za-z0-9+/=]*"],
        action: Action::Token,
    },
    Rule {
        name: "anthropic_key",
        patterns: &[
            r"(?-u:\b)sk-ant-(?:api|admin|oat|ort)[0-9]{2}-[A-Za-z0-9_-]{20}[A-Za-z0-9_-]*",
        ],
        action: Action::Token,
    },
    Rule {
        name: "openai_key",
        patterns: &[
            r"(?-u:\b)sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20}[A-Za-z0-9_-]*|[A-Za-z0-9]{32}[A-Za-z0-9]*)",
        ],
        action: Action::Token,
    },
    Rule {
        name: "google_api_key",
        patterns: &[r"(?-u:\b)AIza[0-9A-Za-z_-]{35}"],
        action: Action::Token,
    },
    Rule {
        name: "gcp_oauth_token",
        patterns: &[r"(?-u:\b)ya29\.[0-9A-Za-z_-]{20}[0-9A-Za-z_-]*"],
        action: Action::Token,
    },
    Rule {
        name: "twilio_api_key",
        patterns: &[r"(?-u:\b)SK[0-9a-fA-F]{32}(?-u:\b)"],
        action: Action::Token,
    },
    Rule {
        name: "sendgrid_key",
        patterns: &[r"(?-u:\b)SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16}[A-Za-z0-9_-]*"],
        action: Action::Token,
    },
    Rule {
        name: "npm_token",
        patterns: &[r"(?-u:\b)npm_[A-Za-z0-9]{36}"],
        action: Action::Token,
    },
    Rule {
        name: "pypi_token",
        patterns: &[r"(?-u:\b)pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{40}[A-Za-z0-9_-]*"],
        action: Action::Token,
    },
    Rule {
        name: "dockerhub_token",
        patterns: &[r"(?-u:\b)dckr_pat_[A-Za-z0-9_-]{20}[A-Za-z0-9_-]*"],
        action: Action::Token,
    },
    Rule {
        name: "huggingface_token",
        patterns: &[r"(?-u:\b)hf_[A-Za-z0-9]{30}[A-Za-z0-9]*"],
        action: Action::Token,
    },
    Rule {
        name: "vault_token",
        patterns: &[r"(?-u:\b)hv[sbr]\.[A-Za-z0-9_-]{20}[A-Za-z0-9_-]*"],
        action: Action::Token,
    },
    Rule {
        name: "heroku_key",
        patterns: &[r"(?-u:\b)HRKU-[A-Za-z0-9_-]{20}[A-Za-z0-9_-]*"],
        action: Action::Token,
    },
    Rule {
        name: "newrelic_key",
        patterns: &[r"(?-u:\b)NR(?:AK|AA|II|JS|IQ|RA|SP)-[A-Za-z0-9]{19}[A-Za-z0-9]*"],
        action: Action::Token,
    },
    Rule {
        name: "digitalocean_token",
        patterns: &[r"(?-u:\b)do[opr]_v1_[a-f0-9]{64}"],
        action: Action::Token,
    },
    Rule {
        name: "grafana_token",
        patterns: &[
            r"(?-u:\b)(?:glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|glc_[A-Za-z0-9+/]{32}[A-Za-z0-9+/]*={0,2})",
        ],
        action: Action::Token,
    },
    Rule {
        name: "shopify_token",
        patterns: &[r"(?-u:\b)shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}"],
        action: Action::Token,
    },
    Rule {
        name: "age_secret_key",
        patterns: &[r"AGE-SECRET-KEY-1[0-9A-Z]{58}"],
        action: Action::Token,
    },
    Rule {
        name: "alibaba_access_key",
        patterns: &[r"(?-u:\b)LTAI[A-Za-z0-9]{12,20}(?-u:\b)"],
        action: Action::Token,
    },
    Rule {
        name: "azure_client_secret",
        patterns: &[r"(?-u:\b)[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}"],
        action: Action::Token,
    },
    Rule {
        name: "telegram_bot_token",
        patterns: &[r"(?-u:\b)(?:bot)?(?P<secret>[0-9]{8,10}:AA[A-Za-z0-9_-]{33})"],
        action: Action::Token,
    },
    Rule {
        name: "discord_bot_token",
        patterns: &[r"(?-u:\b)[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,40}"],
        action: Action::Token,
    },
    Rule {
        name: "jwt",
        patterns: &[r"(?-u:\b)eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}(?:\.[A-Za-z0-9_-]*){1,3}"],
        action: Action::Token,
    },
    // --- Credentials that follow something naming them.
    Rule {
        name: "url_credentials",
        patterns: &[
            r#"(?-u:\b)[A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@"'<>\[\]]*:(?P<secret>[^\s/?#"'<>]+)@"#,
            r#"jdbc:oracle:[A-Za-z]+:[^\s/:@"']+/(?P<secret>[^\s@"']+)@"#,
            r#"(?m)(?:^|[ \t"'])(?:-u|--user)(?:[ \t]+|=)["']?[^\s:"'-][^\s:"']*:(?P<secret>[^\s"']+)"#,
        ],
        action: Action::Keyed,
    },
    Rule {
        name: "authorization",
        patterns: &[
            r#"(?i-u:(?-u:\b)(?:proxy-)?authorization)\\?["']?[ \t]*[:=][ \t]*\[?\\?["']?(?:(?i-u:bearer|basic|token|digest|negotiate|ntlm|apikey|sso-key|hmac|aws4-hmac-sha256)[ \t]+)?(?P<secret>[^\s"'\]\\,]+)"#,
            r"(?i-u:(?-u:\b)bearer)[ \t]+(?P<secret>[A-Za-z0-9._~+/-]{16}[A-Za-z0-9._~+/-]*=*)",
        ],
        action: Action::Keyed,
    },
    Rule {
        name: "cookie",
        patterns: &[
            r#"(?i-u:(?-u:\b)(?:set-)?cookie)\\?["']?[ \t]*:[ \t]*\[?\\?["']?(?P<secret>[^\r\n"\\\]]+)"#,
        ],
        action: Action::Keyed,
    },
    Rule {
        name: "key_value",
        patterns: &[
            r#"(?P<key>--[A-Za-z0-9_-]*(?i-u:{KEYS}))(?:[ \t]+|\\?["'][ \t]*,[ \t]*\\?["']|["']?\r?\n[ \t]*-[ \t]+["']?)(?P<flag>[^\s"',\]\\-][^\s"',\]\\]*)"#,
            concat!(
                r#"(?P<key>[A-Za-z0-9_.-]*(?i-u:{KEYS})|(?i-u:(?-u:\b)sig))(?P<kq>\\?["'])?[ \t]*(?P<sep>=>|:=|=|:)[ \t]*"#,
                value!()
            ),
        ],
        action: Action::KeyValue,
    },
];

/// Rules that only run when the config asks for them.
pub(super) const OPTIONAL: &[Rule] = &[
    Rule {
        name: "email",
        patterns: &[
            r"(?-u:\b)[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?-u:\b)",
        ],
        action: Action::Token,
    },
    Rule {
        name: "ipv4",
        patterns: &[
            r"(?-u:\b)(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(?-u:\b)",
        ],
        action: Action::Token,
    },
    Rule {
        name: "ipv6",
        patterns: &[
            r"(?i-u:(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}|(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})?::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})?(?:\.[0-9]{1,3}){0,3})",
        ],
        action: Action::Ipv6,
    },
];
