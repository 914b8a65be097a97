//! Unit tests of `sim::pod`.

use std::time::Duration;

use super::*;

struct NoObjects;
impl World for NoObjects {
    fn config_map(&self, _: &str, _: &str, _: Option<&str>) -> Option<bool> {
        None
    }
    fn secret(&self, _: &str, _: &str, _: Option<&str>) -> Option<bool> {
        None
    }
}

fn pod(json: serde_json::Value) -> Pod {
    serde_json::from_value(json).unwrap()
}

fn run(pod: &Pod, steps: &[u64]) -> (PodRuntime, PodStatus) {
    let t = SimTiming::fast();
    let start = Now::current();
    let mut rt = PodRuntime::new(pod, start);
    let mut status = PodStatus::default();
    for ms in steps {
        let now = Now {
            instant: start.instant + Duration::from_millis(*ms),
            wall: start.wall,
        };
        rt.step(pod, &NoObjects, &ImageRules::default(), &t, now);
        status = rt.render(pod, now);
    }
    (rt, status)
}

#[test]
fn healthy_pod_runs_ready_with_all_conditions() {
    let p = pod(serde_json::json!({
        "metadata": {"name": "web", "namespace": "shop", "uid": "u1"},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]}
    }));
    let (_, status) = run(&p, &[0, 100]);
    assert_eq!(status.phase.as_deref(), Some("Running"));
    let conditions = status.conditions.unwrap();
    assert!(
        conditions.iter().all(|c| c.status == "True"),
        "{conditions:?}"
    );
    let cs = &status.container_statuses.unwrap()[0];
    assert!(cs.ready);
    assert!(
        cs.container_id
            .as_deref()
            .unwrap()
            .starts_with("containerd://")
    );
    assert!(cs.image_id.starts_with("docker.io/library/nginx@sha256:"));
    assert!(cs.state.as_ref().unwrap().running.is_some());
}

#[test]
fn missing_secret_volume_keeps_container_creating() {
    let p = pod(serde_json::json!({
        "metadata": {"name": "web", "namespace": "shop", "uid": "u2"},
        "spec": {
            "containers": [{"name": "app", "image": "nginx:1.25"}],
            "volumes": [{"name": "certs", "secret": {"secretName": "tls"}}]
        }
    }));
    let (_, status) = run(&p, &[0, 500]);
    assert_eq!(status.phase.as_deref(), Some("Pending"));
    let cs = &status.container_statuses.unwrap()[0];
    let waiting = cs.state.as_ref().unwrap().waiting.as_ref().unwrap();
    assert_eq!(waiting.reason.as_deref(), Some("ContainerCreating"));
    assert!(status.pod_ip.is_none());
}

#[test]
fn failing_job_pod_with_restart_never_fails() {
    let p = pod(serde_json::json!({
        "metadata": {"name": "job", "namespace": "shop", "uid": "u3",
            "annotations": {"sim.lookout.dev/exit-code": "1"}},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "work", "image": "busybox"}]}
    }));
    let (_, status) = run(&p, &[0, 100, 400]);
    assert_eq!(status.phase.as_deref(), Some("Failed"));
    let cs = &status.container_statuses.unwrap()[0];
    let t = cs.state.as_ref().unwrap().terminated.as_ref().unwrap();
    assert_eq!((t.reason.as_deref(), t.exit_code), (Some("Error"), 1));
}

#[test]
fn init_containers_run_first() {
    let p = pod(serde_json::json!({
        "metadata": {"name": "web", "namespace": "shop", "uid": "u4"},
        "spec": {
            "initContainers": [{"name": "setup", "image": "busybox"}],
            "containers": [{"name": "app", "image": "nginx:1.25"}]
        }
    }));
    let (_, status) = run(&p, &[0, 60]);
    assert_eq!(status.phase.as_deref(), Some("Pending"));
    let (rt, status) = run(&p, &[0, 60, 300, 400]);
    assert!(rt.init[0].succeeded());
    assert_eq!(status.phase.as_deref(), Some("Running"));
}
