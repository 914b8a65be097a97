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
#[path = "tests/health.rs"]
mod tests;
