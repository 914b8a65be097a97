//! What is left out (the opt-out annotation on a workload, its pod template or its namespace)
//! and the `lookout scan` command itself: its JSON schema and its `--fail-on` exit code.

use std::collections::BTreeSet;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, Patch, PatchParams};
use lookout::correlate::Severity;
use serde_json::json;

use super::{Scanner, annotations, set};
use crate::sim::{SimTest, deployment, waiting_reason};
use crate::support::env;

const IGNORE: &str = "lookout.dev/ignore";

fn failing(name: &str) -> serde_json::Value {
    deployment(
        name,
        1,
        json!({}),
        annotations(&[(
            "sim.lookout.dev/run-error",
            "exec: \"serve\": executable file not found in $PATH",
        )]),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_opt_out_annotation_silences_a_workload_and_a_namespace() {
    let t = SimTest::start(1).await;
    let _: Deployment = t.create(failing("loud")).await;
    let _: Deployment = t
        .create(set(
            failing("quiet"),
            "/metadata/annotations",
            json!({IGNORE: "true"}),
        ))
        .await;
    let mut template_opted_out = failing("quiet-template");
    template_opted_out["spec"]["template"]["metadata"]["annotations"][IGNORE] = json!("true");
    let _: Deployment = t.create(template_opted_out).await;
    // The silenced workloads are as broken as the loud one.
    for name in ["quiet", "quiet-template"] {
        t.pod_where(name, "a crash-looping pod", |p| {
            waiting_reason(p) == Some("CrashLoopBackOff")
        })
        .await;
    }

    let scanner = Scanner::new(&t).await;
    scanner
        .until_exactly(
            "only the workload that did not opt out",
            &[
                "crash_loop Pod/loud-* <- Deployment/loud",
                "run_container_error Pod/loud-* <- Deployment/loud",
            ],
        )
        .await;

    Api::<Namespace>::all(t.client.clone())
        .patch(
            &t.ns.name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {IGNORE: "true"}}})),
        )
        .await
        .expect("annotate namespace");
    scanner
        .until_exactly("nothing in an opted-out namespace", &[])
        .await;
    t.stop().await;
}

/// Runs the real binary: `lookout scan --namespace <ns> --output json --fail-on <severity>`.
async fn lookout_scan(config: &std::path::Path, ns: &str, fail_on: Severity) -> (i32, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_lookout"))
        .args(["scan", "--namespace", ns, "--output", "json", "--fail-on"])
        .arg(fail_on.as_str())
        .env_clear()
        .env("KUBECONFIG", env().kubeconfig())
        .env("LOOKOUT_STORE", "memory")
        .env("LOOKOUT_CONFIG", config)
        .output()
        .await
        .expect("run lookout");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out
        .status
        .code()
        .unwrap_or_else(|| panic!("lookout killed: {stderr}"));
    (code, String::from_utf8(out.stdout).expect("utf-8 output"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scan_command_prints_the_stable_schema_and_fails_on_the_threshold() {
    let t = SimTest::start(1).await;
    let ns = t.ns.name.clone();
    let _: Deployment = t
        .create(deployment(
            "badimage",
            1,
            json!({"image": "registry.invalid/shop/web:9.9"}),
            json!({}),
        ))
        .await;
    let _: Deployment = t
        .create(deployment("healthy", 1, json!({}), json!({})))
        .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("lookout.yaml");
    std::fs::write(
        &config,
        format!(
            "cluster: signals\nscope:\n  include_namespaces: [{ns}]\n\
             detection:\n  not_ready_grace: 1s\n  unschedulable_grace: 1s\n  \
             replicas_unavailable_grace: 1s\n"
        ),
    )
    .expect("write config");

    // The in-process scan says when the cluster has settled into the fault.
    let scanner = Scanner::new(&t).await;
    scanner
        .until_exactly(
            "the image pull fault",
            &["image_pull Pod/badimage-* <- Deployment/badimage"],
        )
        .await;

    let (code, stdout) = lookout_scan(&config, &ns, Severity::Low).await;
    assert_eq!(code, 3, "a finding at or above low fails: {stdout}");
    let findings: Vec<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_str(&stdout).expect("a JSON array of findings");
    assert_eq!(findings.len(), 1, "{stdout}");
    let f = &findings[0];
    let fields: BTreeSet<&str> = f.keys().map(String::as_str).collect();
    let schema: BTreeSet<&str> = [
        "signal",
        "severity",
        "namespace",
        "kind",
        "name",
        "owner_kind",
        "owner_name",
        "reason",
        "message",
        "since",
    ]
    .into();
    assert_eq!(fields, schema, "{stdout}");
    assert_eq!(f["signal"], "image_pull");
    assert_eq!(f["namespace"], ns.as_str());
    assert_eq!(f["kind"], "Pod");
    assert!(
        f["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("badimage-"))
    );
    assert_eq!(
        (&f["owner_kind"], &f["owner_name"]),
        (&json!("Deployment"), &json!("badimage"))
    );
    assert!(
        f["message"]
            .as_str()
            .is_some_and(|m| m.contains("no such host")),
        "{stdout}"
    );
    let since = f["since"].as_str().expect("since is a timestamp");
    assert!(
        chrono::DateTime::parse_from_rfc3339(since).is_ok(),
        "{since}"
    );
    let severity = f["severity"]
        .as_str()
        .and_then(Severity::parse)
        .expect("a severity name");

    // Exactly at the finding's severity it fails; one step above, it passes.
    let (code, _) = lookout_scan(&config, &ns, severity).await;
    assert_eq!(code, 3, "--fail-on {severity}");
    if let Some(above) = Severity::ALL.into_iter().find(|s| *s > severity) {
        let (code, stdout) = lookout_scan(&config, &ns, above).await;
        assert_eq!(code, 0, "--fail-on {above}: {stdout}");
    }

    // Fixed: nothing to report, and success even at the lowest threshold.
    t.patch::<Deployment>(
        "badimage",
        json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "shop/web:9.9"}]}}}}),
    )
    .await;
    scanner.until_exactly("the image fixed", &[]).await;
    let (code, stdout) = lookout_scan(&config, &ns, Severity::Low).await;
    assert_eq!((code, stdout.trim()), (0, "[]"));
    t.stop().await;
}
