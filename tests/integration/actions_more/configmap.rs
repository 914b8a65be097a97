//! `configmap.patch_key` against the real API server: the diff shows the key's old and new
//! value (the caller redacts before display; the summary carries sizes only), rollback restores
//! the old value or removes an added key, guards refuse immutable maps, binary keys and bad
//! keys, Secrets are never reached, and only a change to the same key voids a plan.

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use lookout::actions::{ActionError, Outcome, guards};
use serde_json::json;

use super::{context, refusal, registry, stale, stored};
use crate::sim::SimTest;

async fn data(t: &SimTest, name: &str) -> std::collections::BTreeMap<String, String> {
    t.api::<ConfigMap>()
        .get(name)
        .await
        .unwrap()
        .data
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_is_set_verified_and_restored() {
    let t = SimTest::start(1).await;
    let ctx = context(&t).await;
    let (actions, _) = registry();
    let ns = t.ns.name.clone();
    let _: ConfigMap = t
        .create(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app"},
                       "data": {"LOG_LEVEL": "info", "DB_URL": "postgres://db:5432/shop"}}),
        )
        .await;

    let params = json!({"namespace": ns, "name": "app", "key": "LOG_LEVEL", "value": "debug"});
    let plan = actions
        .plan(&ctx, "configmap.patch_key", &params)
        .await
        .unwrap();
    assert_eq!(
        plan.summary,
        format!("set key LOG_LEVEL of ConfigMap {ns}/app (5 bytes, was 4 bytes)")
    );
    assert_eq!(
        plan.diff,
        format!(
            "--- ConfigMap {ns}/app (live)\n+++ ConfigMap {ns}/app (after change, server dry-run)\n@@ -1,2 +1,2 @@\n data:\n-  LOG_LEVEL: info\n+  LOG_LEVEL: debug\n"
        )
    );
    assert!(!plan.diff.contains("DB_URL"), "only the key is shown");
    assert!(
        !plan.summary.contains("debug"),
        "values stay out of summaries and logs"
    );
    let plan = stored(plan);
    let execution = actions.execute(&ctx, &plan).await.unwrap();
    assert_eq!(data(&t, "app").await["LOG_LEVEL"], "debug");
    assert!(actions.landed(&ctx, &plan).await.unwrap());
    let v = actions.verify(&ctx, &plan, &execution).await.unwrap();
    assert_eq!(
        (v.outcome, v.detail.as_str()),
        (Outcome::Healthy, "key LOG_LEVEL holds the new value")
    );
    actions.rollback(&ctx, &plan).await.unwrap();
    assert_eq!(data(&t, "app").await["LOG_LEVEL"], "info");

    // A new key; rollback removes it.
    let params = json!({"namespace": ns, "name": "app", "key": "FEATURE_X", "value": "on"});
    let plan = actions
        .plan(&ctx, "configmap.patch_key", &params)
        .await
        .unwrap();
    assert_eq!(
        plan.summary,
        format!("add key FEATURE_X to ConfigMap {ns}/app (2 bytes)")
    );
    actions.execute(&ctx, &plan).await.unwrap();
    assert_eq!(data(&t, "app").await["FEATURE_X"], "on");
    actions.rollback(&ctx, &plan).await.unwrap();
    assert!(!data(&t, "app").await.contains_key("FEATURE_X"));

    // A change to another key does not void the plan; a change to this key does.
    let params = json!({"namespace": ns, "name": "app", "key": "LOG_LEVEL", "value": "warn"});
    let plan = actions
        .plan(&ctx, "configmap.patch_key", &params)
        .await
        .unwrap();
    t.patch::<ConfigMap>(
        "app",
        json!({"data": {"DB_URL": "postgres://db2:5432/shop"}}),
    )
    .await;
    actions.execute(&ctx, &plan).await.unwrap();
    assert_eq!(data(&t, "app").await["LOG_LEVEL"], "warn");
    let plan = actions
        .plan(
            &ctx,
            "configmap.patch_key",
            &json!({"namespace": ns, "name": "app", "key": "LOG_LEVEL", "value": "error"}),
        )
        .await
        .unwrap();
    t.patch::<ConfigMap>("app", json!({"data": {"LOG_LEVEL": "trace"}}))
        .await;
    let reason = stale(actions.execute(&ctx, &plan).await);
    assert!(
        reason.contains("changed at /data/LOG_LEVEL since the plan"),
        "{reason}"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configmap_guards_refuse_and_secrets_are_never_reached() {
    let t = SimTest::start(1).await;
    let ctx = context(&t).await;
    let (actions, _) = registry();
    let ns = t.ns.name.clone();
    let _: ConfigMap = t
        .create(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "frozen"},
                       "immutable": true, "data": {"a": "1"}}),
        )
        .await;
    let _: ConfigMap = t
        .create(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bin"},
                       "data": {"a": "1"}, "binaryData": {"blob": "AAEC"}}),
        )
        .await;
    let _: Secret = t
        .create(
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
                       "stringData": {"password": "hunter2"}}),
        )
        .await;
    let plan = |p: serde_json::Value| {
        let (actions, ctx) = (&actions, &ctx);
        async move { actions.plan(ctx, "configmap.patch_key", &p).await }
    };
    let (g, r) =
        refusal(plan(json!({"namespace": ns, "name": "frozen", "key": "a", "value": "2"})).await);
    assert_eq!(
        (g, r),
        (
            guards::TARGET,
            format!("ConfigMap {ns}/frozen is immutable: it can only be replaced, not changed")
        )
    );
    let (g, _) =
        refusal(plan(json!({"namespace": ns, "name": "bin", "key": "blob", "value": "x"})).await);
    assert_eq!(g, guards::TARGET);
    let (g, _) =
        refusal(plan(json!({"namespace": ns, "name": "bin", "key": "a", "value": "1"})).await);
    assert_eq!(g, guards::NO_CHANGE);
    let (g, _) = refusal(
        plan(json!({"namespace": "kube-system", "name": "coredns", "key": "a", "value": "1"}))
            .await,
    );
    assert_eq!(g, guards::PROTECTED_NAMESPACE);
    assert!(matches!(
        plan(json!({"namespace": ns, "name": "bin", "key": "a/b", "value": "1"})).await,
        Err(ActionError::InvalidParams { .. })
    ));
    assert!(matches!(
        plan(json!({"namespace": ns, "name": "bin", "key": "a", "value": "1", "kind": "Secret"})).await,
        Err(ActionError::InvalidParams { reason, .. }) if reason.contains("unknown field `kind`")
    ));
    // A Secret of that name is not a ConfigMap: not found, untouched.
    match plan(json!({"namespace": ns, "name": "db", "key": "password", "value": "x"})).await {
        Err(ActionError::NotFound { target }) => {
            assert_eq!(target.to_string(), format!("ConfigMap {ns}/db"))
        }
        other => panic!("{other:?}"),
    }
    let s = t.api::<Secret>().get("db").await.unwrap();
    assert_eq!(s.data.unwrap()["password"].0, b"hunter2");
    t.stop().await;
}
