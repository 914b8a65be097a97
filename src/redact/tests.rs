//! The corpora (`corpus/positive.txt`: secrets that must all go; `corpus/negative.txt`:
//! ordinary lines that must come back byte for byte) and the behaviour around them.

use std::borrow::Cow;

use serde_json::json;

use super::*;

const POSITIVE: &str = include_str!("corpus/positive.txt");
const NEGATIVE: &str = include_str!("corpus/negative.txt");

fn redactor() -> Redactor {
    Redactor::new(&RedactionConfig::default()).expect("default config builds")
}

fn with(config: RedactionConfig) -> Redactor {
    Redactor::new(&config).expect("config builds")
}

/// One case of the positive corpus.
#[derive(Debug, Default)]
struct Case {
    rule: String,
    what: String,
    secrets: Vec<String>,
    expects: Vec<String>,
    input: String,
}

fn positive_cases() -> Vec<Case> {
    let mut cases: Vec<Case> = Vec::new();
    for line in POSITIVE.lines() {
        if let Some(header) = line.strip_prefix("@@@ case ") {
            let (rule, what) = header.split_once(" | ").expect("`rule | what`");
            cases.push(Case {
                rule: rule.to_string(),
                what: what.to_string(),
                ..Case::default()
            });
            continue;
        }
        let Some(case) = cases.last_mut() else {
            continue; // the file's preamble
        };
        if let Some(s) = line.strip_prefix("@@@ secret ") {
            case.secrets.push(s.to_string());
        } else if let Some(e) = line.strip_prefix("@@@ expect ") {
            case.expects.push(e.to_string());
        } else {
            case.input.push_str(line);
            case.input.push('\n');
        }
    }
    cases
}

