//! Containers that cannot run: crash loops with OOM kills, image pulls, missing config,
//! runtime start errors — and a container that restarted many times and then recovered.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret};
use lookout::detect::{Cause, SignalName};
use serde_json::json;

use super::{Scanner, Watcher, annotations, is, scan_config};
use crate::sim::{SimTest, deployment, pod, status};

const RUN_ERROR: &str = "exec: \"serve\": executable file not found in $PATH";
const BAD_IMAGE: &str = "registry.invalid/shop/web:9.9";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_failures_are_found_on_their_pods_and_clear_when_fixed() {
    let t = SimTest::start(2).await;
    let mut bot = Watcher::start(&t).await;
    let ns = t.ns.name.clone();
    let _: ConfigMap = t
        .create(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "app-config"}, "data": {"LOG_LEVEL": "info"}}))
        .await;
    let workloads = [
        deployment(
            "oom",
            1,
            json!({"resources": {"requests": {"memory": "64Mi"}, "limits": {"memory": "64Mi"}}}),
            annotations(&[("sim.lookout.dev/memory-need", "300Mi")]),
        ),
        deployment("badimage", 1, json!({"image": BAD_IMAGE}), json!({})),
        deployment(
            "nosecret",
            1,
            json!({"env": [{"name": "DB_URL", "valueFrom": {"secretKeyRef": {"name": "db-creds", "key": "url"}}}]}),
            json!({}),
        ),
        deployment(
            "nokey",
            1,
            json!({"env": [{"name": "DB_URL", "valueFrom": {"configMapKeyRef": {"name": "app-config", "key": "DB_URL"}}}]}),
            json!({}),
        ),
        deployment(
            "runerr",
            1,
            json!({}),
            annotations(&[("sim.lookout.dev/run-error", RUN_ERROR)]),
        ),
        deployment("healthy", 2, json!({}), json!({})),
    ];
    for w in workloads {
        let _: Deployment = t.create(w).await;
    }

    let scanner = Scanner::new(&t).await;
    let in_back_off = |found: &[lookout::scan::Finding]| {
        found
            .iter()
            .filter(|f| f.signal == "crash_loop")
            .all(|f| f.message.starts_with("back-off "))
    };
    let found = scanner
        .until_exactly_where(
            "every container fault, nothing on the healthy Deployment",
            &[
                "crash_loop Pod/oom-* <- Deployment/oom",
                "oom_killed Pod/oom-* <- Deployment/oom",
                "image_pull Pod/badimage-* <- Deployment/badimage",
                "container_config_error Pod/nosecret-* <- Deployment/nosecret",
                "container_config_error Pod/nokey-* <- Deployment/nokey",
                "crash_loop Pod/runerr-* <- Deployment/runerr",
                "run_container_error Pod/runerr-* <- Deployment/runerr",
            ],
            in_back_off,
        )
        .await;

    // The kubelet's back-off message names the pod as `name_namespace(uid)`.
    for owner in ["oom", "runerr"] {
        let f = found.one(&format!("crash_loop Pod/{owner}-* <- Deployment/{owner}"));
        let p: Pod = t.api::<Pod>().get(&f.name).await.expect("pod");
        let uid = p.metadata.uid.clone().unwrap_or_default();
        assert_eq!(f.reason, "CrashLoopBackOff");
        assert!(f.message.starts_with("back-off "), "{f:#?}");
        assert!(
            f.message.ends_with(&format!(
                " restarting failed container=app pod={}_{ns}({uid})",
                f.name
            )),
            "{f:#?}"
        );
        assert!(f.since.is_some(), "{f:#?}");
    }
    found.says(
        "oom_killed Pod/oom-* <- Deployment/oom",
        "OOMKilled",
        "container app was OOM-killed (exit code 137) at its memory limit of 64Mi",
    );
    // ErrImagePull shows the runtime's error; during the back-off it comes from the last
    // `Failed to pull image` event.
    let pull_error = format!(
        "rpc error: code = Unknown desc = failed to pull and unpack image \"{BAD_IMAGE}\": \
         failed to resolve reference \"{BAD_IMAGE}\": failed to do request: Head \
         \"https://registry.invalid/v2/shop/web/manifests/9.9\": dial tcp: lookup \
         registry.invalid: no such host"
    );
    let f = found.one("image_pull Pod/badimage-* <- Deployment/badimage");
    match f.reason.as_str() {
        "ImagePullBackOff" => assert_eq!(
            f.message,
            format!("Failed to pull image \"{BAD_IMAGE}\": {pull_error}")
        ),
        "ErrImagePull" => assert_eq!(f.message, pull_error),
        other => panic!("unexpected image pull reason {other}: {f:#?}"),
    }
    found.says(
        "container_config_error Pod/nosecret-* <- Deployment/nosecret",
        "CreateContainerConfigError",
        "secret \"db-creds\" not found",
    );
    found.says(
        "container_config_error Pod/nokey-* <- Deployment/nokey",
        "CreateContainerConfigError",
        &format!("couldn't find key DB_URL in ConfigMap {ns}/app-config"),
    );
    // Crash-looping, the start failure is the last termination (ContainerCannotRun); between
    // back-offs the waiting reason (RunContainerError). The runtime's message either way.
    let f = found.one("run_container_error Pod/runerr-* <- Deployment/runerr");
    assert!(
        ["ContainerCannotRun", "RunContainerError"].contains(&f.reason.as_str()),
        "{f:#?}"
    );
    assert_eq!(
        f.message,
        format!(
            "failed to start container \"app\": Error response from daemon: OCI runtime create \
             failed: container_linux.go:349: starting container process caused: {RUN_ERROR}: unknown"
        )
    );

    // What a finding does not show: the causes workloads can share.
    let pull = bot
        .signal("the image pull signal", |s| {
            is(s, SignalName::ImagePull, "Pod", "badimage-")
        })
        .await;
    assert_eq!(
        pull.cause,
        Some(Cause::ImageRegistry {
            host: "registry.invalid".into(),
            error: "unreachable".into()
        })
    );
    for (prefix, kind, name) in [
        ("nosecret-", "Secret", "db-creds"),
        ("nokey-", "ConfigMap", "app-config"),
    ] {
        let s = bot
            .signal(&format!("the config error of {prefix}"), |s| {
                is(s, SignalName::ContainerConfigError, "Pod", prefix)
            })
            .await;
        assert_eq!(
            s.cause,
            Some(Cause::MissingObject {
                kind: kind.into(),
                namespace: ns.clone(),
                name: name.into()
            }),
            "{s:#?}"
        );
    }
    bot.stop().await;

    // The fixes, through the API: more memory, an image that exists, the missing Secret and
    // key, a binary that starts. Config errors heal in place; the rest roll out new pods.
    t.patch::<Deployment>(
        "oom",
        json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "resources": {"limits": {"memory": "512Mi"}}}
        ]}}}}),
    )
    .await;
    t.patch::<Deployment>(
        "badimage",
        json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "shop/web:9.9"}]}}}}),
    )
    .await;
    let _: Secret = t
        .create(json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "db-creds"}, "stringData": {"url": "postgres://db/shop"}}))
        .await;
    t.patch::<ConfigMap>(
        "app-config",
        json!({"data": {"DB_URL": "postgres://db/shop"}}),
    )
    .await;
    t.patch::<Deployment>(
        "runerr",
        json!({"spec": {"template": {"metadata": {"annotations": {"sim.lookout.dev/run-error": null}}}}}),
    )
    .await;
    scanner
        .until_exactly("every fault cleared by its fix", &[])
        .await;
    t.stop().await;
}

