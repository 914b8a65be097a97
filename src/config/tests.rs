use std::collections::HashMap;
use std::time::Duration;

use super::load::from_yaml;
use super::*;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn first_error(e: ConfigError) -> (String, String) {
    let f = e.errors.into_iter().next().expect("at least one error");
    (f.field, f.reason)
}

#[test]
fn defaults_are_valid() {
    let c = load_from(&env(&[])).expect("defaults load");
    assert_eq!(c.cluster, "local");
    assert_eq!(c.store.backend, StoreBackend::Redis);
    assert_eq!(c.store.retention, Duration::from_secs(90 * 24 * 3600));
    assert_eq!(c.redis.url.expose(), "redis://127.0.0.1:6379/0");
}

#[test]
fn unknown_key_names_its_parent_and_the_key() {
    let (field, reason) = first_error(from_yaml("redis:\n  urll: redis://x\n").unwrap_err());
    assert_eq!(field, "redis.urll");
    assert!(reason.contains("unknown field `urll`"), "{reason}");
    assert!(reason.contains("expected one of"), "{reason}");
}

#[test]
fn invalid_duration_names_the_field() {
    let (field, reason) = first_error(from_yaml("store:\n  retention: ninety days\n").unwrap_err());
    assert_eq!(field, "store.retention");
    assert!(!reason.is_empty());
}

#[test]
fn wrong_type_names_the_field() {
    let (field, _) = first_error(from_yaml("store:\n  audit_max_len: lots\n").unwrap_err());
    assert_eq!(field, "store.audit_max_len");
    let (field, reason) = first_error(from_yaml("log:\n  format: xml\n").unwrap_err());
    assert_eq!(field, "log.format");
    assert!(reason.contains("xml"), "{reason}");
}

#[test]
fn file_values_apply_and_env_overrides_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lookout.yaml");
    std::fs::write(
        &path,
        "cluster: prod-eu-1\nstore:\n  retention: 30d\nredis:\n  url: redis://file:6379/0\n",
    )
    .unwrap();
    let p = path.to_str().unwrap();
    let c = load_from(&env(&[("LOOKOUT_CONFIG", p)])).unwrap();
    assert_eq!(c.cluster, "prod-eu-1");
    assert_eq!(c.store.retention, Duration::from_secs(30 * 24 * 3600));
    assert_eq!(c.redis.url.expose(), "redis://file:6379/0");

    let c = load_from(&env(&[
        ("LOOKOUT_CONFIG", p),
        ("LOOKOUT_REDIS_URL", "redis://env:6379/1"),
        ("LOOKOUT_CLUSTER", "staging"),
    ]))
    .unwrap();
    assert_eq!(c.redis.url.expose(), "redis://env:6379/1");
    assert_eq!(c.cluster, "staging");
}

#[test]
fn file_errors_carry_the_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, "clusterr: x\n").unwrap();
    let e = load_from(&env(&[("LOOKOUT_CONFIG", path.to_str().unwrap())])).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("bad.yaml"), "{text}");
    assert!(text.contains("unknown field `clusterr`"), "{text}");

    let e = load_from(&env(&[("LOOKOUT_CONFIG", "/nonexistent/lookout.yaml")])).unwrap_err();
    assert!(e.to_string().contains("cannot read file"), "{e}");
}

#[test]
fn bad_env_values_name_the_variable() {
    let e = load_from(&env(&[
        ("LOOKOUT_STORE", "postgres"),
        ("LOOKOUT_HTTP_LISTEN", "everywhere"),
    ]))
    .unwrap_err();
    let fields: Vec<_> = e.errors.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["LOOKOUT_STORE", "LOOKOUT_HTTP_LISTEN"]);
}

#[test]
fn validation_reports_every_problem_with_its_field() {
    let e = load_from(&env(&[
        ("LOOKOUT_CLUSTER", "Prod_EU"),
        ("LOOKOUT_REDIS_URL", "http://redis:6379"),
        ("LOOKOUT_LOG", "lookout=loud"),
    ]))
    .unwrap_err();
    let fields: Vec<_> = e.errors.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["cluster", "redis.url", "log.filter"], "{e}");

    let (field, reason) = first_error(
        load_from(&env(&[("LOOKOUT_CONFIG", "")]))
            .and_then(|mut c| {
                c.store.retention = Duration::ZERO;
                super::validate::validate(&c).map(|_| c)
            })
            .unwrap_err(),
    );
    assert_eq!(field, "store.retention");
    assert!(reason.contains("zero"));
}

