//! What the builder does when it cannot read: a restricted identity (RBAC) and deleted
//! objects are said in the context, not fatal; Secrets are never read; a server that does
//! not answer is the one error the build returns.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::config::{KubeConfigOptions, Kubeconfig};
use lookout::context::{ContextBuilder, ContextConfig, ContextError, SectionKind};
use lookout::detect::{ObjectRef, SignalName};
use serde_json::json;

use super::{crash_looping, incident, oom_deployment};
use crate::sim::SimTest;
use crate::support::{admin_client, env, free_port};

/// A client acting as `user` (the admin may impersonate), so RBAC decides what it reads.
async fn client_as(user: &str) -> kube::Client {
    let kc = Kubeconfig::read_from(env().kubeconfig()).expect("kubeconfig");
    let mut cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("config");
    cfg.auth_info.impersonate = Some(user.to_string());
    kube::Client::try_from(cfg).expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_cannot_be_read_is_said_and_the_rest_still_shown() {
    let t = SimTest::start(1).await;
    let user = format!("context-reader-{}", t.ns.name);
    let _: Role = t
        .create(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "pods-only"},
            "rules": [
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
                {"apiGroups": ["apps"], "resources": ["deployments", "replicasets"], "verbs": ["get", "list"]}]
        }))
        .await;
    let _: RoleBinding = t
        .create(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "pods-only"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pods-only"},
            "subjects": [{"kind": "User", "name": user, "apiGroup": "rbac.authorization.k8s.io"}]
        }))
        .await;
    let _: Deployment = t.create(oom_deployment("catalog", 1)).await;
    let pods = crash_looping(&t, "catalog", 1).await;
    let inc = incident(
        ObjectRef::namespaced("Deployment", &t.ns.name, "catalog"),
        &[(SignalName::OomKilled, &pods[0])],
    );

    let restricted = ContextBuilder::new(client_as(&user).await, ContextConfig::default());
    let ctx = restricted
        .build(&inc)
        .await
        .expect("a partial context, not an error");
    let text = ctx.render();
    println!("{text}");
    let what: Vec<&str> = ctx.unavailable.iter().map(|u| u.what.as_str()).collect();
    let pod = &ctx.pods[0].name;
    for want in [
        "events of Deployment catalog".to_string(),
        format!("events of Pod {pod}"),
        format!("logs of pod {pod} container app (previous)"),
        format!("node {}", t.nodes[0]),
    ] {
        assert!(what.contains(&want.as_str()), "{want:?} not in {what:?}");
    }
    assert!(
        ctx.unavailable
            .iter()
            .all(|u| u.why.starts_with("forbidden: "))
    );
    assert!(text.contains("## Could not read"));
    for said in [
        format!("logs of pod {pod} container app (previous): forbidden: "),
        format!("node {}: forbidden: ", t.nodes[0]),
    ] {
        assert!(text.contains(&said), "{said:?} not said");
    }
    // What it may read is all there: status, pods, owners, rollout.
    for want in [
        "terminated OOMKilled exit 137",
        "limits memory=128Mi",
        "-> Deployment catalog",
        "revision 1 (current)",
    ] {
        assert!(text.contains(want), "missing {want:?}");
    }

    // Deleted meanwhile: said, not fatal. A Secret: never read (no forbidden read either).
    let admin = ContextBuilder::new(admin_client().await, ContextConfig::default());
    let gone = incident(ObjectRef::namespaced("Deployment", &t.ns.name, "gone"), &[]);
    let ctx = admin.build(&gone).await.expect("context");
    assert_eq!(ctx.unavailable.len(), 1);
    assert_eq!(
        ctx.unavailable[0].what,
        format!("Deployment {}/gone", t.ns.name)
    );
    assert_eq!(ctx.unavailable[0].why, "not found (deleted meanwhile?)");
    let secret = incident(
        ObjectRef::namespaced("Secret", &t.ns.name, "db-password"),
        &[],
    );
    let ctx = restricted.build(&secret).await.expect("context");
    assert!(ctx.unavailable.is_empty(), "{:?}", ctx.unavailable);
    let resource = ctx
        .section(SectionKind::Resource)
        .expect("resource section");
    assert!(
        resource.text.contains("Secrets are never read"),
        "{}",
        resource.text
    );
    t.stop().await;
}

#[tokio::test]
async fn a_server_that_does_not_answer_fails_the_build_quickly() {
    let port = free_port();
    let mut cfg = kube::Config::new(format!("http://127.0.0.1:{port}").parse().unwrap());
    cfg.connect_timeout = Some(Duration::from_secs(2));
    let client = kube::Client::try_from(cfg).expect("client");
    let config = ContextConfig {
        request_timeout: Duration::from_secs(3),
        ..ContextConfig::default()
    };
    let inc = incident(ObjectRef::namespaced("Deployment", "shop", "web"), &[]);
    let started = std::time::Instant::now();
    let err = ContextBuilder::new(client, config)
        .build(&inc)
        .await
        .expect_err("nothing answers");
    assert!(matches!(err, ContextError::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains("Deployment shop/web"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}
