//! PURE: a Deployment's rollout history from its ReplicaSets: revision, images, resources,
//! replicas, creation time, change cause.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};

use super::model::{RevisionFacts, RolloutFacts, resources_line};
use super::pods::{resources, time};
use crate::model::MetaExt;

/// The annotation the Deployment controller numbers ReplicaSets with.
pub const REVISION: &str = "deployment.kubernetes.io/revision";
const CHANGE_CAUSE: &str = "kubernetes.io/change-cause";

/// The ReplicaSets `deployment` controls (by owner uid), newest revision first, at most
/// `max` of them.
pub fn rollout_facts(
    deployment: &Deployment,
    replicasets: &[ReplicaSet],
    max: usize,
) -> RolloutFacts {
    let uid = deployment.uid();
    let mut revisions: Vec<RevisionFacts> = replicasets
        .iter()
        .filter(|rs| {
            rs.controller()
                .is_some_and(|o| o.kind == "Deployment" && Some(o.uid.as_str()) == uid)
        })
        .map(revision_facts)
        .collect();
    revisions.sort_by(|a, b| {
        b.revision
            .cmp(&a.revision)
            .then_with(|| a.replicaset.cmp(&b.replicaset))
    });
    let total = revisions.len();
    revisions.truncate(max);
    RolloutFacts {
        deployment: format!("{}/{}", deployment.namespace(), deployment.name()),
        revisions,
        total,
    }
}

fn revision_facts(rs: &ReplicaSet) -> RevisionFacts {
    let template = rs.spec.template.as_ref();
    let containers = template
        .and_then(|t| t.spec.as_ref())
        .map(|s| s.containers.clone())
        .unwrap_or_default();
    let status = rs.status.clone().unwrap_or_default();
    RevisionFacts {
        revision: rs
            .annotation(REVISION)
            .and_then(|r| r.parse().ok())
            .unwrap_or(0),
        replicaset: rs.name().to_string(),
        created: time(rs.metadata.creation_timestamp.as_ref()),
        replicas: status.replicas,
        ready: status.ready_replicas.unwrap_or(0),
        images: containers
            .iter()
            .map(|c| (c.name.clone(), c.image.clone().unwrap_or_default()))
            .collect(),
        resources: containers
            .iter()
            .map(|c| {
                let (requests, limits) = resources(c.resources.as_ref());
                (c.name.clone(), resources_line(&requests, &limits))
            })
            .collect(),
        change_cause: rs.annotation(CHANGE_CAUSE).map(str::to_string),
    }
}