/// `high_restarts` is about restarts that stopped: a container that failed several times and
/// runs now. A bare Pod's annotations are mutable, so the workload "gets fixed" in place and
/// keeps its restart count — as a process that recovered by itself would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_restarts_that_recovered_are_high_restarts_until_they_age_out() {
    let t = SimTest::start(1).await;
    let failing = [
        ("sim.lookout.dev/run-for", "100ms"),
        ("sim.lookout.dev/exit-code", "3"),
    ];
    let _: Pod = t
        .create(pod("flaky", json!({}), annotations(&failing), json!({})))
        .await;
    t.pod_where("flaky", "three restarts", |p| {
        status(p).is_some_and(|s| s.restart_count >= 3)
    })
    .await;
    t.api::<Pod>()
        .patch(
            "flaky",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"metadata": {"annotations": {
                "sim.lookout.dev/run-for": null, "sim.lookout.dev/exit-code": null
            }}})),
        )
        .await
        .expect("recover the pod");
    let recovered = t
        .pod_where("flaky", "running again", crate::sim::is_ready)
        .await;
    let restarts = status(&recovered).map(|s| s.restart_count).unwrap_or(0);

    let mut config = scan_config(&t.ns.name);
    config.detection.high_restarts_threshold = 3;
    // A container that crashed moments ago still counts as crash-looping for
    // `crash_loop_hold` (five minutes by default); a second lets the recovery show.
    config.detection.crash_loop_hold = std::time::Duration::from_secs(1);
    let scanner = Scanner::with_config(&t, config.clone()).await;
    let found = scanner
        .until_exactly(
            "high restarts on the recovered pod",
            &["high_restarts Pod/flaky <- Pod/flaky"],
        )
        .await;
    // Lookout's summary: the count and the last exit (the last termination's reason).
    let f = found.one("high_restarts Pod/flaky <- Pod/flaky");
    assert_eq!(f.reason, "Error", "{f:#?}");
    let count = f
        .message
        .strip_prefix("container app restarted ")
        .and_then(|m| m.strip_suffix(" times; last exit: Error (exit code 3)"))
        .and_then(|n| n.parse::<i32>().ok());
    assert!(count.is_some_and(|n| n >= restarts), "{f:#?}");

    // Once the last failure is older than `recent_failure_window`, the restarts no longer
    // count: seen with a window of one second instead of waiting half an hour.
    config.detection.recent_failure_window = std::time::Duration::from_secs(1);
    Scanner::with_config(&t, config)
        .await
        .until_exactly("high restarts aged out", &[])
        .await;
    t.stop().await;
}
