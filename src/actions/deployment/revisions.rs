//! PURE: a Deployment's rollout history as its ReplicaSets record it, and which revision a
//! rollback goes to. The history is what `kubectl rollout history` shows: every ReplicaSet the
//! Deployment controls, numbered by `deployment.kubernetes.io/revision`.

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::actions::error::{ActionError, Result};
use crate::actions::guards;

pub const REVISION: &str = "deployment.kubernetes.io/revision";

/// Which earlier revision to go back to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RollbackTo {
    /// The revision before the current one (`kubectl rollout undo`).
    #[default]
    Previous,
    /// The newest earlier revision whose pods are available now, skipping broken ones.
    LastHealthy,
}

/// One revision of a Deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct Revision {
    pub number: i64,
    pub replica_set: String,
    /// The pod template, without the `pod-template-hash` label the controller adds.
    pub template: PodTemplateSpec,
    pub replicas: i32,
    pub ready: i32,
    pub available: i32,
}

impl Revision {
    /// Its pods are available now, all of them ready: this template is known to work.
    pub fn healthy(&self) -> bool {
        self.available > 0 && self.ready == self.replicas
    }
}

/// The revisions recorded by the ReplicaSets the Deployment (uid) controls, oldest first.
pub fn history(deployment_uid: &str, replica_sets: &[ReplicaSet]) -> Vec<Revision> {
    let mut out: Vec<Revision> = replica_sets
        .iter()
        .filter(|rs| {
            rs.metadata.owner_references.iter().flatten().any(|o| {
                o.controller == Some(true) && o.kind == "Deployment" && o.uid == deployment_uid
            })
        })
        .filter_map(|rs| {
            let number = rs
                .metadata
                .annotations
                .as_ref()?
                .get(REVISION)?
                .parse()
                .ok()?;
            let mut template = rs.spec.template.clone()?;
            if let Some(labels) = template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
                labels.remove("pod-template-hash");
            }
            let status = rs.status.as_ref();
            Some(Revision {
                number,
                replica_set: rs.metadata.name.clone().unwrap_or_default(),
                template,
                replicas: status.map(|s| s.replicas).unwrap_or(0),
                ready: status.and_then(|s| s.ready_replicas).unwrap_or(0),
                available: status.and_then(|s| s.available_replicas).unwrap_or(0),
            })
        })
        .collect();
    out.sort_by_key(|r| r.number);
    out
}

/// The revision to roll back to from `current`: an explicit number, the previous one, or the
/// newest earlier healthy one.
pub fn pick(
    history: &[Revision],
    current: i64,
    to: RollbackTo,
    explicit: Option<i64>,
) -> Result<&Revision> {
    let known = || {
        history
            .iter()
            .map(|r| r.number.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(n) = explicit {
        if n == current {
            return Err(ActionError::refused(
                guards::NO_CHANGE,
                format!("revision {n} is the current one"),
            ));
        }
        return history.iter().find(|r| r.number == n).ok_or_else(|| {
            ActionError::refused(
                guards::TARGET,
                format!("revision {n} is not in the history (known: {})", known()),
            )
        });
    }
    let earlier = history.iter().rev().filter(|r| r.number < current);
    let found = match to {
        RollbackTo::Previous => earlier.into_iter().next(),
        RollbackTo::LastHealthy => earlier.into_iter().find(|r| r.healthy()),
    };
    found.ok_or_else(|| {
        ActionError::refused(
            guards::TARGET,
            match to {
                RollbackTo::Previous => format!(
                    "there is no revision before {current} to roll back to (known: {})",
                    known()
                ),
                RollbackTo::LastHealthy => format!(
                    "no revision before {current} has available pods (known: {}); name a revision",
                    known()
                ),
            },
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rs(owner: &str, revision: i64, image: &str, replicas: i32, ready: i32) -> ReplicaSet {
        serde_json::from_value(json!({
            "metadata": {
                "name": format!("web-{revision}"),
                "annotations": {REVISION: revision.to_string()},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                     "uid": owner, "controller": true}],
            },
            "spec": {
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web", "pod-template-hash": "h"}},
                             "spec": {"containers": [{"name": "app", "image": image}]}},
            },
            "status": {"replicas": replicas, "readyReplicas": ready, "availableReplicas": ready},
        }))
        .unwrap()
    }

    fn history_of_a_bad_rollout() -> Vec<Revision> {
        history(
            "u1",
            &[
                rs("u1", 3, "web:3-broken", 1, 0),
                rs("u1", 1, "web:1", 2, 2),
                rs("u1", 2, "web:2-broken", 0, 0),
                rs("someone-else", 9, "x", 1, 1),
            ],
        )
    }

    #[test]
    fn history_is_the_deployments_own_sets_oldest_first_without_the_hash() {
        let h = history_of_a_bad_rollout();
        assert_eq!(h.iter().map(|r| r.number).collect::<Vec<_>>(), [1, 2, 3]);
        let labels = h[0]
            .template
            .metadata
            .as_ref()
            .unwrap()
            .labels
            .as_ref()
            .unwrap();
        assert!(!labels.contains_key("pod-template-hash"));
    }

    #[test]
    fn previous_last_healthy_and_explicit() {
        let h = history_of_a_bad_rollout();
        assert_eq!(pick(&h, 3, RollbackTo::Previous, None).unwrap().number, 2);
        assert_eq!(
            pick(&h, 3, RollbackTo::LastHealthy, None).unwrap().number,
            1
        );
        assert_eq!(
            pick(&h, 3, RollbackTo::Previous, Some(1)).unwrap().number,
            1
        );
        let err = pick(&h, 3, RollbackTo::Previous, Some(7))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("revision 7 is not in the history (known: 1, 2, 3)"),
            "{err}"
        );
        assert_eq!(
            pick(&h, 3, RollbackTo::Previous, Some(3))
                .unwrap_err()
                .guard(),
            Some(guards::NO_CHANGE)
        );
        let err = pick(&h, 1, RollbackTo::Previous, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no revision before 1"), "{err}");
        let err = pick(&h[1..], 3, RollbackTo::LastHealthy, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no revision before 3 has available pods"),
            "{err}"
        );
    }
}
