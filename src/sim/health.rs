//! PURE: what the objects say a container will do when the kubelet tries to run it. Nothing here
//! is scripted per scenario: the outcome follows from the pod spec (images, env references,
//! volumes, memory limits, probes), the ConfigMaps and Secrets that exist, the sim's
//! missing-image rules and the workload's own `sim.lookout.dev/*` annotations. Fix the objects
//! and the next container comes up healthy.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Pod, Probe};

use super::annotations::{self as ann, ContainerKind};
use super::images::ImageRules;
use super::quantity;

/// The ConfigMaps and Secrets a kubelet can see. `None` when the object does not exist;
/// otherwise whether `key` is in it (`true` when no key is asked for).
pub trait World {
    fn config_map(&self, namespace: &str, name: &str, key: Option<&str>) -> Option<bool>;
    fn secret(&self, namespace: &str, name: &str, key: Option<&str>) -> Option<bool>;
}

/// What happens when the kubelet tries to start a container, in the kubelet's own order: pull
/// the image, build the container config, start the process, then let it run.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The image cannot be pulled; `message` is the runtime's error.
    PullFails { message: String },
    /// The container config references a missing ConfigMap, Secret or key.
    ConfigError { message: String },
    /// The runtime cannot start the process.
    RunFails { message: String },
    /// Starts, then the OOM killer ends it: the workload needs more than its limit.
    OomKilled { need: i64, limit: i64 },
    /// Starts, then exits with `code` after `after` (the sim's default when `None`).
    Exits { code: i32, after: Option<Duration> },
    /// Starts and keeps running; `probe_failure` is the Unhealthy message when not ready.
    Runs {
        ready: bool,
        probe_failure: Option<String>,
    },
}

/// A volume the kubelet cannot set up; the pod stays in ContainerCreating.
#[derive(Debug, Clone, PartialEq)]
pub struct MountFailure {
    pub volume: String,
    /// The FailedMount event message.
    pub message: String,
}

/// Every volume of `pod` that cannot be mounted, in spec order.
pub fn mount_failures(pod: &Pod, world: &dyn World) -> Vec<MountFailure> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let volumes = pod.spec.as_ref().and_then(|s| s.volumes.as_ref());
    let mut out = Vec::new();
    for v in volumes.into_iter().flatten() {
        let fail = |reason: String| MountFailure {
            volume: v.name.clone(),
            message: format!(
                "MountVolume.SetUp failed for volume \"{}\" : {reason}",
                v.name
            ),
        };
        let mut sources: Vec<(Source, &str, bool, Vec<&str>)> = Vec::new();
        if let Some(cm) = &v.config_map {
            let keys = cm.items.iter().flatten().map(|i| i.key.as_str()).collect();
            sources.push((
                Source::ConfigMap,
                &cm.name,
                cm.optional.unwrap_or(false),
                keys,
            ));
        }
        if let Some(s) = &v.secret {
            let keys = s.items.iter().flatten().map(|i| i.key.as_str()).collect();
            let name = s.secret_name.as_deref().unwrap_or("");
            sources.push((Source::Secret, name, s.optional.unwrap_or(false), keys));
        }
        for p in v.projected.iter().flat_map(|p| p.sources.iter().flatten()) {
            if let Some(cm) = &p.config_map {
                let keys = cm.items.iter().flatten().map(|i| i.key.as_str()).collect();
                sources.push((
                    Source::ConfigMap,
                    &cm.name,
                    cm.optional.unwrap_or(false),
                    keys,
                ));
            }
            if let Some(s) = &p.secret {
                let keys = s.items.iter().flatten().map(|i| i.key.as_str()).collect();
                sources.push((Source::Secret, &s.name, s.optional.unwrap_or(false), keys));
            }
        }
        for (source, name, optional, keys) in sources {
            if optional {
                continue;
            }
            if source.lookup(world, ns, name, None).is_none() {
                out.push(fail(format!("{} \"{name}\" not found", source.word())));
                break;
            }
            if let Some(key) = keys
                .iter()
                .find(|k| source.lookup(world, ns, name, Some(k)) == Some(false))
            {
                out.push(fail(format!(
                    "{} references non-existent {} key: {key}",
                    source.word(),
                    source.key_word()
                )));
                break;
            }
        }
    }
    out
}

#[derive(Clone, Copy)]
enum Source {
    ConfigMap,
    Secret,
}

impl Source {
    fn lookup(self, world: &dyn World, ns: &str, name: &str, key: Option<&str>) -> Option<bool> {
        match self {
            Source::ConfigMap => world.config_map(ns, name, key),
            Source::Secret => world.secret(ns, name, key),
        }
    }
    fn word(self) -> &'static str {
        match self {
            Source::ConfigMap => "configmap",
            Source::Secret => "secret",
        }
    }
    fn key_word(self) -> &'static str {
        match self {
            Source::ConfigMap => "config",
            Source::Secret => "secret",
        }
    }
    fn kind(self) -> &'static str {
        match self {
            Source::ConfigMap => "ConfigMap",
            Source::Secret => "Secret",
        }
    }
}

