//! The shipped roles (`deploy/rbac/`) under the API server's real RBAC. Three ServiceAccounts
//! of a test namespace are bound to them (read-only; remediation; both) and act with their own
//! tokens from the TokenRequest API. Read-only reads everything Lookout reads and no Secret,
//! and every write of the catalogue is 403. Remediation can make each write of the catalogue
//! (as a server-side dry-run, which RBAC authorises like the real call) and nothing else.
//! Both together are enough for Lookout's own tools and actions.
//!
//! A write is allowed when its dry-run succeeds on a real object, or answers 404 on a name that
//! does not exist (the server says so only after authorising the call); forbidden is 403.

mod calls;
mod families;
mod identities;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, WatchParams};
use lookout::actions::{ActionContext, ActionError, ActionsConfig, Registry};
use lookout::clock::SystemClock;
use serde_json::json;

use crate::sim::{SimTest, deployment};
use crate::support::admin_client;
use calls::{catalogue_writes, never};
use identities::identities;

pub(crate) type Outcome = Result<(), kube::Error>;

pub(crate) fn code(r: &Outcome) -> Option<u16> {
    match r {
        Ok(()) => None,
        Err(kube::Error::Api(s)) => Some(s.code),
        Err(e) => panic!("not an API answer: {e}"),
    }
}

fn forbidden(who: &str, what: &str, r: Outcome) {
    assert_eq!(code(&r), Some(403), "{who} must not {what}: {r:?}");
}

/// Catalogue writes made on real objects of the test (the others target a missing name).
const ON_REAL_OBJECTS: &[&str] = &[
    "patch deployments",
    "create jobs",
    "patch nodes",
    "delete pods",
    "create pods/eviction",
];

/// A write on a real object succeeds (dry-run); one on a missing name gets 404, which the
/// server only answers after authorising the call.
fn allowed(who: &str, what: &str, r: Outcome) {
    let want = if ON_REAL_OBJECTS.contains(&what) {
        None
    } else {
        Some(404)
    };
    assert_eq!(code(&r), want, "{who} may {what}: {r:?}");
}

