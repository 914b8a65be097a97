//! Pod signals.

use super::*;

fn shop_pod() -> Pod {
    Pod::test("web-7d4b9-x2x1")
        .in_ns("shop")
        .owned_by_replicaset("web-7d4b9")
        .on_node("n1")
}

fn cache() -> Cache {
    Cache::new().replicaset("shop", "web-7d4b9", "web")
}

fn event_about(pod: &Pod, reason: &str, message: &str) -> Event {
    Event::warning(reason, message).about("Pod", pod.namespace(), pod.name())
}

#[test]
fn a_healthy_pod_raises_nothing() {
    let d = detector().pod(&shop_pod(), &[], &cache(), t(60));
    assert_eq!(d, Detection::default());
}

#[test]
fn a_crash_looping_pod_names_its_root_owner_node_and_last_exit() {
    let pod = shop_pod().crashlooping("app");
    let d = detector().pod(&pod, &[], &cache(), t(10));

    assert_eq!(names(&d), ["crash_loop"]);
    let s = &d.signals[0];
    assert_eq!(
        s.object,
        ObjectRef::namespaced("Pod", "shop", "web-7d4b9-x2x1")
    );
    assert_eq!(s.owner, ObjectRef::namespaced("Deployment", "shop", "web"));
    assert_eq!(s.node.as_deref(), Some("n1"));
    assert_eq!(s.cause, None);
    let e = &s.evidence;
    assert_eq!(e.reason, "CrashLoopBackOff");
    assert!(
        e.message
            .starts_with("back-off 5m0s restarting failed container=app")
    );
    assert_eq!(e.container.as_deref(), Some("app"));
    assert_eq!(e.count, Some(6));
    assert_eq!(e.since, Some(t(1)));
    assert_eq!(e.detail("exit_code"), Some("1"));
    assert_eq!(e.detail("last_reason"), Some("Error"));
    assert_eq!(e.detail("image"), Some("registry.example.com/shop/app:1.0"));
}

#[test]
fn an_oom_crash_loop_is_both_a_crash_loop_and_an_oom_kill() {
    let pod = shop_pod()
        .with_memory_limit("app", "256Mi")
        .oom_killed("app")
        .crashlooping("app");
    let d = detector().pod(&pod, &[], &cache(), t(10));

    assert_eq!(names(&d), ["crash_loop", "oom_killed"]);
    let oom = &d.get(SignalName::OomKilled).unwrap().evidence;
    assert_eq!(oom.reason, "OOMKilled");
    assert_eq!(oom.detail("memory_limit"), Some("256Mi"));
    assert_eq!(oom.detail("exit_code"), Some("137"));
    assert_eq!(oom.since, Some(t(9)));
    assert!(
        oom.message.contains("memory limit of 256Mi"),
        "{}",
        oom.message
    );
    assert_eq!(
        d.recheck_at, None,
        "a crash loop holds until the pod changes"
    );
}

#[test]
fn an_oom_kill_that_recovered_counts_for_a_while_then_clears() {
    let pod = shop_pod().oom_killed_at("app", t(9));

    let soon = detector().pod(&pod, &[], &cache(), t(20));
    assert_eq!(names(&soon), ["oom_killed"]);
    assert_eq!(soon.recheck_at, Some(t(39)), "30 minutes after the kill");

    let later = detector().pod(&pod, &[], &cache(), t(39));
    assert!(later.signals.is_empty());
    assert_eq!(later.recheck_at, None);
}

#[test]
fn a_job_pod_killed_for_memory_raises_oom_killed() {
    let mut pod = Pod::test("report-x7k2").owned_by("Job", "report");
    pod.status.phase = Some("Failed".into());
    pod.status.container_statuses[0].state = ContainerState {
        terminated: Some(Terminated {
            exit_code: 137,
            reason: Some("OOMKilled".into()),
            finished_at: Some(t(3)),
            ..Terminated::default()
        }),
        ..ContainerState::default()
    };
    let d = detector().pod(&pod, &[], &Cache::new(), t(5));
    assert_eq!(names(&d), ["oom_killed"]);
    assert_eq!(
        d.signals[0].owner,
        ObjectRef::namespaced("Job", "default", "report")
    );
}

#[test]
fn a_missing_image_is_an_image_pull_failure_of_its_registry() {
    let pod = shop_pod().bad_image("app", "registry.example.com/shop/web:9.9.9");
    let d = detector().pod(&pod, &[], &cache(), t(2));

    assert_eq!(names(&d), ["image_pull"], "not_ready would only restate it");
    let s = &d.signals[0];
    assert_eq!(
        s.cause,
        Some(Cause::ImageRegistry {
            host: "registry.example.com".into(),
            error: "not_found".into()
        })
    );
    assert_eq!(s.evidence.reason, "ErrImagePull");
    assert_eq!(
        s.evidence.detail("image"),
        Some("registry.example.com/shop/web:9.9.9")
    );
}

