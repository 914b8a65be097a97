//! The annotations through which a workload (on its pod template) or a Node tells the sim how
//! it behaves. Other tools (the demo, tests) write these names, so they are part of the API.
//!
//! Container-level annotations apply to every app container; a `.<container>` suffix
//! (`sim.lookout.dev/memory-need.sidecar`) targets one container and wins over the plain key.
//! Init containers only read the suffixed form, so a Job's `exit-code` does not fail its init
//! containers.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;

/// Memory the workload actually uses (`300Mi`). A container whose memory limit is below it is
/// OOM-killed after `timing.crash_after` and crash-loops; also its usage in eviction messages.
pub const MEMORY_NEED: &str = "sim.lookout.dev/memory-need";
/// Lines the container prints when it starts (multi-line text), served through `kubectl logs`.
pub const LOGS: &str = "sim.lookout.dev/logs";
/// Exit code the container ends with (default 0) after `run-for`. Job pods end even without it.
pub const EXIT_CODE: &str = "sim.lookout.dev/exit-code";
/// How long the container runs before it exits (`2s`, `500ms`); implies exit code 0 unless
/// `exit-code` says otherwise.
pub const RUN_FOR: &str = "sim.lookout.dev/run-for";
/// The container cannot start: the runtime's error (`exec: "app": executable file not found in
/// $PATH`). Gives RunContainerError and crash-loop back-off.
pub const RUN_ERROR: &str = "sim.lookout.dev/run-error";
/// `"false"`: the readiness probe fails (only for containers that have one).
pub const READY: &str = "sim.lookout.dev/ready";
/// `jvm`, `go`, `node` or `python`: the style of generated crash logs (by default guessed from
/// the image name).
pub const RUNTIME: &str = "sim.lookout.dev/runtime";

/// On a Node: comma-separated problems to simulate — `NotReady`, `MemoryPressure`,
/// `DiskPressure`, `PIDPressure`, `NetworkUnavailable`. Lets another process break a node
/// through the API.
pub const NODE_CONDITION: &str = "sim.lookout.dev/condition";
/// Label on every Node a sim registers (`"true"`).
pub const SIMULATED_LABEL: &str = "sim.lookout.dev/simulated";

/// Which kind of container an annotation is read for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerKind {
    Init,
    App,
}

/// The value of a container-level annotation for `container`.
pub fn for_container<'a>(
    pod: &'a Pod,
    key: &str,
    container: &str,
    kind: ContainerKind,
) -> Option<&'a str> {
    let annotations: &BTreeMap<String, String> = pod.metadata.annotations.as_ref()?;
    if let Some(v) = annotations.get(&format!("{key}.{container}")) {
        return Some(v.as_str());
    }
    match kind {
        ContainerKind::App => annotations.get(key).map(String::as_str),
        ContainerKind::Init => None,
    }
}

/// A duration annotation (`run-for`), read leniently: garbage means "not set".
pub fn duration(pod: &Pod, key: &str, container: &str, kind: ContainerKind) -> Option<Duration> {
    for_container(pod, key, container, kind).and_then(|v| humantime::parse_duration(v.trim()).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(annotations: &[(&str, &str)]) -> Pod {
        let mut pod = Pod::default();
        pod.metadata.annotations = Some(
            annotations
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        pod
    }

    #[test]
    fn suffixed_key_wins_and_init_containers_need_it() {
        let p = pod(&[(EXIT_CODE, "1"), ("sim.lookout.dev/exit-code.setup", "2")]);
        assert_eq!(
            for_container(&p, EXIT_CODE, "app", ContainerKind::App),
            Some("1")
        );
        assert_eq!(
            for_container(&p, EXIT_CODE, "setup", ContainerKind::App),
            Some("2")
        );
        assert_eq!(
            for_container(&p, EXIT_CODE, "setup", ContainerKind::Init),
            Some("2")
        );
        assert_eq!(
            for_container(&p, EXIT_CODE, "other", ContainerKind::Init),
            None
        );
    }

    #[test]
    fn durations_parse_humantime() {
        let p = pod(&[(RUN_FOR, "1500ms")]);
        assert_eq!(
            duration(&p, RUN_FOR, "app", ContainerKind::App),
            Some(Duration::from_millis(1500))
        );
        let p = pod(&[(RUN_FOR, "soon")]);
        assert_eq!(duration(&p, RUN_FOR, "app", ContainerKind::App), None);
    }
}