fn context(client: &kube::Client, served: lookout::cluster::ServedApis) -> ActionContext {
    ActionContext::new(
        client.clone(),
        SystemClock::shared(),
        ActionsConfig::default(),
        served,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readonly_reads_everything_lookout_reads_and_writes_nothing() {
    let t = SimTest::start(1).await;
    let _: Deployment = t
        .create(deployment(
            "web",
            2,
            json!({}),
            json!({"sim.lookout.dev/logs": "listening on :8080"}),
        ))
        .await;
    let pod = t
        .pod_where("web", "a running pod", crate::sim::is_ready)
        .await;
    let pod = pod.metadata.name.unwrap();
    let ids = identities(&t).await;
    let ns = t.ns.name.as_str();
    let served = lookout::cluster::discover(&ids.readonly)
        .await
        .expect("discovery as read-only");

    // Every kind the tools can name lists, and the reads Lookout's watchers and tools make work.
    let ctx = context(&ids.readonly, served.clone());
    for kind in lookout::actions::kinds::KINDS {
        let ns = kind.namespaced.then_some(ns);
        ctx.list(kind.kind, ns, None)
            .await
            .unwrap_or_else(|e| panic!("read-only cannot list {}: {e}", kind.kind));
    }
    let pods = Api::<Pod>::namespaced(ids.readonly.clone(), ns);
    let _events = pods
        .watch(&WatchParams::default().timeout(1), "0")
        .await
        .expect("watch pods");
    let log = pods
        .logs(&pod, &Default::default())
        .await
        .expect("read logs");
    assert!(log.contains("listening on :8080"), "{log}");
    let (tools, _) = registry();
    for (tool, params) in [
        (
            "get",
            json!({"kind": "Deployment", "namespace": ns, "name": "web"}),
        ),
        (
            "describe",
            json!({"kind": "Pod", "namespace": ns, "name": pod}),
        ),
        ("logs", json!({"namespace": ns, "pod": pod})),
        ("events", json!({"namespace": ns})),
        ("list", json!({"kind": "Node"})),
    ] {
        tools
            .run_tool(&ctx, tool, &params)
            .await
            .unwrap_or_else(|e| panic!("{tool}: {e}"));
    }

    for (what, r) in catalogue_writes(&ids.readonly, &t, &served).await {
        forbidden("read-only", what, r);
    }
    for (what, r) in never(&ids.readonly, ns).await {
        forbidden("read-only", what, r);
    }
    // An action planned as read-only stops at the dry-run: RBAC authorises dry-runs too.
    match tools
        .plan(
            &ctx,
            "deployment.scale",
            &json!({"namespace": ns, "name": "web", "replicas": 3}),
        )
        .await
    {
        Err(ActionError::Kube {
            source: kube::Error::Api(s),
            ..
        }) => assert_eq!(s.code, 403),
        other => panic!("{other:?}"),
    }
    drop(ids);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remediation_makes_exactly_the_catalogue_writes_and_with_readonly_runs_the_actions() {
    let t = SimTest::start(1).await;
    let _: Deployment = t.create(deployment("web", 2, json!({}), json!({}))).await;
    crate::actions::wait_healthy(&t, "web", 2).await;
    let ids = identities(&t).await;
    let ns = t.ns.name.as_str();
    let served = lookout::cluster::discover(&admin_client().await)
        .await
        .unwrap();

    for (what, r) in catalogue_writes(&ids.remediation, &t, &served).await {
        allowed("remediation", what, r);
    }
    for (what, r) in never(&ids.remediation, ns).await {
        forbidden("remediation", what, r);
    }
    // Remediation alone reads nothing: it is bound together with the read-only role.
    forbidden(
        "remediation",
        "list pods",
        Api::<Pod>::namespaced(ids.remediation.clone(), ns)
            .list(&ListParams::default())
            .await
            .map(|_| ()),
    );
    forbidden(
        "remediation",
        "read logs",
        Api::<Pod>::namespaced(ids.remediation.clone(), ns)
            .logs("x", &Default::default())
            .await
            .map(|_| ()),
    );

    // Both roles together are what Lookout needs: plan, execute and verify real actions.
    let ctx = ActionContext {
        config: ActionsConfig {
            verify_settle: std::time::Duration::from_secs(1),
            ..ActionsConfig::default()
        },
        ..context(
            &ids.both,
            lookout::cluster::discover(&ids.both).await.unwrap(),
        )
    };
    let (actions, _) = registry();
    let plan = actions
        .plan(
            &ctx,
            "deployment.scale",
            &json!({"namespace": ns, "name": "web", "replicas": 3}),
        )
        .await
        .unwrap();
    let execution = actions.execute(&ctx, &plan).await.unwrap();
    assert!(
        actions
            .verify(&ctx, &plan, &execution)
            .await
            .unwrap()
            .healthy()
    );
    actions.rollback(&ctx, &plan).await.unwrap();
    // The third pod is going: until it is gone, it may be the one the guards count on.
    crate::actions::wait_healthy(&t, "web", 2).await;
    let plan = actions
        .plan(
            &ctx,
            "deployment.delete_pod",
            &json!({"namespace": ns, "name": "web"}),
        )
        .await
        .unwrap();
    actions.execute(&ctx, &plan).await.unwrap();
    actions
        .plan(
            &ctx,
            "deployment.adjust_resources",
            &json!({"namespace": ns, "name": "web", "container": "app", "memory_request": "128Mi"}),
        )
        .await
        .unwrap();
    for (what, r) in never(&ids.both, ns).await {
        forbidden("read-only + remediation", what, r);
    }
    drop(ids);
    t.stop().await;
}

fn registry() -> (Registry, prometheus_client::registry::Registry) {
    crate::actions::registry()
}
