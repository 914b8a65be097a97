//! `lookout demo --yes` end to end on the test cluster, every scenario: the binary deploys the
//! sample app, breaks it, gets its first approval prompt, approves it, sees the fix verified
//! and the postmortem posted, and removes what it created.

use std::process::Stdio;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Node};
use kube::api::{Api, ListParams};

use crate::support::{admin_client, env, eventually};

/// Runs the demo against the test cluster and returns its output (colour codes removed).
async fn demo(scenario: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("env");
    std::fs::write(
        &env_file,
        format!("LOOKOUT_TEST_KUBECONFIG={}\n", env().kubeconfig().display()),
    )
    .unwrap();
    let started = Instant::now();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_lookout"))
        .args(["demo", "--yes", "--timeout", "5m", "--scenario", scenario])
        .arg("--env")
        .arg(&env_file)
        // Only what the demo needs: no LOOKOUT_* of the machine (an LLM, a Slack token).
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::var("HOME").unwrap_or_default())
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run lookout demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let text = regex::Regex::new("\x1b\\[[0-9;]*m")
        .unwrap()
        .replace_all(&stdout, "")
        .into_owned();
    assert!(
        out.status.success(),
        "demo {scenario} failed ({}) after {:?}\n{text}\n{}",
        out.status,
        started.elapsed(),
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// The demo's namespace and nodes are gone (or going) once it exits.
async fn cleaned_up(text: &str) {
    let ns = regex::Regex::new(r"deployed the sample app (demo-[0-9a-f]{6})/")
        .unwrap()
        .captures(text)
        .map(|c| c[1].to_string())
        .expect("the demo names its namespace");
    let client = admin_client().await;
    let namespace = Api::<Namespace>::all(client.clone())
        .get_opt(&ns)
        .await
        .unwrap();
    assert!(
        namespace.is_none_or(|n| n.metadata.deletion_timestamp.is_some()),
        "namespace {ns} left behind"
    );
    let nodes = Api::<Node>::all(client);
    eventually(
        Duration::from_secs(30),
        "the demo's nodes deleted",
        || async {
            let left = nodes
                .list(&ListParams::default())
                .await
                .ok()?
                .items
                .into_iter()
                .filter(|n| {
                    n.metadata
                        .name
                        .as_deref()
                        .is_some_and(|m| m.starts_with(&ns))
                })
                .count();
            (left == 0).then_some(())
        },
    )
    .await;
}

fn says(text: &str, what: &str) {
    assert!(text.contains(what), "the demo never said {what:?}:\n{text}");
}

#[tokio::test]
async fn the_oom_demo_raises_the_memory_limit_and_posts_the_postmortem() {
    let text = demo("oom").await;
    says(&text, "first approval prompt A-1 after");
    says(
        &text,
        "raise memory limit of container app from 64Mi to 128Mi",
    );
    says(&text, "[A-1 APPROVED]");
    says(&text, "executed and verified");
    says(&text, "Postmortem — demo/INC-1");
    says(&text, "postmortem posted after");
    cleaned_up(&text).await;
}

#[tokio::test]
async fn the_bad_image_demo_rolls_back() {
    let text = demo("bad-image").await;
    says(&text, "first approval prompt A-1 after");
    says(&text, "roll back Deployment");
    says(&text, "to revision 1 (app=shop/checkout:1.4.2)");
    says(&text, "executed and verified");
    says(&text, "postmortem posted after");
    cleaned_up(&text).await;
}

#[tokio::test]
async fn the_node_down_demo_cordons_drains_and_resolves_once_the_pods_run_elsewhere() {
    let text = demo("node-down").await;
    says(&text, "first approval prompt A-1 after");
    says(&text, "[A-1 APPROVED] cordon Node");
    says(&text, "[A-2 APPROVED] drain Node");
    says(&text, "replacements ready elsewhere");
    says(&text, "Outcome:    resolved");
    says(&text, "postmortem posted after");
    cleaned_up(&text).await;
}