#[test]
fn a_pull_back_off_takes_its_error_from_the_last_pull_failure_event() {
    let pod = shop_pod()
        .with_image("app", "ghcr.io/acme/private:1.0")
        .waiting(
            "app",
            "ImagePullBackOff",
            "Back-off pulling image \"ghcr.io/acme/private:1.0\"",
        );
    let failure = event_about(
        &pod,
        "Failed",
        "Failed to pull image \"ghcr.io/acme/private:1.0\": rpc error: code = Unknown desc = failed to authorize: failed to fetch anonymous token: unexpected status: 401 Unauthorized",
    )
    .for_container("app")
    .seen(4, t(0), t(3));

    let d = detector().pod(&pod, &facts(&[failure]), &cache(), t(4));
    let s = d.get(SignalName::ImagePull).unwrap();
    assert_eq!(
        s.cause,
        Some(Cause::ImageRegistry {
            host: "ghcr.io".into(),
            error: "unauthorized".into()
        })
    );
    assert!(s.evidence.message.contains("401 Unauthorized"));
    assert_eq!(s.evidence.reason, "ImagePullBackOff");

    let without_event = detector().pod(&pod, &[], &cache(), t(4));
    let cause = without_event.signals[0].cause.as_ref().unwrap();
    assert_eq!(cause.to_string(), "registry ghcr.io: other");
}

#[test]
fn images_without_a_registry_host_come_from_docker_hub() {
    let pod = shop_pod().bad_image("app", "nginx:1.99-typo");
    let d = detector().pod(&pod, &[], &cache(), t(2));
    assert_eq!(
        d.signals[0].cause.as_ref().unwrap().to_string(),
        "registry docker.io: not_found"
    );

    let invalid = shop_pod().with_image("app", "nginx:Bad:Tag").waiting(
        "app",
        "InvalidImageName",
        "Failed to apply default image tag \"nginx:Bad:Tag\": couldn't parse image reference \"nginx:Bad:Tag\": invalid reference format",
    );
    let d = detector().pod(&invalid, &[], &cache(), t(2));
    assert_eq!(
        d.signals[0].cause.as_ref().unwrap().to_string(),
        "registry docker.io: invalid_name"
    );
}

#[test]
fn a_missing_secret_is_a_config_error_with_a_shared_cause() {
    let pod = shop_pod().waiting(
        "app",
        "CreateContainerConfigError",
        "secret \"db-creds\" not found",
    );
    let d = detector().pod(&pod, &[], &cache(), t(2));

    assert_eq!(names(&d), ["container_config_error"]);
    let s = &d.signals[0];
    assert_eq!(
        s.cause,
        Some(Cause::MissingObject {
            kind: "Secret".into(),
            namespace: "shop".into(),
            name: "db-creds".into()
        })
    );
    assert_eq!(s.evidence.detail("missing"), Some("Secret shop/db-creds"));
}

#[test]
fn a_missing_configmap_key_names_the_configmap_and_the_key() {
    let pod = shop_pod().waiting(
        "app",
        "CreateContainerConfigError",
        "couldn't find key DATABASE_URL in ConfigMap shop/web-config",
    );
    let s = &detector().pod(&pod, &[], &cache(), t(2)).signals[0];
    assert_eq!(
        s.cause.as_ref().unwrap().to_string(),
        "missing ConfigMap shop/web-config"
    );
    assert_eq!(s.evidence.detail("key"), Some("DATABASE_URL"));
}

#[test]
fn a_container_the_runtime_cannot_start_is_a_run_container_error() {
    let message = "failed to create containerd task: exec: \"/app/server\": stat /app/server: no such file or directory";
    let pod = shop_pod().waiting("app", "RunContainerError", message);
    let d = detector().pod(&pod, &[], &cache(), t(2));
    assert_eq!(names(&d), ["run_container_error"]);
    assert_eq!(d.signals[0].evidence.message, message);

    // Between attempts the kubelet backs off: the crash loop and its start failure.
    let mut looping = shop_pod().crashlooping("app");
    looping.status.container_statuses[0].last_state.terminated = Some(Terminated {
        exit_code: 128,
        reason: Some("StartError".into()),
        message: Some(message.into()),
        finished_at: Some(t(9)),
        ..Terminated::default()
    });
    let d = detector().pod(&looping, &[], &cache(), t(10));
    assert_eq!(names(&d), ["crash_loop", "run_container_error"]);
    assert_eq!(
        d.get(SignalName::RunContainerError)
            .unwrap()
            .evidence
            .reason,
        "StartError"
    );
}