/// What happens when `container` of `pod` is started.
pub fn container_outcome(
    pod: &Pod,
    container: &Container,
    kind: ContainerKind,
    world: &dyn World,
    images: &ImageRules,
) -> Outcome {
    let name = container.name.as_str();
    if let Some(message) = container
        .image
        .as_deref()
        .and_then(|i| images.pull_error(i))
    {
        return Outcome::PullFails { message };
    }
    if let Some(message) = env_error(pod, container, world) {
        return Outcome::ConfigError { message };
    }
    if let Some(err) = ann::for_container(pod, ann::RUN_ERROR, name, kind) {
        return Outcome::RunFails {
            message: format!(
                "failed to start container \"{name}\": Error response from daemon: OCI runtime \
                 create failed: container_linux.go:349: starting container process caused: \
                 {}: unknown",
                err.trim()
            ),
        };
    }
    if let (Some(need), Some(limit)) = (memory_need(pod, name, kind), memory_limit(container))
        && need > limit
    {
        return Outcome::OomKilled { need, limit };
    }
    let code = ann::for_container(pod, ann::EXIT_CODE, name, kind);
    let run_for = ann::duration(pod, ann::RUN_FOR, name, kind);
    if code.is_some() || run_for.is_some() || is_batch(pod) || kind == ContainerKind::Init {
        let code = code.and_then(|c| c.trim().parse().ok()).unwrap_or(0);
        return Outcome::Exits {
            code,
            after: run_for,
        };
    }
    let wants_unready = ann::for_container(pod, ann::READY, name, kind)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("false"));
    match container.readiness_probe.as_ref() {
        Some(probe) if wants_unready => Outcome::Runs {
            ready: false,
            probe_failure: Some(probe_failure(pod, probe)),
        },
        _ => Outcome::Runs {
            ready: true,
            probe_failure: None,
        },
    }
}

/// The container's memory need from `sim.lookout.dev/memory-need`, in bytes.
pub fn memory_need(pod: &Pod, container: &str, kind: ContainerKind) -> Option<i64> {
    ann::for_container(pod, ann::MEMORY_NEED, container, kind).and_then(quantity::parse_bytes)
}

/// The container's memory limit in bytes.
pub fn memory_limit(container: &Container) -> Option<i64> {
    resource(container, "memory", true).and_then(|q| quantity::parse_bytes(&q))
}

/// A container's request (or limit) of `resource` as written in the spec.
pub fn resource(container: &Container, resource: &str, limit: bool) -> Option<String> {
    let r = container.resources.as_ref()?;
    let map = if limit { &r.limits } else { &r.requests };
    map.as_ref()?.get(resource).map(|q| q.0.clone())
}

/// Pods of Jobs run to completion: their containers exit even without an `exit-code`.
fn is_batch(pod: &Pod) -> bool {
    pod.metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.kind == "Job")
}

/// The first env reference the kubelet cannot resolve, as its error message. envFrom is
/// resolved before env, like the kubelet does.
fn env_error(pod: &Pod, container: &Container, world: &dyn World) -> Option<String> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    for from in container.env_from.iter().flatten() {
        if let Some(r) = &from.config_map_ref
            && !r.optional.unwrap_or(false)
            && world.config_map(ns, &r.name, None).is_none()
        {
            return Some(format!("configmap \"{}\" not found", r.name));
        }
        if let Some(r) = &from.secret_ref
            && !r.optional.unwrap_or(false)
            && world.secret(ns, &r.name, None).is_none()
        {
            return Some(format!("secret \"{}\" not found", r.name));
        }
    }
    for var in container.env.iter().flatten() {
        let Some(from) = &var.value_from else {
            continue;
        };
        let refs = [
            from.config_map_key_ref
                .as_ref()
                .map(|r| (Source::ConfigMap, &r.name, &r.key, r.optional)),
            from.secret_key_ref
                .as_ref()
                .map(|r| (Source::Secret, &r.name, &r.key, r.optional)),
        ];
        for (source, name, key, optional) in refs.into_iter().flatten() {
            if optional.unwrap_or(false) {
                continue;
            }
            match source.lookup(world, ns, name, Some(key)) {
                None => return Some(format!("{} \"{name}\" not found", source.word())),
                Some(false) => {
                    return Some(format!(
                        "couldn't find key {key} in {} {ns}/{name}",
                        source.kind()
                    ));
                }
                Some(true) => {}
            }
        }
    }
    None
}

/// The Unhealthy event message for a failing readiness probe of this kind.
fn probe_failure(pod: &Pod, probe: &Probe) -> String {
    let detail = if probe.http_get.is_some() {
        "HTTP probe failed with statuscode: 503".to_string()
    } else if let Some(tcp) = &probe.tcp_socket {
        let ip = pod
            .status
            .as_ref()
            .and_then(|s| s.pod_ip.as_deref())
            .unwrap_or("10.244.0.1");
        let port = match &tcp.port {
            k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(p) => p.to_string(),
            k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(s) => s.clone(),
        };
        format!("dial tcp {ip}:{port}: connect: connection refused")
    } else {
        "command terminated with exit code 1".to_string()
    };
    format!("Readiness probe failed: {detail}")
}

#[cfg(test)]
mod tests {
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
}
