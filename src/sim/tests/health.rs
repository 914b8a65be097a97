//! Unit tests of `sim::health`.

use std::collections::{HashMap, HashSet};

use super::*;

/// ConfigMaps and Secrets by name, with their keys.
#[derive(Default)]
struct Fake {
    config_maps: HashMap<String, HashSet<String>>,
    secrets: HashMap<String, HashSet<String>>,
}

impl Fake {
    fn cm(mut self, name: &str, keys: &[&str]) -> Self {
        let keys = keys.iter().map(|k| k.to_string()).collect();
        self.config_maps.insert(name.into(), keys);
        self
    }
    fn secret(mut self, name: &str, keys: &[&str]) -> Self {
        let keys = keys.iter().map(|k| k.to_string()).collect();
        self.secrets.insert(name.into(), keys);
        self
    }
}

impl World for Fake {
    fn config_map(&self, _: &str, name: &str, key: Option<&str>) -> Option<bool> {
        let keys = self.config_maps.get(name)?;
        Some(key.is_none_or(|k| keys.contains(k)))
    }
    fn secret(&self, _: &str, name: &str, key: Option<&str>) -> Option<bool> {
        let keys = self.secrets.get(name)?;
        Some(key.is_none_or(|k| keys.contains(k)))
    }
}

fn pod(spec: serde_json::Value, annotations: serde_json::Value) -> Pod {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": "p", "namespace": "shop", "annotations": annotations},
        "spec": spec,
    }))
    .unwrap()
}

fn app(extra: serde_json::Value) -> serde_json::Value {
    let mut c = serde_json::json!({"name": "app", "image": "nginx:1.25"});
    if let (Some(c), Some(extra)) = (c.as_object_mut(), extra.as_object()) {
        c.extend(extra.clone());
    }
    serde_json::json!({"containers": [c]})
}

fn outcome(p: &Pod, world: &Fake, rules: &[&str]) -> Outcome {
    let rules: Vec<String> = rules.iter().map(|r| r.to_string()).collect();
    let c = &p.spec.as_ref().unwrap().containers[0];
    container_outcome(p, c, ContainerKind::App, world, &ImageRules::new(&rules))
}

#[test]
fn plain_container_runs_ready() {
    let p = pod(app(serde_json::json!({})), serde_json::json!({}));
    let want = Outcome::Runs {
        ready: true,
        probe_failure: None,
    };
    assert_eq!(outcome(&p, &Fake::default(), &[]), want);
}

#[test]
fn memory_need_above_limit_is_oom_and_a_raised_limit_fixes_it() {
    let limits = |l: &str| serde_json::json!({"resources": {"limits": {"memory": l}}});
    let need = serde_json::json!({"sim.lookout.dev/memory-need": "300Mi"});
    let p = pod(app(limits("128Mi")), need.clone());
    assert_eq!(
        outcome(&p, &Fake::default(), &[]),
        Outcome::OomKilled {
            need: 300 << 20,
            limit: 128 << 20
        }
    );
    let p = pod(app(limits("512Mi")), need);
    assert!(matches!(
        outcome(&p, &Fake::default(), &[]),
        Outcome::Runs { ready: true, .. }
    ));
}

#[test]
fn missing_image_fails_the_pull_first() {
    let p = pod(
        app(serde_json::json!({"image": "nginx:1.99"})),
        serde_json::json!({"sim.lookout.dev/memory-need": "1Gi"}),
    );
    assert!(matches!(
        outcome(&p, &Fake::default(), &["nginx:1.99"]),
        Outcome::PullFails { .. }
    ));
}

