//! "Drained" observed through watches: the pods on the node and the pods of the namespaces the
//! evicted pods came from. Evictions the API server refused (a disruption budget) are retried
//! with back-off meanwhile, until the verify deadline ends the watch; a timeout reports every
//! pod still on the node and why.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::watcher;

use super::drain::DrainRun;
use super::evict::{self, Evicted};
use super::pods_on_node::{self, Disposition, OnNode};
use crate::actions::context::ActionContext;
use crate::actions::error::Result;
use crate::actions::plan::Verification;
use crate::actions::pods;
use crate::actions::verify::{self, Look};
use crate::actions::watch_object::watch_one;

/// First wait before an eviction refused by a budget is tried again; doubles up to the cap.
const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_CAP: Duration = Duration::from_secs(8);

type Blocked = Arc<Mutex<BTreeMap<String, String>>>;

/// Watches until the node holds no evictable pod and every evicted pod's replacement is Ready
/// elsewhere, retrying refused evictions meanwhile.
pub async fn verify_drain(ctx: &ActionContext, run: DrainRun) -> Result<Verification> {
    let (on_node, node_changes) = verify::watch(
        Api::<Pod>::all(ctx.client.clone()),
        watcher::Config::default().fields(&format!("spec.nodeName={}", run.node)),
    );
    let (node, node_object_changes) = watch_one(ctx, &super::target(&run.node))?;
    let mut streams = vec![node_changes, node_object_changes];
    let mut stores = Vec::new();
    let namespaces: BTreeSet<&str> = run.evicting.iter().map(|p| p.namespace.as_str()).collect();
    for ns in namespaces {
        let (store, changes) = verify::watch(
            Api::<Pod>::namespaced(ctx.client.clone(), ns),
            watcher::Config::default(),
        );
        streams.push(changes);
        stores.push(store);
    }
    let blocked: Blocked = Arc::new(Mutex::new(run.blocked.clone()));
    streams.push(retries(ctx.clone(), run.clone(), blocked.clone()));
    let protected = ctx.config.protected_namespaces.clone();
    let before: BTreeSet<String> = run.before.iter().cloned().collect();
    verify::until_healthy(ctx, verify::merged(streams), move || {
        let elsewhere: Vec<Pod> = stores.iter().flat_map(verify::items).collect();
        let blocked = blocked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let kubelet_up = node.get().as_ref().is_some_and(ready);
        drain_look(
            &run.node,
            kubelet_up,
            &verify::items(&on_node),
            &elsewhere,
            &run.evicting,
            &before,
            &blocked,
            &protected,
        )
    })
    .await
}

/// A stream that, while evictions are refused, waits (doubling up to a cap) and tries them
/// again, recording the latest refusal; it yields after each round so the state is looked at.
fn retries(ctx: ActionContext, run: DrainRun, blocked: Blocked) -> BoxStream<'static, ()> {
    futures::stream::unfold(RETRY_FIRST, move |delay| {
        let (ctx, run, blocked) = (ctx.clone(), run.clone(), blocked.clone());
        async move {
            let pending: Vec<String> = blocked
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .keys()
                .cloned()
                .collect();
            if pending.is_empty() {
                return futures::future::pending().await;
            }
            ctx.clock.sleep(delay).await;
            for key in pending {
                let Some(pod) = run.evicting.iter().find(|p| p.key() == key) else {
                    continue;
                };
                let outcome = match evict::evict(&ctx, &run.eviction, pod, false).await {
                    Ok(Evicted::Done | Evicted::Gone) => None,
                    Ok(Evicted::Blocked(why)) => Some(why),
                    Err(e) => Some(e.to_string()),
                };
                let mut b = blocked.lock().unwrap_or_else(PoisonError::into_inner);
                match outcome {
                    None => b.remove(&key),
                    Some(why) => b.insert(key, why),
                };
            }
            Some(((), (delay * 2).min(RETRY_CAP)))
        }
    })
    .boxed()
}

