//! Detection configuration: defaults, YAML, strictness.

use std::time::Duration;

use super::*;

#[test]
fn defaults_are_explicit_and_survive_a_yaml_round_trip() {
    let config = DetectConfig::default();
    assert_eq!(config.high_restarts_threshold, 5);
    assert_eq!(config.not_ready_grace, Duration::from_secs(300));
    assert_eq!(config.event_window, Duration::from_secs(900));
    let yaml = serde_yaml_ng::to_string(&config).unwrap();
    assert!(yaml.contains("not_ready_grace: 5m"), "{yaml}");
    assert_eq!(
        serde_yaml_ng::from_str::<DetectConfig>(&yaml).unwrap(),
        config
    );

    let scope = ScopeConfig::default();
    assert_eq!(scope.exclude_namespaces, ["kube-system"]);
    assert_eq!(
        serde_yaml_ng::from_str::<ScopeConfig>(&serde_yaml_ng::to_string(&scope).unwrap()).unwrap(),
        scope
    );
}

#[test]
fn a_partial_file_keeps_the_other_defaults_and_unknown_keys_fail() {
    let config: DetectConfig =
        serde_yaml_ng::from_str("not_ready_grace: 90s\nhigh_restarts_threshold: 10\n").unwrap();
    assert_eq!(config.not_ready_grace, Duration::from_secs(90));
    assert_eq!(config.high_restarts_threshold, 10);
    assert_eq!(
        config.pvc_pending_grace,
        DetectConfig::default().pvc_pending_grace
    );

    let error = serde_yaml_ng::from_str::<DetectConfig>("not_ready_grase: 90s").unwrap_err();
    assert!(error.to_string().contains("not_ready_grase"), "{error}");
    let error = serde_yaml_ng::from_str::<DetectConfig>("event_window: soon").unwrap_err();
    assert!(error.to_string().contains("not a duration"), "{error}");
    assert!(serde_yaml_ng::from_str::<ScopeConfig>("exclude: [x]").is_err());
}