#[test]
fn many_recent_restarts_raise_high_restarts_while_the_container_runs() {
    let pod = shop_pod().restarted("app", 8, t(5));
    let d = detector().pod(&pod, &[], &cache(), t(10));
    assert_eq!(names(&d), ["high_restarts"]);
    let e = &d.signals[0].evidence;
    assert_eq!(e.count, Some(8));
    assert_eq!(e.reason, "Error");
    assert_eq!(
        d.recheck_at,
        Some(t(35)),
        "the last restart stops counting then"
    );
}

#[test]
fn restarts_that_are_few_or_long_past_raise_nothing() {
    let few = shop_pod().restarted("app", 4, t(5));
    assert!(
        detector()
            .pod(&few, &[], &cache(), t(10))
            .signals
            .is_empty()
    );

    let recovered_long_ago = shop_pod().restarted("app", 9, t(-120));
    let d = detector().pod(&recovered_long_ago, &[], &cache(), t(10));
    assert!(d.signals.is_empty());
    assert_eq!(d.recheck_at, None);
}

#[test]
fn a_crash_looping_container_running_between_two_crashes_is_still_crash_looping() {
    // Restarted a minute ago and running for the moment: the back-off will bring it down
    // again. Calling it high_restarts now would make the signals flap with every restart.
    let pod = shop_pod().restarted("app", 8, t(9));
    let d = detector().pod(&pod, &[], &cache(), t(10));
    assert_eq!(names(&d), ["crash_loop"]);
    assert_eq!(d.signals[0].evidence.reason, "CrashLoopBackOff");
    assert_eq!(
        d.recheck_at,
        Some(t(14)),
        "the hold ends five minutes after the last crash"
    );
    // Once the hold is over and it kept running, it is a recovered pod with many restarts.
    let later = detector().pod(&pod, &[], &cache(), t(14));
    assert_eq!(names(&later), ["high_restarts"]);
    // A single restart is not a loop.
    let once = shop_pod().restarted("app", 1, t(9));
    assert!(
        detector()
            .pod(&once, &[], &cache(), t(10))
            .signals
            .is_empty()
    );
}

#[test]
fn a_crash_loop_is_not_also_high_restarts() {
    let mut pod = shop_pod().crashlooping("app");
    pod.status.container_statuses[0].restart_count = 40;
    assert_eq!(
        names(&detector().pod(&pod, &[], &cache(), t(10))),
        ["crash_loop"]
    );
}

#[test]
fn an_unplaceable_pod_is_unschedulable_after_a_grace_period() {
    let message = "0/3 nodes are available: 3 Insufficient memory.";
    let pod = shop_pod().unschedulable(message);

    let early = detector().pod(&pod, &[], &cache(), t(1));
    assert!(early.signals.is_empty());
    assert_eq!(early.recheck_at, Some(t(2)));

    let d = detector().pod(&pod, &[], &cache(), t(2));
    assert_eq!(names(&d), ["unschedulable"]);
    let s = &d.signals[0];
    assert_eq!(s.evidence.message, message);
    assert_eq!(s.evidence.since, Some(t(0)));
    assert_eq!(s.node, None);
    assert_eq!(s.owner.name, "web");
}

#[test]
fn a_running_pod_that_never_gets_ready_is_not_ready_after_a_grace_period() {
    let pod = shop_pod().not_ready_since(t(0));

    let early = detector().pod(&pod, &[], &cache(), t(3));
    assert!(early.signals.is_empty());
    assert_eq!(early.recheck_at, Some(t(5)));

    let d = detector().pod(&pod, &[], &cache(), t(5));
    assert_eq!(names(&d), ["not_ready"]);
    let e = &d.signals[0].evidence;
    assert_eq!(e.reason, "ContainersNotReady");
    assert_eq!(e.message, "containers with unready status: [app]");
    assert_eq!(e.detail("containers"), Some("app"));
}

#[test]
fn failing_probes_turn_not_ready_into_probe_failing() {
    let pod = shop_pod().not_ready_since(t(0));
    let unhealthy = event_about(
        &pod,
        "Unhealthy",
        "Readiness probe failed: HTTP probe failed with statuscode: 503",
    )
    .for_container("app")
    .seen(40, t(0), t(5));

    let d = detector().pod(&pod, &facts(&[unhealthy]), &cache(), t(6));
    assert_eq!(names(&d), ["probe_failing"]);
    let e = &d.signals[0].evidence;
    assert_eq!(e.reason, "Unhealthy");
    assert_eq!(e.container.as_deref(), Some("app"));
    assert_eq!(e.count, Some(40));
    assert_eq!(e.detail("probe"), Some("readiness"));
    assert_eq!(
        d.recheck_at,
        Some(t(20)),
        "when the last probe event leaves the window"
    );
}