#[test]
fn rust_log_is_the_fallback_filter() {
    let c = load_from(&env(&[("RUST_LOG", "debug")])).unwrap();
    assert_eq!(c.log.filter, "debug");
    let c = load_from(&env(&[("RUST_LOG", "debug"), ("LOOKOUT_LOG", "warn")])).unwrap();
    assert_eq!(c.log.filter, "warn");
}

#[test]
fn printed_config_masks_secrets() {
    let c = load_from(&env(&[(
        "LOOKOUT_REDIS_URL",
        "redis://:s3cr3t-pass@redis:6379/0",
    )]))
    .unwrap();
    let printed = serde_yaml_ng::to_string(&c).unwrap();
    assert!(!printed.contains("s3cr3t-pass"), "{printed}");
    assert!(printed.contains("redis:6379"), "{printed}");
}

#[test]
fn printed_config_parses_back() {
    // What `lookout check` prints is itself a valid config file (secrets aside).
    let c = Config::default();
    let printed = serde_yaml_ng::to_string(&c).unwrap();
    let back = from_yaml(&printed).expect("printed config parses");
    assert_eq!(serde_yaml_ng::to_string(&back).unwrap(), printed);
}

#[test]
fn env_example_lists_every_variable_with_its_default() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.env.example"))
        .expect(".env.example exists");
    let listed: Vec<(String, String)> = text
        .lines()
        .map(|l| l.trim_start_matches('#').trim())
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| !k.is_empty() && k.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let expected: Vec<(String, String)> = ENV_VARS
        .iter()
        .map(|v| (v.name.to_string(), v.default.to_string()))
        .collect();
    assert_eq!(listed, expected, ".env.example is out of date");
}

#[test]
fn correlation_weights_are_checked_by_signal_name() {
    let (field, reason) =
        first_error(from_yaml("correlation:\n  weights:\n    oom_kill: 50\n").unwrap_err());
    assert_eq!(field, "correlation.weights");
    assert!(
        reason.contains("oom_kill") && reason.contains("oom_killed"),
        "{reason}"
    );
    let c = from_yaml("correlation:\n  weights:\n    oom_killed: 50\n  settle: 2s\n").unwrap();
    assert_eq!(
        c.correlation.weights[&crate::detect::SignalName::OomKilled],
        50
    );
    assert_eq!(c.correlation.settle, Duration::from_secs(2));
    let mut c = Config::default();
    c.correlation
        .weights
        .insert(crate::detect::SignalName::PvcLost, 150);
    let e = super::validate::validate(&c).unwrap_err();
    assert_eq!(e.errors[0].field, "correlation.weights.pvc_lost");
}

#[test]
fn alertmanager_token_comes_from_the_environment_and_stays_secret() {
    let c = load_from(&env(&[("LOOKOUT_ALERTMANAGER_TOKEN", "am-token-123")])).unwrap();
    assert_eq!(c.alertmanager.token.expose(), "am-token-123");
    assert!(
        !serde_yaml_ng::to_string(&c)
            .unwrap()
            .contains("am-token-123")
    );
}

#[test]
fn digests_are_validated_by_field_and_printed_by_check() {
    let yaml = "platforms: { console: { enabled: true } }\ndigests:\n  - { schedule: '0 9 * * *', timezone: Mars/Olympus, to: [console] }\n  - { schedule: 'every morning', to: [ 'slack:#ops' ] }\n";
    let e = super::validate::validate(&from_yaml(yaml).unwrap()).unwrap_err();
    let fields: Vec<_> = e.errors.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "digests[0].timezone",
            "digests[1].schedule",
            "digests[1].to[0]"
        ],
        "{e}"
    );
    assert!(
        e.to_string().contains("platform `slack` is not configured"),
        "{e}"
    );

    let good = "platforms: { console: { enabled: true } }\ndigests:\n  - { name: morning, schedule: '0 9 * * Mon-Fri', timezone: Europe/Berlin, to: [console], llm_summary: true }\n";
    let c = from_yaml(good).unwrap();
    super::validate::validate(&c).expect("valid");
    // `lookout check` prints the effective config, defaults filled in.
    let printed = serde_yaml_ng::to_string(&c).unwrap();
    assert!(printed.contains("digests:\n- name: morning"), "{printed}");
    assert!(printed.contains("include_missed: true"), "{printed}");
    assert_eq!(from_yaml(&printed).unwrap().digests, c.digests);
}
