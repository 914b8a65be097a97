//! PURE: what actions ask of pods — ready, restarting, going away, which is the sickest.

use std::cmp::Reverse;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

use super::guards::PodFacts;

pub fn name(pod: &Pod) -> &str {
    pod.metadata.name.as_deref().unwrap_or("")
}

pub fn uid(pod: &Pod) -> &str {
    pod.metadata.uid.as_deref().unwrap_or("")
}

/// The Ready condition is True.
pub fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Being deleted already.
pub fn is_terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

/// Restarts of all its containers.
pub fn restarts(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map(|cs| cs.iter().map(|c| c.restart_count).sum())
        .unwrap_or(0)
}

/// The reason a container is waiting or last terminated (`CrashLoopBackOff`, `OOMKilled`), for
/// summaries.
pub fn trouble(pod: &Pod) -> Option<String> {
    let statuses = pod.status.as_ref()?.container_statuses.as_ref()?;
    statuses.iter().find_map(|c| {
        let waiting = c
            .state
            .as_ref()
            .and_then(|s| s.waiting.as_ref())
            .and_then(|w| w.reason.clone());
        let last = c
            .last_state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .and_then(|t| t.reason.clone());
        match (waiting, last) {
            (Some(w), Some(l)) if w != l => Some(format!("{w}, last {l}")),
            (Some(w), _) => Some(w),
            (None, l) => l,
        }
    })
}

/// The controlling owner reference.
pub fn controller(owners: Option<&Vec<OwnerReference>>) -> Option<&OwnerReference> {
    owners?.iter().find(|o| o.controller == Some(true))
}

/// What the last-pod guard needs of each pod.
pub fn facts(pods: &[Pod]) -> Vec<PodFacts> {
    pods.iter()
        .map(|p| PodFacts {
            name: name(p).to_string(),
            ready: is_ready(p),
            terminating: is_terminating(p),
        })
        .collect()
}

/// The pod most worth deleting: not terminating; unready before ready; then most restarts; then
/// oldest; then by name, so the choice is deterministic.
pub fn sickest(pods: &[Pod]) -> Option<&Pod> {
    pods.iter().filter(|p| !is_terminating(p)).min_by_key(|p| {
        (
            is_ready(p),
            Reverse(restarts(p)),
            p.metadata.creation_timestamp.as_ref().map(|t| t.0),
            name(p).to_string(),
        )
    })
}

/// A one-line description: `cart-1 (not ready, 4 restarts, CrashLoopBackOff, last OOMKilled)`.
pub fn describe(pod: &Pod) -> String {
    let mut parts = vec![if is_ready(pod) { "ready" } else { "not ready" }.to_string()];
    let r = restarts(pod);
    if r > 0 {
        parts.push(format!("{r} restart{}", if r == 1 { "" } else { "s" }));
    }
    parts.extend(trouble(pod));
    format!("{} ({})", name(pod), parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, ready: bool, restarts: i32, created: &str) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name, "creationTimestamp": created},
            "status": {
                "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
                "containerStatuses": [{
                    "name": "app", "image": "x", "imageID": "", "ready": ready, "restartCount": restarts,
                    "state": if ready { json!({"running": {}}) } else { json!({"waiting": {"reason": "CrashLoopBackOff"}}) },
                    "lastState": if restarts > 0 { json!({"terminated": {"exitCode": 137, "reason": "OOMKilled"}}) } else { json!({}) },
                }],
            },
        }))
        .unwrap()
    }

    #[test]
    fn the_sickest_pod_is_unready_then_most_restarted_then_oldest() {
        let pods = vec![
            pod("a", true, 9, "2024-01-01T00:00:00Z"),
            pod("b", false, 2, "2024-01-01T00:00:00Z"),
            pod("c", false, 5, "2024-01-02T00:00:00Z"),
            pod("d", false, 5, "2024-01-01T00:00:00Z"),
        ];
        assert_eq!(sickest(&pods).map(name), Some("d"));
        assert_eq!(sickest(&pods[..1]).map(name), Some("a"));
        assert!(sickest(&[]).is_none());
    }

    #[test]
    fn descriptions_say_what_is_wrong() {
        let p = pod("cart-1", false, 4, "2024-01-01T00:00:00Z");
        assert_eq!(
            describe(&p),
            "cart-1 (not ready, 4 restarts, CrashLoopBackOff, last OOMKilled)"
        );
        assert_eq!(
            describe(&pod("ok", true, 0, "2024-01-01T00:00:00Z")),
            "ok (ready)"
        );
    }
}