#[test]
fn probe_events_about_a_previous_pod_of_the_same_name_do_not_count() {
    let pod = shop_pod()
        .not_ready_since(t(0))
        .with_uid("uid-second-incarnation");
    let old = event_about(
        &pod,
        "Unhealthy",
        "Liveness probe failed: connection refused",
    )
    .seen(3, t(0), t(5));
    let d = detector().pod(&pod, &facts(&[old]), &cache(), t(6));
    assert_eq!(names(&d), ["not_ready"]);
}

#[test]
fn a_crash_loop_is_not_restated_as_not_ready() {
    let pod = shop_pod().crashlooping("app");
    let unhealthy = event_about(
        &pod,
        "Unhealthy",
        "Liveness probe failed: connection refused",
    )
    .seen(9, t(0), t(25));
    let d = detector().pod(&pod, &facts(&[unhealthy]), &cache(), t(30));
    assert_eq!(names(&d), ["crash_loop"]);
}

#[test]
fn an_eviction_counts_for_a_while() {
    let message =
        "The node was low on resource: memory. Threshold quantity: 100Mi, available: 42Mi.";
    let pod = shop_pod().evicted_at(t(0), message);

    let d = detector().pod(&pod, &[], &cache(), t(10));
    assert_eq!(names(&d), ["evicted"]);
    assert_eq!(d.signals[0].evidence.message, message);
    assert_eq!(d.recheck_at, Some(t(30)));

    assert!(
        detector()
            .pod(&pod, &[], &cache(), t(31))
            .signals
            .is_empty()
    );
}

#[test]
fn a_pod_stuck_creating_on_a_missing_secret_volume_is_mount_failed() {
    let pod = shop_pod().creating();
    let mount = event_about(
        &pod,
        "FailedMount",
        "MountVolume.SetUp failed for volume \"creds\" : secret \"db-creds\" not found",
    )
    .seen(3, t(0), t(2));
    let vague = event_about(
        &pod,
        "FailedMount",
        "Unable to attach or mount volumes: unmounted volumes=[creds], unattached volumes=[creds kube-api-access-x]: timed out waiting for the condition",
    )
    .seen(1, t(2), t(2));
    let facts = facts(&[mount, vague]);

    let early = detector().pod(&pod, &facts, &cache(), t(0));
    assert!(early.signals.is_empty());
    assert_eq!(early.recheck_at, Some(t(1)));

    let d = detector().pod(&pod, &facts, &cache(), t(3));
    assert_eq!(names(&d), ["mount_failed"]);
    let s = &d.signals[0];
    assert_eq!(
        s.cause.as_ref().unwrap().to_string(),
        "missing Secret shop/db-creds"
    );
    assert!(
        s.evidence.message.contains("secret \"db-creds\" not found"),
        "the informative message is kept"
    );
    assert_eq!(d.recheck_at, Some(t(17)));
}

#[test]
fn finished_deleted_and_out_of_scope_pods_raise_nothing() {
    let done = shop_pod().completed();
    assert!(
        detector()
            .pod(&done, &[], &cache(), t(60))
            .signals
            .is_empty()
    );

    let deleting = shop_pod().crashlooping("app").deleting();
    assert!(
        detector()
            .pod(&deleting, &[], &cache(), t(10))
            .signals
            .is_empty()
    );

    let system = Pod::test("coredns-5d78c-abcde")
        .in_ns("kube-system")
        .crashlooping("app");
    assert!(
        detector()
            .pod(&system, &[], &cache(), t(10))
            .signals
            .is_empty()
    );
}

#[test]
fn several_failing_containers_make_one_signal_naming_them_all() {
    let pod = shop_pod()
        .with_container("sidecar", "envoyproxy/envoy:v1.30")
        .crashlooping("app")
        .crashlooping("sidecar");
    let d = detector().pod(&pod, &[], &cache(), t(10));
    assert_eq!(names(&d), ["crash_loop"]);
    assert_eq!(
        d.signals[0].evidence.detail("containers"),
        Some("app,sidecar")
    );
}

#[test]
fn a_crash_looping_init_container_is_a_crash_loop() {
    let mut pod = shop_pod();
    pod.status.phase = Some("Pending".into());
    pod.status.init_container_statuses.push(ContainerStatus {
        name: "migrate".into(),
        image: "registry.example.com/shop/migrate:1.0".into(),
        restart_count: 5,
        state: ContainerState {
            waiting: Some(Waiting {
                reason: Some("CrashLoopBackOff".into()),
                message: Some("back-off 2m40s restarting failed container=migrate".into()),
            }),
            ..ContainerState::default()
        },
        ..ContainerStatus::default()
    });
    let d = detector().pod(&pod, &[], &cache(), t(10));
    assert_eq!(names(&d), ["crash_loop"]);
    assert_eq!(d.signals[0].evidence.container.as_deref(), Some("migrate"));
}