#[test]
fn env_references_give_the_kubelets_messages() {
    let env = |value_from: serde_json::Value| {
        app(serde_json::json!({"env": [{"name": "X", "valueFrom": value_from}]}))
    };
    let cm_key = env(serde_json::json!({"configMapKeyRef": {"name": "cfg", "key": "url"}}));
    let p = pod(cm_key, serde_json::json!({}));
    let err = |m: &str| Outcome::ConfigError { message: m.into() };
    assert_eq!(
        outcome(&p, &Fake::default(), &[]),
        err("configmap \"cfg\" not found")
    );
    assert_eq!(
        outcome(&p, &Fake::default().cm("cfg", &["other"]), &[]),
        err("couldn't find key url in ConfigMap shop/cfg")
    );
    assert!(matches!(
        outcome(&p, &Fake::default().cm("cfg", &["url"]), &[]),
        Outcome::Runs { .. }
    ));

    let secret = env(serde_json::json!({"secretKeyRef": {"name": "db", "key": "pw"}}));
    let p = pod(secret, serde_json::json!({}));
    assert_eq!(
        outcome(&p, &Fake::default(), &[]),
        err("secret \"db\" not found")
    );
    assert_eq!(
        outcome(&p, &Fake::default().secret("db", &[]), &[]),
        err("couldn't find key pw in Secret shop/db")
    );

    let from = app(serde_json::json!({"envFrom": [{"secretRef": {"name": "all"}}]}));
    let p = pod(from, serde_json::json!({}));
    assert_eq!(
        outcome(&p, &Fake::default(), &[]),
        err("secret \"all\" not found")
    );

    let optional = env(serde_json::json!({
        "configMapKeyRef": {"name": "cfg", "key": "url", "optional": true}
    }));
    let p = pod(optional, serde_json::json!({}));
    assert!(matches!(
        outcome(&p, &Fake::default(), &[]),
        Outcome::Runs { .. }
    ));
}

#[test]
fn missing_volume_sources_fail_the_mount() {
    let spec = serde_json::json!({
        "containers": [{"name": "app", "image": "nginx"}],
        "volumes": [
            {"name": "certs", "secret": {"secretName": "tls"}},
            {"name": "config", "configMap": {"name": "cfg", "items": [{"key": "a", "path": "a"}]}},
            {"name": "maybe", "secret": {"secretName": "x", "optional": true}},
        ]
    });
    let p = pod(spec, serde_json::json!({}));
    let failures = mount_failures(&p, &Fake::default().cm("cfg", &["b"]));
    let messages: Vec<_> = failures.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "MountVolume.SetUp failed for volume \"certs\" : secret \"tls\" not found",
            "MountVolume.SetUp failed for volume \"config\" : configmap references non-existent config key: a",
        ]
    );
    let fixed = Fake::default()
        .cm("cfg", &["a"])
        .secret("tls", &["tls.crt"]);
    assert!(mount_failures(&p, &fixed).is_empty());
}

#[test]
fn run_error_and_exit_annotations() {
    let p = pod(
        app(serde_json::json!({})),
        serde_json::json!({"sim.lookout.dev/run-error": "exec: \"app\": executable file not found in $PATH"}),
    );
    let Outcome::RunFails { message } = outcome(&p, &Fake::default(), &[]) else {
        panic!("expected RunFails");
    };
    assert!(
        message.contains("executable file not found in $PATH"),
        "{message}"
    );

    let p = pod(
        app(serde_json::json!({})),
        serde_json::json!({"sim.lookout.dev/exit-code": "3", "sim.lookout.dev/run-for": "2s"}),
    );
    assert_eq!(
        outcome(&p, &Fake::default(), &[]),
        Outcome::Exits {
            code: 3,
            after: Some(Duration::from_secs(2))
        }
    );
}

#[test]
fn job_pods_complete_by_default() {
    let mut p = pod(app(serde_json::json!({})), serde_json::json!({}));
    p.metadata.owner_references = Some(vec![
        serde_json::from_value(serde_json::json!({
            "apiVersion": "batch/v1", "kind": "Job", "name": "j", "uid": "1"
        }))
        .unwrap(),
    ]);
    assert_eq!(
        outcome(&p, &Fake::default(), &[]),
        Outcome::Exits {
            code: 0,
            after: None
        }
    );
}

#[test]
fn failing_readiness_needs_a_probe() {
    let probe = serde_json::json!({"readinessProbe": {"httpGet": {"path": "/", "port": 8080}}});
    let unready = serde_json::json!({"sim.lookout.dev/ready": "false"});
    let p = pod(app(probe), unready.clone());
    assert_eq!(
        outcome(&p, &Fake::default(), &[]),
        Outcome::Runs {
            ready: false,
            probe_failure: Some(
                "Readiness probe failed: HTTP probe failed with statuscode: 503".into()
            )
        }
    );
    let p = pod(app(serde_json::json!({})), unready);
    assert!(matches!(
        outcome(&p, &Fake::default(), &[]),
        Outcome::Runs { ready: true, .. }
    ));
}