/// Parts of a secret that would still give it away: windows over everything past its first
/// third (where well-known prefixes such as `ghp_` or `sk_live_` are).
fn recognisable_parts(secret: &str) -> Vec<&str> {
    let n = secret.len();
    let width = match n {
        0..=7 => n,
        8..=23 => 6,
        _ => 10,
    };
    (n / 3..=n - width)
        .filter(|&i| secret.is_char_boundary(i) && secret.is_char_boundary(i + width))
        .map(|i| &secret[i..i + width])
        .collect()
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn positive_corpus_leaks_nothing() {
    let r = redactor();
    let cases = positive_cases();
    let mut failures = Vec::new();
    for case in &cases {
        let out = r.redact(&case.input);
        let label = format!("[{}] {}", case.rule, case.what);
        for secret in &case.secrets {
            if out.contains(secret.as_str()) {
                failures.push(format!("{label}: `{secret}` is still there"));
                continue;
            }
            // A part that also occurs elsewhere in the input (a public certificate next to
            // a key) gives nothing away.
            let elsewhere = case.input.replace(secret.as_str(), "");
            let leaked = recognisable_parts(secret)
                .into_iter()
                .find(|p| out.contains(p) && !elsewhere.contains(p));
            if let Some(part) = leaked {
                failures.push(format!("{label}: `{part}` of `{secret}` is still there"));
            }
            if out.contains(&base64(secret.as_bytes())) {
                failures.push(format!("{label}: `{secret}` is still there in base64"));
            }
        }
        for expect in &case.expects {
            if !out.contains(expect.as_str()) {
                failures.push(format!("{label}: expected `{expect}`"));
            }
        }
        if !failures.is_empty() && failures.last().is_some_and(|f| f.starts_with(&label)) {
            failures.push(format!("{label}: output was:\n{out}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn positive_corpus_covers_the_catalogue() {
    let cases = positive_cases();
    let secrets: usize = cases.iter().map(|c| c.secrets.len()).sum();
    assert!(
        cases.len() >= 60 && secrets >= 140,
        "{} cases, {secrets} secrets",
        cases.len()
    );
    for rule in BUILT_IN {
        assert!(
            cases.iter().any(|c| c.rule == rule.name),
            "no positive case for rule `{}`",
            rule.name
        );
    }
    for case in &cases {
        assert!(
            Redactor::rule_names().any(|n| n == case.rule),
            "case names unknown rule `{}`",
            case.rule
        );
    }
}

#[test]
fn negative_corpus_passes_unchanged() {
    let r = redactor();
    let lines: Vec<&str> = NEGATIVE.lines().collect();
    assert!(lines.len() >= 40, "{} lines", lines.len());
    let mut changed = Vec::new();
    for line in &lines {
        if let Cow::Owned(out) = r.redact(line) {
            changed.push(format!("  {line}\n->{out}"));
        }
    }
    assert!(changed.is_empty(), "changed:\n{}", changed.join("\n"));
    // As one text too: rules that look at neighbouring lines (a Secret's `data:`) see them.
    assert!(matches!(r.redact(NEGATIVE), Cow::Borrowed(_)));
}

#[test]
fn redacting_twice_changes_nothing_more() {
    let r = redactor();
    for case in positive_cases() {
        let once = r.redact(&case.input).into_owned();
        let twice = r.redact(&once);
        assert_eq!(twice, once, "[{}] {}", case.rule, case.what);
    }
}

#[test]
fn clean_text_is_borrowed() {
    let r = redactor();
    let text = "level=info msg=\"ready\" port=8080";
    assert!(matches!(r.redact(text), Cow::Borrowed(t) if std::ptr::eq(t, text)));
    // A match that turns out not to be a secret does not copy either.
    assert!(matches!(
        r.redact("password: ${DB_PASSWORD}"),
        Cow::Borrowed(_)
    ));
    assert!(matches!(r.redact(""), Cow::Borrowed("")));
}

#[test]
fn replacements_say_what_was_removed() {
    let r = redactor();
    assert_eq!(
        r.redact("key AKIAIOSFODNN7EXAMPLE and password=hunter2"),
        "key [REDACTED:aws_access_key] and password=[REDACTED]"
    );
    assert_eq!(
        r.redact("postgres://app:pw-123@db:5432/app"),
        "postgres://app:[REDACTED]@db:5432/app"
    );
}

#[test]
fn prose_keeps_its_words_but_not_credentials() {
    let r = redactor();
    for kept in [
        "invalid token: expired",
        "failed to get token: Get \"https://auth.acme.io/token\": EOF",
        "could not read secret: permission denied",
        "Field 'password': rejected value [null]",
        "got token: 401",
    ] {
        assert_eq!(r.redact(kept), kept);
    }
    assert_eq!(
        r.redact("using password: hunter2"),
        "using password: [REDACTED]"
    );
    // Where keys stand (start of line, after `{` or `,`), any value is a value.
    assert_eq!(r.redact("password: letmein"), "password: [REDACTED]");
    assert_eq!(r.redact("{password: letmein}"), "{password: [REDACTED]}");
}

#[test]
fn multibyte_text_around_secrets() {
    let r = redactor();
    assert_eq!(
        r.redact("Passwort für Benutzer: password=geheim✓ — überprüft"),
        "Passwort für Benutzer: password=[REDACTED] — überprüft"
    );
    assert_eq!(
        r.redact("日本語 ghp_R4nd0mT0k3nV4lu3F0rT3st1ngAbCdEf0123 ✓"),
        "日本語 [REDACTED:github_token] ✓"
    );
}

#[test]
fn extra_patterns_and_keys() {
    let r = with(RedactionConfig {
        extra_patterns: vec![
            "acme_[a-z0-9]{32}".into(),
            "ticket-id=(?P<secret>[0-9]+)".into(),
        ],
        extra_keys: vec!["signing_blob".into()],
        ..RedactionConfig::default()
    });
    assert_eq!(
        r.redact("key acme_0123456789abcdef0123456789abcdef ok"),
        "key [REDACTED:custom] ok"
    );
    assert_eq!(
        r.redact("ticket-id=12345 x"),
        "ticket-id=[REDACTED:custom] x"
    );
    assert_eq!(
        r.redact("ACME_SIGNING_BLOB=abc"),
        "ACME_SIGNING_BLOB=[REDACTED]"
    );
    assert!(r.is_secret_key("signingBlob") || r.is_secret_key("signing_blob"));
}

#[test]
fn emails_and_ip_addresses_only_when_asked() {
    let text = "login by jane.doe@acme.io from 10.0.4.17 and 2001:db8::8a2e:370:7334 at 10:01:02";
    assert_eq!(redactor().redact(text), text);
    let r = with(RedactionConfig {
        emails: true,
        ip_addresses: true,
        ..RedactionConfig::default()
    });
    assert_eq!(
        r.redact(text),
        "login by [REDACTED:email] from [REDACTED:ipv4] and [REDACTED:ipv6] at 10:01:02"
    );
    for kept in [
        "std::io::Error",
        "Foo::bar",
        "12:30:00",
        "version 1.2.3",
        "ERROR :: done",
    ] {
        assert_eq!(r.redact(kept), kept);
    }
    assert_eq!(r.redact("bind [::1]:8080"), "bind [[REDACTED:ipv6]]:8080");
}

#[test]
fn replacement_format_and_disabled_rules() {
    let r = with(RedactionConfig {
        replacement: "<{kind} removed>".into(),
        keyed_replacement: "***".into(),
        disable: vec!["jwt".into()],
        ..RedactionConfig::default()
    });
    assert_eq!(r.redact("AKIAIOSFODNN7EXAMPLE"), "<aws_access_key removed>");
    assert_eq!(r.redact("password=x1"), "password=***");
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    assert_eq!(r.redact(jwt), jwt);
    let plain = with(RedactionConfig {
        replacement: "[removed]".into(),
        ..RedactionConfig::default()
    });
    assert_eq!(plain.redact("AKIAIOSFODNN7EXAMPLE"), "[removed]");
}

#[test]
fn config_errors_name_the_field() {
    let config = RedactionConfig {
        extra_patterns: vec!["ok_[a-z]+".into(), "acme_[a-z".into(), "x*".into()],
        extra_keys: vec!["bad key".into()],
        disable: vec!["no_such_rule".into()],
        replacement: String::new(),
        keyed_replacement: "[{kind}]".into(),
        ..RedactionConfig::default()
    };
    let errors = config.validate();
    let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        fields,
        [
            "redaction.extra_patterns[1]",
            "redaction.extra_patterns[2]",
            "redaction.extra_keys[0]",
            "redaction.disable[0]",
            "redaction.replacement",
            "redaction.keyed_replacement",
        ]
    );
    assert!(
        errors[0].1.contains("unclosed character class"),
        "{}",
        errors[0].1
    );
    assert!(errors[1].1.contains("empty string"), "{}", errors[1].1);
    let err = Redactor::new(&config).expect_err("invalid config");
    assert!(
        err.to_string().contains("redaction.extra_patterns[1]"),
        "{err}"
    );
    assert!(RedactionConfig::default().validate().is_empty());
}

#[test]
fn config_reads_from_yaml_strictly() {
    let config: RedactionConfig =
        serde_yaml_ng::from_str("extra_patterns: ['acme_[a-z0-9]{32}']\nemails: true\n")
            .expect("valid yaml");
    assert_eq!(config.extra_patterns, ["acme_[a-z0-9]{32}"]);
    assert!(config.emails && !config.ip_addresses);
    assert_eq!(config.keyed_replacement, "[REDACTED]");
    let unknown = serde_yaml_ng::from_str::<RedactionConfig>("patterns: []\n");
    assert!(unknown.is_err());
}

#[test]
fn json_values_are_redacted_by_structure() {
    let r = redactor();
    let mut v = json!({
        "kind": "Secret",
        "metadata": {"name": "db-creds", "annotations": {"note": "password=hunter2"}},
        "data": {"username": "YWRtaW4=", "password": "aHVudGVyMg=="},
        "spec": {
            "containers": [{
                "env": [
                    {"name": "DB_PASSWORD", "value": "plain-value"},
                    {"name": "PORT", "value": "8080"}
                ],
                "volumes": [{"secret": {"secretName": "db-creds"}}]
            }]
        },
        "headers": {"Authorization": "Bearer abc.def", "apiKey": 12345, "token": null},
        "log": "GITHUB_TOKEN=ghp_R4nd0mT0k3nV4lu3F0rT3st1ngAbCdEf0123",
        "ghp_R4nd0mT0k3nV4lu3F0rT3st1ngAbCdEf0123": "a key that is a secret"
    });
    r.redact_json(&mut v);
    assert_eq!(
        v["data"],
        json!({"username": "[REDACTED]", "password": "[REDACTED]"})
    );
    assert_eq!(v["metadata"]["name"], "db-creds");
    assert_eq!(v["metadata"]["annotations"]["note"], "password=[REDACTED]");
    let env = &v["spec"]["containers"][0]["env"];
    assert_eq!(env[0]["value"], "[REDACTED]");
    assert_eq!(env[1]["value"], "8080");
    assert_eq!(
        v["spec"]["containers"][0]["volumes"][0]["secret"]["secretName"],
        "db-creds"
    );
    assert_eq!(
        v["headers"],
        json!({"Authorization": "[REDACTED]", "apiKey": "[REDACTED]", "token": null})
    );
    assert_eq!(v["log"], "GITHUB_TOKEN=[REDACTED]");
    assert_eq!(v["[REDACTED:github_token]"], "a key that is a secret");

    // A ConfigMap's data is configuration, not a secret.
    let mut cm = json!({"kind": "ConfigMap", "data": {"LOG_LEVEL": "aW5mbw=="}});
    r.redact_json(&mut cm);
    assert_eq!(cm["data"]["LOG_LEVEL"], "aW5mbw==");
}

#[test]
fn usable_as_the_chat_redaction_hook() {
    let r: std::sync::Arc<dyn crate::chat::redact::Redact> = std::sync::Arc::new(redactor());
    assert_eq!(r.redact("token=abc123"), "token=[REDACTED]");
}

#[test]
fn arbitrary_text_never_panics() {
    // Fragments that open rules and then break them off, mixed with multi-byte characters.
    const PIECES: &[&str] = &[
        "password",
        "token",
        ": ",
        "=",
        "\"",
        "\\\"",
        "'",
        "\n",
        "\r\n",
        "  ",
        "- ",
        "data:",
        "\"data\": {",
        "stringData:",
        "kind: Secret",
        "|",
        "[",
        "]",
        "<",
        ">",
        "{",
        "}",
        ",",
        "://u:",
        "@",
        "-----BEGIN PRIVATE KEY-----",
        "-----END PRIVATE KEY-----",
        "eyJ",
        ".",
        "LS0tLS1CRUdJTi",
        "ü",
        "✓",
        "日本",
        "\\n",
        "name: DB_PASSWORD",
        "value:",
        "+",
        "::",
        "ghp_",
        "Authorization: Bearer ",
        "abc123",
        "==",
        "sig=",
        "--token ",
        "\t",
        "$",
        "%",
    ];
    let r = with(RedactionConfig {
        emails: true,
        ip_addresses: true,
        ..RedactionConfig::default()
    });
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..1000 {
        let mut text = String::new();
        for _ in 0..24 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            text.push_str(PIECES[(seed % PIECES.len() as u64) as usize]);
        }
        let once = r.redact(&text);
        let _ = r.redact(&once);
        let mut v =
            json!({ "log": text, "password": text, "data": { "k": text }, "kind": "Secret" });
        r.redact_json(&mut v);
    }
}
