//! Evicting one pod through the `pods/eviction` subresource, in the Eviction version this
//! cluster serves (policy/v1 from Kubernetes 1.22, policy/v1beta1 before), with the pod's uid as
//! precondition so a StatefulSet's same-named replacement is never evicted by mistake. Pods are
//! never deleted directly.
//!
//! The API server refuses with 429 when a PodDisruptionBudget would be violated: an answer, not
//! an error. kube's default client retries 429s itself, with back-off, for minutes; so a budget
//! that allows no disruption now is read from its status and answered here without asking, and
//! each eviction call is bounded in time (a 429 that races the budget's status ends as
//! "refused for now" too). A client without that retry layer sees the server's own words.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};
use tracing::{debug, info};

use super::pods_on_node::OnNode;
use crate::actions::context::ActionContext;
use crate::actions::error::{ActionError, Result, status_code};
use crate::actions::{pods, workload};

/// How long one eviction call may take, retries of the client included.
const CALL_LIMIT: Duration = Duration::from_secs(5);

/// What became of one eviction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evicted {
    /// Accepted: the pod is being deleted (or, dry-run, would be).
    Done,
    /// The planned pod no longer exists (a same-named pod is another one).
    Gone,
    /// Refused for now, with why (a disruption budget); worth trying again later.
    Blocked(String),
}

/// The Eviction apiVersion the cluster serves for `pods/eviction`.
pub async fn api_version(ctx: &ActionContext) -> Result<String> {
    let core = ctx
        .client
        .list_core_api_resources("v1")
        .await
        .map_err(|e| ActionError::kube("discover", "the core API", e))?;
    let eviction = core
        .resources
        .iter()
        .find(|r| r.name == "pods/eviction")
        .ok_or_else(|| ActionError::NotServed {
            what: "pod eviction (pods/eviction)".into(),
        })?;
    let group = eviction.group.as_deref().unwrap_or("policy");
    let version = eviction.version.as_deref().unwrap_or("v1");
    Ok(format!("{group}/{version}"))
}

/// Asks the API server to evict `pod` (only the pod with its uid), unless a budget already
/// says no.
pub async fn evict(
    ctx: &ActionContext,
    api_version: &str,
    pod: &OnNode,
    dry_run: bool,
) -> Result<Evicted> {
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &pod.namespace);
    let live = api
        .get_opt(&pod.name)
        .await
        .map_err(|e| ActionError::kube("get", format!("Pod {}", pod.key()), e))?;
    let Some(live) = live.filter(|p| pods::uid(p) == pod.uid) else {
        return Ok(Evicted::Gone);
    };
    if let Some(why) = budget_says_no(ctx, &live).await? {
        debug!(pod = %pod.key(), %why, "eviction refused for now");
        return Ok(Evicted::Blocked(why));
    }
    tokio::select! {
        done = call(&api, api_version, pod, dry_run) => done,
        _ = ctx.clock.sleep(CALL_LIMIT) => Ok(Evicted::Blocked(format!(
            "the API server kept refusing the eviction (429 Too Many Requests) for {}s",
            CALL_LIMIT.as_secs()
        ))),
    }
}

/// The reason a budget covering the pod allows no disruption now; an unready pod is not
/// counted healthy, so evicting it spends nothing.
async fn budget_says_no(ctx: &ActionContext, pod: &Pod) -> Result<Option<String>> {
    if !pods::is_ready(pod) {
        return Ok(None);
    }
    let budgets = workload::budgets_covering(ctx, pod).await?;
    Ok(budgets.iter().find(|b| b.disruptions_allowed < 1).map(|b| {
        format!(
            "PodDisruptionBudget {} allows no disruption now ({} healthy, {} required)",
            b.name, b.current_healthy, b.desired_healthy
        )
    }))
}

async fn call(api: &Api<Pod>, api_version: &str, pod: &OnNode, dry_run: bool) -> Result<Evicted> {
    let body = json!({
        "apiVersion": api_version,
        "kind": "Eviction",
        "metadata": {"name": pod.name, "namespace": pod.namespace},
        "deleteOptions": {"preconditions": {"uid": pod.uid}},
    });
    let pp = PostParams {
        dry_run,
        field_manager: None,
    };
    match api
        .create_subresource::<_, Value>("eviction", &pod.name, &pp, &body)
        .await
    {
        Ok(_) => {
            if !dry_run {
                info!(pod = %pod.key(), "evicted");
            }
            Ok(Evicted::Done)
        }
        Err(e) => match status_code(&e) {
            // 409: the uid precondition failed, the pod under this name is a new one.
            Some(404 | 409) => Ok(Evicted::Gone),
            Some(429) => {
                let reason = refusal(&e);
                debug!(pod = %pod.key(), %reason, "eviction refused for now");
                Ok(Evicted::Blocked(reason))
            }
            // A pod covered by several budgets cannot be evicted at all (500); report it.
            Some(500) if refusal(&e).contains("DisruptionBudget") => {
                Ok(Evicted::Blocked(refusal(&e)))
            }
            _ => Err(ActionError::kube(
                if dry_run { "dry-run evict" } else { "evict" },
                format!("Pod {}", pod.key()),
                e,
            )),
        },
    }
}

/// The server's message and its causes (`Cannot evict pod as it would violate the pod's
/// disruption budget. (The disruption budget pay needs 2 healthy pods and has 2 currently)`).
fn refusal(e: &kube::Error) -> String {
    let kube::Error::Api(status) = e else {
        return e.to_string();
    };
    let causes: Vec<&str> = status
        .details
        .iter()
        .flat_map(|d| d.causes.iter())
        .map(|c| c.message.as_str())
        .filter(|m| !m.is_empty())
        .collect();
    if causes.is_empty() {
        status.message.clone()
    } else {
        format!("{} ({})", status.message, causes.join("; "))
    }
}
