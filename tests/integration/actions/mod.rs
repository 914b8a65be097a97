//! The action catalogue against the real API server with the simulated kubelet: every action
//! plans (dry-run diff), executes, verifies through watches and rolls back; every guard refuses
//! with its reason; a plan overtaken by someone else's change is stale; the read-only tools
//! give bounded, useful text. Each test runs in its own namespace on its own nodes.

mod deployment;
mod guards;
mod pod;
mod read;
mod stale;

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use lookout::actions::{ActionContext, ActionError, ActionsConfig, Registry};
use lookout::clock::SystemClock;
use serde_json::Value;

use crate::sim::{SimTest, is_ready, status};

/// Actions against the test's namespace: fast verification (the sim's crashes take 150 ms, so
/// a second of health is convincing), the default guards.
pub async fn context(t: &SimTest) -> ActionContext {
    context_with(t, |_| {}).await
}

pub async fn context_with(t: &SimTest, adjust: impl FnOnce(&mut ActionsConfig)) -> ActionContext {
    let mut config = ActionsConfig {
        verify_timeout: Duration::from_secs(45),
        verify_settle: Duration::from_secs(1),
        ..ActionsConfig::default()
    };
    adjust(&mut config);
    let served = lookout::cluster::discover(&t.client)
        .await
        .expect("discovery");
    ActionContext::new(t.client.clone(), SystemClock::shared(), config, served)
}

/// The shipped catalogue with a metrics registry the test can read.
pub fn registry() -> (Registry, prometheus_client::registry::Registry) {
    let mut metrics = prometheus_client::registry::Registry::default();
    let registry = Registry::standard(&mut metrics);
    (registry, metrics)
}

/// The value of `lookout_actions_total{action, result}`.
pub fn count(metrics: &prometheus_client::registry::Registry, action: &str, result: &str) -> u64 {
    let text = lookout::metrics::encode(metrics);
    let needle = format!("lookout_actions_total{{action=\"{action}\",result=\"{result}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&needle))
        .map(|v| v.trim().parse().expect("counter value"))
        .unwrap_or(0)
}

/// The guard that refused, and its reason; panics on anything else.
pub fn refusal<T: std::fmt::Debug>(r: Result<T, ActionError>) -> (&'static str, String) {
    match r {
        Err(ActionError::Refused { guard, reason }) => (guard, reason),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Waits until the Deployment's rollout is complete with all pods ready and never restarted.
pub async fn wait_healthy(t: &SimTest, name: &str, replicas: i32) {
    t.wait_for(
        &format!("{name} healthy with {replicas} replicas"),
        || async {
            let d = t.api::<Deployment>().get(name).await.ok()?;
            let s = d.status?;
            let pods = t.pods(name).await;
            let live: Vec<_> = pods
                .iter()
                .filter(|p| p.metadata.deletion_timestamp.is_none())
                .collect();
            let ok = live.len() == replicas as usize
                && live
                    .iter()
                    .all(|p| is_ready(p) && status(p).is_some_and(|s| s.restart_count == 0));
            (s.available_replicas == Some(replicas) && s.updated_replicas == Some(replicas) && ok)
                .then_some(())
        },
    )
    .await;
}

/// The Deployment as JSON.
pub async fn deployment_json(t: &SimTest, name: &str) -> Value {
    serde_json::to_value(
        t.api::<Deployment>()
            .get(name)
            .await
            .expect("get deployment"),
    )
    .expect("json")
}

/// `spec.template.spec.containers[0].resources.limits.memory` of a Deployment.
pub async fn memory_limit(t: &SimTest, name: &str) -> Option<String> {
    deployment_json(t, name)
        .await
        .pointer("/spec/template/spec/containers/0/resources/limits/memory")
        .and_then(Value::as_str)
        .map(str::to_string)
}