/// The node's Ready condition is True (its kubelet reports).
fn ready(node: &serde_json::Value) -> bool {
    node.pointer("/status/conditions")
        .and_then(serde_json::Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

/// PURE: no evictable pod is left on the node, and each evicted pod's controller has as many
/// new Ready (or succeeded) pods elsewhere as it lost. On a node whose kubelet is down a pod
/// stays Terminating until the node returns or is removed (nothing confirms its containers
/// stopped): such pods do not hold the drain up, their replacements are what counts.
#[allow(clippy::too_many_arguments)]
pub fn drain_look(
    node: &str,
    kubelet_up: bool,
    on_node: &[Pod],
    elsewhere: &[Pod],
    evicting: &[OnNode],
    before: &BTreeSet<String>,
    blocked: &BTreeMap<String, String>,
    protected: &[String],
) -> Look {
    let left: Vec<String> = on_node
        .iter()
        .map(|p| pods_on_node::classify(p, protected))
        .filter(|p| match p.disposition {
            Disposition::Evict | Disposition::Unmanaged => true,
            Disposition::Terminating => kubelet_up,
            _ => false,
        })
        .map(|p| match (blocked.get(&p.key()), p.disposition) {
            (Some(why), _) => format!("could not evict {}: {why}", p.key()),
            (None, Disposition::Terminating) => format!("{} is terminating", p.key()),
            (None, _) => format!("{} is still there", p.key()),
        })
        .collect();
    if !left.is_empty() {
        return Look::Waiting(format!(
            "{} pod{} left on Node {node}: {}",
            left.len(),
            if left.len() == 1 { "" } else { "s" },
            left.join("; ")
        ));
    }
    let mut lost: BTreeMap<&str, (usize, &OnNode)> = BTreeMap::new();
    for p in evicting {
        if let Some(o) = &p.owner {
            lost.entry(o.uid.as_str()).or_insert((0, p)).0 += 1;
        }
    }
    let mut waiting = Vec::new();
    for (owner_uid, (count, example)) in &lost {
        let replaced = elsewhere
            .iter()
            .filter(|p| !before.contains(pods::uid(p)) && !pods::is_terminating(p))
            .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) != Some(node))
            .filter(|p| {
                pods::controller(p.metadata.owner_references.as_ref())
                    .is_some_and(|o| o.uid == *owner_uid)
            })
            .filter(|p| {
                pods::is_ready(p)
                    || p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Succeeded")
            })
            .count();
        if replaced < *count {
            let owner = example
                .owner
                .as_ref()
                .map(|o| format!("{} {}/{}", o.kind, example.namespace, o.name))
                .unwrap_or_default();
            waiting.push(format!("{owner}: {replaced}/{count} replacements ready"));
        }
    }
    if !waiting.is_empty() {
        return Look::Waiting(format!(
            "Node {node} is empty; waiting for {}",
            waiting.join(", ")
        ));
    }
    Look::Healthy(format!(
        "Node {node} drained: {} pod{} evicted, replacements ready elsewhere",
        evicting.len(),
        if evicting.len() == 1 { "" } else { "s" }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, uid: &str, node: &str, ready: bool) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "shop", "uid": uid,
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "rs", "controller": true}]},
            "spec": {"nodeName": node, "containers": []},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]},
        }))
        .unwrap()
    }

    #[test]
    fn drained_means_empty_node_and_ready_replacements() {
        let old = pod("web-a", "a", "n1", true);
        let evicting = vec![pods_on_node::classify(&old, &[])];
        let before: BTreeSet<String> = ["a".to_string()].into();
        let blocked: BTreeMap<String, String> =
            [("shop/web-a".to_string(), "budget says no".to_string())].into();
        assert_eq!(
            drain_look(
                "n1",
                true,
                std::slice::from_ref(&old),
                std::slice::from_ref(&old),
                &evicting,
                &before,
                &blocked,
                &[]
            ),
            Look::Waiting(
                "1 pod left on Node n1: could not evict shop/web-a: budget says no".into()
            )
        );
        let pending = pod("web-b", "b", "n2", false);
        assert_eq!(
            drain_look(
                "n1",
                true,
                &[],
                &[pending],
                &evicting,
                &before,
                &BTreeMap::new(),
                &[]
            ),
            Look::Waiting(
                "Node n1 is empty; waiting for ReplicaSet shop/web-1: 0/1 replacements ready"
                    .into()
            )
        );
        let ready = pod("web-b", "b", "n2", true);
        let mut stuck = old.clone();
        stuck.metadata.deletion_timestamp = ready.metadata.creation_timestamp.clone().or(Some(
            k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
            ),
        ));
        assert!(matches!(
            drain_look("n1", true, std::slice::from_ref(&stuck), std::slice::from_ref(&ready), &evicting, &before, &BTreeMap::new(), &[]),
            Look::Waiting(w) if w.contains("shop/web-a is terminating")
        ));
        assert!(matches!(
            drain_look(
                "n1",
                false,
                std::slice::from_ref(&stuck),
                std::slice::from_ref(&ready),
                &evicting,
                &before,
                &BTreeMap::new(),
                &[]
            ),
            Look::Healthy(_)
        ));
        assert_eq!(
            drain_look(
                "n1",
                true,
                &[],
                &[ready],
                &evicting,
                &before,
                &BTreeMap::new(),
                &[]
            ),
            Look::Healthy("Node n1 drained: 1 pod evicted, replacements ready elsewhere".into())
        );
    }
}
